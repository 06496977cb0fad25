// Package segdl downloads one file: it probes, splits the file into byte
// ranges fetched over several connections, writes them at their offsets,
// keeps resume state, verifies, and publishes atomically. It knows nothing
// of other files; a scheduler decides how many connections each file gets
// by calling Download.Claim and running the returned Task.
//
// # The download of one file
//
//	probe:   GET Range: bytes=0-  (one request: size, range support, validator)
//	         the probe keeps streaming as the first segment
//	claim:   a queued range, else split the largest range in half
//	         (never below MinSegment); its fetcher stops at the new end
//	write:   WriteAt into PATH.bulkdl.part; one buffer per connection
//	commit:  record progress; hash inline while bytes arrive in order;
//	         every SyncBytes or SyncInterval: fsync data, then the journal
//	finish:  size check, hash the rest from disk, compare the checksum,
//	         fsync, rename PATH.bulkdl.part -> PATH, fsync the directory
//
// A request that fails is retried from its last written byte, with full
// jitter exponential backoff or the server's Retry-After. A retry that must
// wait ParkAfter (1s) or more parks instead of sleeping: its task returns,
// freeing the connection, and Claim offers the range again once the wait is
// over (the notify function given to New wakes the scheduler).
//
// A file smaller than two MinSegments is finished by its probe. A server
// that ignores Range, sends no length, sends a Content-Encoding, or offers
// no strong ETag and no Last-Modified gets one stream.
//
// # Guarantees
//
//   - Nothing but a complete file whose size (and checksum, if given)
//     matched appears at PATH; an older file there stays untouched until
//     the rename replaces it. Temporary files are created 0600 and the
//     published file gets 0644 less the umask.
//   - Every ranged request carries If-Range with the strong ETag, else
//     Last-Modified (never a weak ETag). A 200 body is only ever written
//     from offset 0. Every 206 is checked: Content-Range must start where
//     asked, end within what was asked, have the known total, and agree
//     with Content-Length; a body longer than its range never spills into
//     the next one. A file that changed on the server (new validator, new
//     size, a 416 to a range it had) restarts from zero once no request of
//     the file runs, so two versions are never spliced; after MaxChanges
//     changes it fails with ErrChanged.
//   - A checksum mismatch deletes the bytes and downloads once more from
//     scratch before failing with ErrChecksum.
//   - Redirects are followed here, not by net/http: at most 10, loops
//     detected, https never to http, only http(s) targets, and the headers
//     of each hop are computed afresh by one function (headersFor):
//     Authorization, Cookie and Proxy-Authorization and a file's own
//     headers go only to the origins its URLs list; a host's headers only
//     to that host. Ranges go straight to the resolved URL.
//   - No file name ever comes from the server. Writes go through an
//     os.Root on the destination, so no path or planted symlink leads
//     outside it.
//
// # Resume, and what a kill leaves behind
//
// Beside PATH.bulkdl.part, PATH.bulkdl.json records the URL, size,
// validator and the byte ranges on disk. It is rewritten (write, fsync,
// rename) only after the data it describes was fsynced, so after SIGKILL
// or power loss it never claims bytes that are not on disk; at most
// SyncBytes per file (default 8 MiB) plus what was in flight is fetched
// again. The temporary file may hold more than the journal claims, and
// holes: they are fetched again, never trusted.
//
// A later download of the same URL resumes when the journal matches the
// URL, the expected size and the temporary file's size, and the server
// confirms the validator through If-Range; otherwise it starts over. A
// corrupt or foreign journal is ignored, never a crash. A failed download
// keeps both files for a later run, unless nothing was written.
//
// Not guaranteed: a server that serves different bytes under the same
// strong validator is trusted (a checksum in the manifest catches it).
package segdl

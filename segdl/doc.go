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
//	claim:   a queued range, else split the range that would end last,
//	         in proportion to the two connections' speeds (the new range
//	         at least MinSegment, the part kept at least 64 KiB); its
//	         fetcher stops at the new end. With mirrors of the same size
//	         and validator, new ranges go to the source with room. A file
//	         of 64 MiB or more with a hash, and more than one connection or
//	         URL, is handed out in pieces, in file order, until the last is
//	         taken; then its tail is split as above. A piece is 2 x
//	         MinSegment, or longer where its request's time to the first
//	         byte would cost more than the shorter hash at the end saves;
//	         none where the requests cost more than all of it (ranges.go)
//	write:   WriteAt into PATH.bulkdl.part (on Linux, a file without a
//	         name, O_TMPFILE, until it needs one); one buffer per connection
//	commit:  record progress; every SyncBytes or SyncInterval: fsync data,
//	         then the journal
//	hash:    with a checksum, read back and hash the complete prefix
//	         of the file as it grows, in one goroutine, while the rest
//	         downloads (hash.go)
//	finish:  size check, read back and hash the rest of the file,
//	         compare the checksum
//	publish: make the data durable, rename PATH.bulkdl.part -> PATH (or
//	         link the file without a name to PATH), fsync the directory,
//	         then Done; with a Publisher, for a batch of files at once (on
//	         Linux 5.8 or later one syncfs per file system for 8 files or
//	         more, through the file opened first, so that it reports any
//	         failed write-back of the batch; else an fsync per file, issued
//	         together; one fsync per directory)
//
// A request that fails is retried from its last written byte, with full
// jitter exponential backoff or the server's Retry-After (a value too
// large to parse means MaxRetryAfter). A retry that must wait ParkAfter
// (1s) or more parks instead of sleeping: its task returns, freeing the
// connection, and Claim offers the range again once the wait is over (the
// notify function given to New wakes the scheduler). A request that made
// 1 MiB (or MinSegment) of progress starts its count again; a 206 that
// delivered all it announced but less than asked is not a failure, and
// the rest is asked for at once. Running out of file descriptors
// (EMFILE, ENFILE) parks the file until others close theirs, a bounded
// number of times; it is not a failed attempt.
//
// A file smaller than MinSegment plus 64 KiB is finished by its probe. A server
// that ignores Range, sends no length, sends a Content-Encoding, or offers
// no strong ETag and no Last-Modified gets one stream. A 206 with an
// unknown total ("bytes a-b/*") is checked against the size known from
// the probe or the Spec, else the file is fetched as one plain stream.
//
// # Guarantees
//
//   - Nothing but a complete file whose size (and checksum, if given)
//     matched appears at PATH; an older file there stays untouched until
//     the rename replaces it. The checksum is of the bytes on disk, not
//     of the bytes as they arrived: each byte is read back from the
//     temporary file after the last write segdl makes to it (the complete
//     prefix while the rest downloads, the rest at the end), so a write
//     that did not land as sent, or a byte another writer changed before
//     it was read back, fails the checksum.
//     The temporary file is created with the published file's mode, 0644
//     less the umask (one resumed from an older run is given it before the
//     rename); the journal is 0600. On Windows, which has no mode bits,
//     both get what the directory's ACL passes on.
//   - A file's data is durable before its rename, and its rename is durable
//     (its directory fsynced) before Done closes or Publisher.Published
//     hears of it: a crash or power loss can lose a rename, never leave a
//     partial file at PATH. With a Publisher the file waits (holding no
//     connection) up to PublisherConfig.Wait to share one flush with others.
//     A directory fsync that fails does not fail its files: they are
//     complete and verified at their paths, so done, but a power loss could
//     undo their names, so they are not given to Published (the state's
//     claim of durability; the next run checks them again) but to
//     PublisherConfig.Undurable, which bulkdl turns into a warning.
//   - Bytes are continued by a later request only under a validator that
//     can vouch for them: every ranged request carries If-Range with the
//     strong ETag, else Last-Modified (never a weak ETag), and every
//     response must carry the ETag (weak or strong, as first sent) and
//     Last-Modified the bytes on disk came with; one that changes either,
//     or drops the ETag, is a new version (a dropped Last-Modified is
//     accepted only where a strong ETag vouches for the bytes). Without a strong ETag or a
//     Last-Modified, a broken stream is never continued on trust: the
//     file starts over from byte 0, unless the Spec's checksum will prove
//     the result (then a mismatch costs one clean refetch).
//   - A 200 body is only ever written from offset 0. Every 206 is
//     checked: no Content-Encoding, Content-Range must start where asked,
//     end within what was asked, have the known total, and agree with
//     Content-Length; a body longer than its range never spills into the
//     next one, also when a split moved the range's end during a read. A
//     file that changed on the server (new validator, new size, a 416 to
//     a range it had) restarts from zero once no request of the file runs,
//     so two versions are never spliced; after MaxChanges changes it fails
//     with ErrChanged.
//   - Restarts that lose bytes (a broken stream that cannot be continued,
//     a 200 to a range, an encoded range) are attempts: after Retries of
//     them the file fails. No server makes a download loop forever.
//   - A checksum mismatch deletes the bytes and downloads once more from
//     scratch before failing with ErrChecksum.
//   - Redirects are followed here, not by net/http: at most 10, loops
//     detected, https never to http, only http(s) targets, an unparsable
//     Location fails at once (ErrRedirect), and the headers of each hop
//     are computed for its URL by one function (headersFor; once per
//     download for the URLs a Spec lists, whose requests copy them): the
//     credential headers (those CredentialHeader names: Authorization, Cookie,
//     Proxy-Authorization, PRIVATE-TOKEN, X-API-Key and any name with
//     auth, token, secret, key…), Config.Credentials (values from ${VAR}),
//     Config.Authorization (netrc) and a file's own headers go only to
//     the origins its URLs list; a host's headers only to that host.
//     Ranges go straight to the resolved URL.
//   - No file name ever comes from the server. Writes go through an
//     os.Root on the destination, so no path or planted symlink leads
//     outside it; the temporary file and the journal are opened only if
//     they are regular files (a planted FIFO is refused, not waited on).
//     A name too long to take a suffix within 255 bytes gets temporary
//     names shortened with a hash (state.TempStem).
//   - The outcome is told by sentinels and types (ErrInterrupted,
//     ErrChanged, ErrChecksum, ErrSize, ErrRedirect, StatusError), never
//     by the text of an error.
//
// # Locks, connections and time
//
// A scheduler asks every running download Claim and Want while it holds
// its own lock, so no disk work happens under a Download's mutex: opening
// and resuming the temporary file and preallocating it happen while the
// probe is the only task; a restart that discards bytes marks the download
// busy (nothing to claim) while it empties the file; closing runs after
// the mutex is released, and Done is closed when it is over. A test blocks
// each of these operations (fileOps) and calls Claim and Want meanwhile.
//
// The final verification needs no connection: the last task calls the
// function given to Task.OnIdle (the scheduler frees its slot there, and
// starts new files only while at most Connections tasks verify without
// one, which bounds the open files) before it hashes the file; the hash
// reads with the run's ctx, so an interrupt stops it and keeps the
// complete file, with its journal, for the next run to verify and publish
// without a request.
//
// Hashing while the file downloads takes one goroutine per file with a
// checksum, and only for a file of at least 2 x MinSegment bytes (or,
// size unknown, once that much is complete) while 4 x ChunkSize of its
// complete prefix are not hashed yet: it returns once it has caught
// up, and a commit starts it again, so small files never start one. It
// holds one ChunkSize buffer. It stops before the file is verified or
// closed (an interrupt, a failure), and Done is not closed before it has;
// a restart that forgets the bytes on disk throws its digest away.
//
// Waits read an unexported clock (parking, backoff sleeps, Retry-After,
// the sync interval), as x/time/rate's now/newTimer seam does. The stall
// watchdog and the speed of each connection run on real time, because they
// measure the network, and so does the Publisher's batching wait.
//
// # Resume, and what a kill leaves behind
//
// On Linux a download's file has no name at first (O_TMPFILE in PATH's
// directory): a kill, or a crash, before it needs one leaves nothing
// behind, and publishing it is one linkat(2) into the directory, after
// its data is durable and before the directory fsync (through
// /proc/self/fd without CAP_DAC_READ_SEARCH). It is named PATH.bulkdl.part
// when a journal first describes it (a checkpoint) or when an interrupted
// download keeps it for a later run; a file already at PATH is replaced
// by linking the file to PATH.bulkdl.part and renaming that over PATH.
// Elsewhere, on file systems without O_TMPFILE, or without /proc, the
// file is PATH.bulkdl.part from the start. Only names that bulkdl derives
// from PATH are ever linked, each into the directory that the root
// resolves PATH's directory to when the file is published: the file is
// created at a directory handle opened through the root (shared by the
// files created there at the same time), and at publish, once per
// directory and batch, that handle is compared (device and inode) with
// what the root now resolves the path to. A directory renamed, replaced
// or moved out of dest (a symlink left in its place) since is not linked
// into: the directory is opened again through the root, which refuses a
// way out of dest, and the file is linked there or fails. The directory
// fsynced is the one linked into. (A rename between that check and the
// link can still move a file with its directory, as with any rename of a
// directory bulkdl writes into; never outside it through a symlink.) A
// shared directory removed while it held only files without a name (it
// looks empty) is made and opened again by the next file created there.
//
// Beside PATH.bulkdl.part, PATH.bulkdl.json records a SHA-256 of the URL
// (never the URL, which may carry a password or a signed query), the size,
// the validators and the byte ranges on disk. It is rewritten (write,
// fsync, rename, fsync of the directory: state.WriteFile) only after the
// data it describes was fsynced, and the file is fsynced before its
// rename to PATH, so after SIGKILL or power
// loss the journal never claims bytes that are not on disk; at most
// SyncBytes per file (default 8 MiB) plus what was in flight is fetched
// again. The temporary file may hold more than the journal claims, and
// holes: they are fetched again, never trusted. The order of these
// operations is observed by a test through an unexported seam (fileOps).
//
// A later download of the same URL resumes when the journal matches the
// URL's digest, the expected size and the temporary file's size, and the
// server confirms the validator through If-Range and echoes it; otherwise
// it starts over. A temporary file the journal claims whole (a kill while
// verifying or publishing) is verified and published without a request.
// The bytes a run kept are hashed from the disk like any others, from
// byte 0: a checksum covers the whole file, whichever run wrote it.
// A corrupt or foreign journal, or one of an older format, is ignored,
// never a crash. A failed or interrupted download keeps both files for a
// later run when its bytes can be resumed (a known size and a validator,
// and bytes written); otherwise, and after ErrSize, ErrChecksum or
// ErrChanged, both are removed.
//
// Not guaranteed: a server that serves different bytes under the same
// strong validator and size (or the same Last-Modified), honouring
// If-Range, is trusted: only a checksum in the manifest catches it. The
// same holds for a temporary file changed on disk behind bulkdl's back
// between runs while keeping its size: without a checksum it is published
// as the journal describes it. A byte of the temporary file that another
// program changes after segdl has read it back is not seen by the
// checksum (the dest lock keeps other runs of bulkdl out; a change after
// verification, before the rename, never was seen either). A file without
// any validator and without a checksum is correct only if one stream
// delivers it whole; a server that breaks every stream makes it fail,
// never splice.
//
// # Platforms
//
// The guarantees hold on Linux, macOS, the BSDs and Windows; how differs,
// one small function per OS (prealloc_*.go, umask_*.go, state's
// syncdir_*.go, and renames through internal/robustio):
//
//   - Preallocation. fallocate (Linux), F_PREALLOCATE (macOS) and
//     posix_fallocate (FreeBSD's UFS; ZFS refuses it) reserve the blocks,
//     so a full disk fails before the download. Elsewhere, or where the
//     filesystem refuses, ftruncate gives the size (a sparse file). On
//     Windows the temporary file is marked sparse, then sized: NTFS would
//     otherwise write zeros from the file's valid data length up to any
//     write beyond it, synchronously, so the first write of a segment at
//     900 MiB would wait for 900 MiB of zeros and every byte would be
//     written twice (aria2 #1708, #837). The price: no early "disk full",
//     and a more fragmented file. FAT32 and exFAT have no sparse files and
//     zero-fill. Not measured on NTFS yet: a Windows runner should time a
//     segmented 1 GiB download, sparse against a plain SetEndOfFile,
//     recording the longest WriteAt, the bytes written to disk and the
//     extents (fsutil file queryExtents).
//   - Publishing on Windows. A rename onto a file another program holds
//     open (a virus scanner, the search indexer, a viewer) is refused for
//     as long as it does: it is retried for about 2 s, then fails saying
//     so, leaving the old file and the temporary file as they were.
//     Windows cannot fsync a directory, so that step is skipped there:
//     NTFS journals the rename itself, but a power cut just after it may
//     still undo it.
//   - Permissions. Windows has no mode bits: temporary and published files
//     get the access the destination directory's ACL passes on to new
//     files, not 0600 and 0644. Keep a destination that will hold secrets
//     in a directory only its user can read. The umask is read from /proc
//     on Linux, once at start-up on other Unix systems, and is none on
//     Windows.
package segdl

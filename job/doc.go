// Package job runs and verifies a manifest: the engine behind bulkdl run,
// bulkdl verify and bulkdl run -dry-run. The CLI parses flags, handles
// signals and draws; every decision about a file is made here.
//
//	res, err := job.Run(ctx, m, job.Options{Shard: shard, Observer: display})
//	report := job.NewReport(res, exitCode)
//
// # A run
//
//	lock:     state.Open takes dest's lock (a plain run excludes every
//	          other; the shards of one split run side by side)
//	plan:     Decide, per file of the shard, from what is at its path and
//	          what the state log (or another shard's) recorded: Skip, Trust,
//	          Hash, Conditional or Fetch; files to hash are hashed on one
//	          goroutine per CPU, with the run's ctx
//	fetch:    the scheduler runs a segdl.Download per file left, over one
//	          transport (HTTP/1.1 unless a host opts into HTTP/2) behind the
//	          dead-host breaker, with netrc credentials if asked
//	record:   each file published is recorded (size, mtime, checksum,
//	          validators with the digest of the URL that gave them)
//	prune:    with Prune, after a run that was not interrupted
//
// A display subscribes with an Observer: EventPlanned carries a Status to
// poll for the live state; failures, hosts found down, warnings and
// verbose lines arrive as events. Each file ends with an Outcome, which
// the report writes as its status.
//
// Decide is the whole rerun policy and reads nothing, so that it is tested
// as a table; Shard's assignment is held fixed by a golden file, so that a
// new version never moves files between the shards of a split.
package job

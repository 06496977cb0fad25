// Package bulkdl is the root of the bulkdl module, a command-line tool that
// downloads everything a TOML manifest lists under one shared connection
// budget.
//
// The layout is the architecture:
//
//   - cmd/bulkdl: the CLI. Flags, subcommands, signals, the terminal display
//     and printing; exit codes. It decides nothing about files: it loads a
//     manifest, calls job.Run, job.Verify or job.DryRun, shows their events
//     and writes their report.
//   - job: one run or verification of a manifest, the engine: what to do
//     with each file on a rerun (Decide, one pure function: skip, hash,
//     fetch conditionally, trust, fetch), the state bookkeeping and -prune,
//     the hashing pool (cancelled with the run's ctx), the transport and
//     TLS policy (HTTP/1.1 unless a host opts into HTTP/2; per-host
//     ca_file, insecure), netrc, the dead-host breaker, sharding (Shard:
//     FNV-1a of the path, held fixed by a golden file; after N changes, the
//     records other shards wrote: others.go), the outcomes enum
//     shared by run, verify and the report (Outcome), and the JSON report's
//     schema. A display subscribes to a run's events with an Observer.
//     Split by stage: run.go (setup, the run), rerun.go (Decide, DryRun),
//     plan.go (planning, recording, prune), source.go (the scheduler's
//     source, outcomes), others.go, transport.go, netrc.go, breaker.go,
//     shard.go, event.go, report.go, verify.go.
//   - manifest: TOML schema v1. Decoding, defaults, validation with
//     file:line:column errors, the host keys of [hosts]. Knows nothing of
//     HTTP. Split by stage: manifest.go (types, loading), validate.go,
//     keys.go (unknown keys, suggestions), headers.go (headers, ${VAR},
//     secrets), hosts.go, paths.go, names.go (portable names), error.go.
//   - segdl: one file's download. Probe, byte ranges, resume journal, writes
//     at offsets, verification, atomic publish. Knows nothing of other files.
//     Split by stage: fetch.go (one request), response.go (one method per
//     class of response), stream.go (body to file, stall watchdog),
//     retry.go (retries, backoff, parking), redirect.go (redirects and the
//     header policy), lifecycle.go (prepare, learn, commit, restart,
//     close), finish.go (verify), publish.go (batched publishing),
//     mirrors.go and speed.go (mirrors in parallel, where to split).
//     segdl/segdltest is the fault-injecting loopback origin its tests
//     (and others') use.
//   - scheduler: many files at once. The shared connection budget, per-host
//     and per-file caps, pushback (a host that refuses gets fewer
//     connections), requests charged to the host they go to through
//     redirects, the tail (split early so no file ends alone), the
//     bandwidth limiter, and who gets the next free connection.
//   - redact: what of a URL, a manifest line or a name is fit to print.
//     The manifest, segdl and the CLI all print URLs; none of them should
//     depend on another for it, so the one implementation lives here.
//   - state: what bulkdl wrote into a destination (for cheap reruns and
//     -prune), the lock that allows one run at a time (or the shards of
//     one split), the names bulkdl reserves in a destination, and the one
//     atomic file write (WriteFile: temporary file, fsync, rename, fsync of
//     the directory) that the report, the resume journal and the state
//     log's compaction use.
//   - internal/robustio: a rename that waits, briefly, for Windows to let go
//     of a file another program holds; segdl publishes and state compacts
//     through it. internal/winetest: the test-only switch that lets the
//     Windows tests run under Wine (build tag winetest).
//   - cmd/bulkdl-origin: a loopback origin over segdltest for the demo and
//     the benchmarks; bench: the benchmark against aria2c, curl, wget2, axel.
//   - examples: manifests and recipes to copy.
//   - tools/dist: builds the release archives and checksums.txt (make dist)
//     as .goreleaser.yaml does, with the Go toolchain alone; its tests also
//     check the GitHub Action's script (scripts/action.sh, action.yml) and
//     the Dockerfile.
//
// Each decision has one home, and a test there: the rerun policy in
// job.Decide (a table), shard assignment in job.Shard (a golden file),
// the outcome of a file in job.Outcome, the host key in segdl.HostPort and
// manifest.HostKey (check shows hosts as a run keys them), URL redaction in
// redact, reserved names in state.Reserved. Control flow never reads the
// text of an error: sentinels, types, errors.Is and errors.As. Time is
// injected where it is waited on (segdl's clock: parking, backoff,
// Retry-After, mirrors' waits, the sync interval), as x/time/rate does, so
// tests of Retry-After and backoff take no real seconds; the scheduler's
// pushback counts refusals and reads no clock.
package bulkdl

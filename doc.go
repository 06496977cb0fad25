// Package bulkdl is the root of the bulkdl module, a command-line tool that
// downloads everything a TOML manifest lists under one shared connection
// budget.
//
// The layout is the architecture:
//
//   - cmd/bulkdl: the CLI. Flags, subcommands and terminal output; it wires
//     the packages below together and holds no download logic.
//   - manifest: TOML schema v1. Decoding, defaults, validation with
//     file:line:column errors. Knows nothing of HTTP.
//   - segdl: one file's download. Probe, byte ranges, resume journal, writes
//     at offsets, verification, atomic publish. Knows nothing of other files.
//     segdl/segdltest is the fault-injecting loopback origin its tests (and
//     others') use.
//   - scheduler: many files at once. The shared connection budget, per-host
//     and per-file caps, the bandwidth limiter, and who gets the next free
//     connection.
//   - redact: what of a URL, a manifest line or a name is fit to print.
//     The manifest, segdl and the CLI all print URLs; none of them should
//     depend on another for it, so the one implementation lives here.
//   - state: what bulkdl wrote into a destination (for cheap reruns and
//     -prune) and the lock that allows one run at a time. The CLI would
//     otherwise do two jobs.
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
package bulkdl

#!/usr/bin/env bash
# make demo: bulkdl's main job on a local origin, offline, in about 20 s.
#
#  1. build bulkdl and bulkdl-origin (dependencies are vendored: no network)
#  2. start an origin on 127.0.0.1 serving ~300 MB of deterministic files
#     (4 x 64 MiB + 300 x 128 KiB), each connection capped at 4 MB/s with
#     10 ms latency, so that splitting large files visibly matters; it
#     refuses (503) any request beyond the budget of 12 in flight
#  3. bulkdl run: everything, with the live display and checksums
#  4. bulkdl run again: everything is verified and skipped, no request sent
#  5. delete the large files, start a run, interrupt it part-way (SIGINT),
#     run again: it resumes from what was on disk
set -euo pipefail
cd "$(dirname "$0")/.."
work=demo
rm -rf "$work"
mkdir -p "$work" bin
go build -o bin/bulkdl ./cmd/bulkdl
go build -o bin/bulkdl-origin ./cmd/bulkdl-origin

bin/bulkdl-origin -files 4x64MiB,300x128KiB -rate-per-conn 4MB/s -latency 10ms -max-in-flight 12 \
	-connections 12 -per-host 12 -dest downloads \
	-addr-file "$work/origin.addr" -manifest "$work/demo.toml" -stats "$work/origin-stats.json" \
	2>"$work/origin.log" &
origin=$!
trap 'kill $origin 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/origin.addr" ] && break; sleep 0.1; done
[ -s "$work/origin.addr" ] || { echo "origin did not start"; cat "$work/origin.log"; exit 1; }

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "the plan: bulkdl check $work/demo.toml (no network)"
bin/bulkdl check "$work/demo.toml"

say "bulkdl run $work/demo.toml: 304 files, one budget of 12 connections at 4 MB/s each"
bin/bulkdl run -report "$work/report.json" "$work/demo.toml"

say "run it again: every file is verified against its checksum and skipped"
bin/bulkdl run "$work/demo.toml"

say "delete the four large files, start again, and interrupt after 2 s"
rm -f "$work"/downloads/file-000[0-3].bin
bin/bulkdl run -progress plain "$work/demo.toml" &
run=$!
sleep 2
kill -INT $run
wait $run || echo "(exit code $?: interrupted, resume state kept)"
ls "$work"/downloads/*.bulkdl.* 2>/dev/null | sed 's/^/  left for resume: /' || true

say "run again: it resumes where it stopped"
bin/bulkdl run "$work/demo.toml"

kill -INT $origin
wait $origin || true
trap - EXIT
say "what the origin saw (it refuses a request beyond 12 in flight): $(cat "$work/origin-stats.json")"
echo "files are in $work/downloads; the JSON report of the first run is $work/report.json"

#!/usr/bin/env bash
# make release-check: validate .goreleaser.yaml and build a snapshot release
# with GoReleaser (GORELEASER, default: goreleaser on PATH or in GOPATH/bin),
# then check that make dist's binaries are byte for byte GoReleaser's, so
# that anyone can rebuild a release with the Go toolchain alone and compare.
# Install: go install github.com/goreleaser/goreleaser/v2@v2.13.0 (~3 min).
# Offline; without a Docker engine the image is skipped (and said so).
set -euo pipefail
cd "$(dirname "$0")/.."
gr=${GORELEASER:-}
if [ -z "$gr" ]; then
	gr=$(command -v goreleaser || true)
	[ -n "$gr" ] || gr=$(go env GOPATH)/bin/goreleaser
fi
[ -x "$gr" ] || {
	echo "release-check: no goreleaser; go install github.com/goreleaser/goreleaser/v2@v2.13.0" >&2
	exit 1
}
"$gr" check

skip=()
if ! docker info >/dev/null 2>&1; then
	echo "release-check: no Docker engine: the image is not built (--skip=docker)"
	skip=(--skip=docker)
fi
# GoReleaser reads the remote's URL; a checkout without one gets the
# project's, through the environment only.
if [ -z "$(git remote)" ]; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/bulkdl/bulkdl.git
fi
"$gr" release --snapshot --clean ${skip[@]+"${skip[@]}"}

version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' dist/metadata.json)
go run ./tools/dist -out dist/make-dist -version "$version"
fail=0
for a in dist/make-dist/bulkdl_*; do
	name=$(basename "$a")
	case $name in
	*.zip) bin=bulkdl.exe; mine=$(unzip -p "$a" "$bin" | sha256sum); theirs=$(unzip -p "dist/$name" "$bin" | sha256sum) ;;
	*) bin=bulkdl; mine=$(tar -xzOf "$a" "$bin" | sha256sum); theirs=$(tar -xzOf "dist/$name" "$bin" | sha256sum) ;;
	esac
	if [ "$mine" != "$theirs" ]; then
		echo "release-check: $name: make dist's $bin differs from GoReleaser's" >&2
		fail=1
	fi
done
[ "$fail" = 0 ] && echo "release-check: make dist builds GoReleaser's binaries byte for byte"
exit "$fail"

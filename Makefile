# bulkdl: see README.md. Every target works offline.
GO ?= go
BIN := bin

.PHONY: all build test lint cross test-wine fuzz demo bench bench-quick clean

all: lint test

# Built as a release is (static, no cgo, -trimpath): the demo and make
# bench measure the binary users install.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/bulkdl ./cmd/bulkdl

# The test command the README gives and CI runs.
test:
	$(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' ':!vendor' 2>/dev/null || find . -name '*.go' -not -path './vendor/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Every platform a release is built for, without cgo: go build, and go vet,
# which also type-checks the tests. About 20 s with a warm build cache.
# -trimpath as make dist builds, so that dist reuses the compiled packages.
CROSS ?= windows/amd64 windows/arm64 darwin/arm64 darwin/amd64 freebsd/amd64 linux/amd64 linux/arm64
cross:
	@for t in $(CROSS); do \
		echo "cross: $$t"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} CGO_ENABLED=0 $(GO) build -trimpath ./... || exit 1; \
		GOOS=$${t%/*} GOARCH=$${t#*/} CGO_ENABLED=0 $(GO) vet ./... || exit 1; \
	done

# The windows/amd64 tests under Wine: a smoke test of the Windows build,
# not Windows (README). .ci/wine/setup installs Wine (as root, on Debian)
# and prepares its prefix; the winetest tag is for this target only. Then
# the release zip's bulkdl.exe (make dist) runs under Wine.
test-wine:
	@for d in $$(git ls-files '*_test.go' ':!vendor' | xargs -n1 dirname | sort -u); do \
		[ -f $$d/winetest_test.go ] || { echo "test-wine: $$d has tests but no winetest_test.go (see internal/winetest)"; exit 1; }; \
	done
	@prefix=$$(./.ci/wine/setup | tail -n 1) && \
	WINEPREFIX=$$prefix WINEDEBUG=-all GOOS=windows GOARCH=amd64 CGO_ENABLED=0 \
		$(GO) test -count=1 -tags winetest -ldflags=-checklinkname=0 -exec wine ./... && \
	WINEPREFIX=$$prefix WINEDEBUG=-all BULKDL_REQUIRE_WINE=1 \
		$(GO) test -count=1 -run TestWindowsZipRunsUnderWine ./tools/dist

# Short fuzz runs of every parser; FUZZTIME=5m for longer ones.
FUZZTIME ?= 10s
fuzz:
	$(GO) test ./manifest -run=^$$ -fuzz=FuzzParse$$ -fuzztime=$(FUZZTIME)
	$(GO) test ./manifest -run=^$$ -fuzz=FuzzParseSize -fuzztime=$(FUZZTIME)
	$(GO) test ./manifest -run=^$$ -fuzz=FuzzSplitMatchesWhole -fuzztime=$(FUZZTIME)
	$(GO) test ./manifest -run=^$$ -fuzz=FuzzFastFilesMatchesDecoder -fuzztime=$(FUZZTIME)
	$(GO) test ./manifest -run=^$$ -fuzz=FuzzParseMatchesReference -fuzztime=$(FUZZTIME)
	$(GO) test ./segdl -run=^$$ -fuzz=FuzzParseContentRange -fuzztime=$(FUZZTIME)
	$(GO) test ./segdl -run=^$$ -fuzz=FuzzKernelAtLeast -fuzztime=$(FUZZTIME)
	$(GO) test ./manifest -run=^$$ -fuzz=FuzzHostKey -fuzztime=$(FUZZTIME)
	$(GO) test ./bench -run=^$$ -fuzz=FuzzParseFloorLine -fuzztime=$(FUZZTIME)
	$(GO) test ./cmd/bulkdl-origin -run=^$$ -fuzz=FuzzParseFiles -fuzztime=$(FUZZTIME)
	$(GO) test ./redact -run=^$$ -fuzz=FuzzURL -fuzztime=$(FUZZTIME)
	$(GO) test ./redact -run=^$$ -fuzz=FuzzLine -fuzztime=$(FUZZTIME)
	$(GO) test ./cmd/bulkdl -run=^$$ -fuzz=FuzzURLList -fuzztime=$(FUZZTIME)
	$(GO) test ./job -run=^$$ -fuzz=FuzzParseNetrc -fuzztime=$(FUZZTIME)
	$(GO) test ./job -run=^$$ -fuzz=FuzzParseShard -fuzztime=$(FUZZTIME)
	$(GO) test ./job -run=^$$ -fuzz=FuzzAuthorityDecidesHost -fuzztime=$(FUZZTIME)

# bulkdl on a local origin with ~300 MB of generated data; offline, ~20 s.
demo:
	./examples/demo.sh

# bulkdl against aria2c, curl, wget2 and axel on loopback scenarios; ~8 min.
# Writes bench/results.md. Peers: apt-get install aria2 wget2 axel curl time
# BENCH_FLAGS: e.g. -dir /mnt/scratch (the file system measured; see
# README), -only many-small, -tools curl (bulkdl always runs), -reps 5.
BENCH_FLAGS ?=
bench: build
	$(GO) run ./bench $(BENCH_FLAGS)

# One small repetition, to check that the benchmark still runs (CI).
bench-quick: build
	$(GO) run ./bench -quick -out $${TMPDIR:-/tmp}/bulkdl-bench-quick.md

.PHONY: dist release-check

# The release archives and checksums.txt in dist/, with the Go toolchain
# alone, offline and reproducibly (tools/dist); VERSION=1.2.0 to stamp one.
dist:
	$(GO) run ./tools/dist -out dist $(if $(VERSION),-version $(VERSION))

# goreleaser check and a snapshot release (not in CI: GoReleaser takes ~3 min
# to install); also checks that make dist builds the same binaries.
release-check:
	./scripts/release-check.sh

clean:
	rm -rf $(BIN) demo bench/work dist

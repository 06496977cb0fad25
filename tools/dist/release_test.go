package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readRoot(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// yamlList returns the "- item" entries of the first block under key (a
// line "key:" at any indentation), without a YAML library: enough for the
// flat lists of .goreleaser.yaml.
func yamlList(text, key string) []string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != key+":" {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		var items []string
		for _, m := range lines[i+1:] {
			mi := len(m) - len(strings.TrimLeft(m, " "))
			s := strings.TrimSpace(m)
			if s == "" || strings.HasPrefix(s, "#") {
				continue
			}
			if mi < indent || (mi == indent && !strings.HasPrefix(s, "- ")) {
				break
			}
			if v, ok := strings.CutPrefix(s, "- "); ok && (mi == indent || mi == indent+2) {
				items = append(items, strings.Trim(v, `"'`))
			}
		}
		return items
	}
	return nil
}

// yamlValues returns the values of every "key: value" line.
func yamlValues(text, key string) []string {
	var vs []string
	for _, l := range strings.Split(text, "\n") {
		s := strings.TrimPrefix(strings.TrimSpace(l), "- ")
		if v, ok := strings.CutPrefix(s, key+":"); ok && strings.TrimSpace(v) != "" {
			vs = append(vs, strings.Trim(strings.TrimSpace(v), `"'`))
		}
	}
	return vs
}

// render fills a GoReleaser template with the release's values.
func render(tmpl string, vars map[string]string) string {
	for k, v := range vars {
		tmpl = strings.ReplaceAll(tmpl, "{{ ."+k+" }}", v)
	}
	return tmpl
}

// TestGoReleaserAndDistAgree keeps make dist building what GoReleaser
// publishes: platforms, flags, ldflags, archive names and contents.
func TestGoReleaserAndDistAgree(t *testing.T) {
	cfg := readRoot(t, ".goreleaser.yaml")
	var want []string
	for _, tg := range yamlList(cfg, "targets") {
		want = append(want, strings.Replace(tg, "_", "/", 1))
	}
	if !slices.Equal(want, targets) {
		t.Errorf(".goreleaser.yaml targets %v; tools/dist builds %v", want, targets)
	}
	if got := yamlList(cfg, "flags"); !slices.Equal(got, []string{"-trimpath", "-buildvcs=false"}) {
		t.Errorf(".goreleaser.yaml build flags %v; tools/dist uses -trimpath -buildvcs=false", got)
	}
	if got := yamlList(cfg, "env"); !slices.Equal(got, []string{"CGO_ENABLED=0"}) {
		t.Errorf(".goreleaser.yaml build env %v; want CGO_ENABLED=0", got)
	}
	if got := yamlValues(cfg, "mod_timestamp"); !slices.Equal(got, []string{"{{ .CommitTimestamp }}"}) {
		t.Errorf("mod_timestamp %v; want the commit's time, for reproducible builds", got)
	}
	date, _ := time.Parse(time.RFC3339, testDate)
	r := &release{version: testVersion, commit: testCommit, date: date}
	vars := map[string]string{"ProjectName": "bulkdl", "Version": testVersion, "FullCommit": testCommit, "CommitDate": testDate, "Os": "windows", "Arch": "arm64"}
	if ld := yamlList(cfg, "ldflags"); len(ld) != 1 || render(ld[0], vars) != r.ldflags() {
		t.Errorf(".goreleaser.yaml ldflags %q render differently from tools/dist's %q", ld, r.ldflags())
	}
	names := yamlValues(cfg, "name_template")
	if len(names) == 0 || render(names[0], vars)+".zip" != r.archiveName("windows", "arm64") {
		t.Errorf("archive name_template %q; tools/dist names it %q", names, r.archiveName("windows", "arm64"))
	}
	if got := yamlValues(cfg, "formats"); !slices.Equal(got, []string{"[tar.gz]", "[zip]"}) {
		t.Errorf("archive formats %v; want tar.gz, zip for windows", got)
	}
	var srcs []string
	for _, s := range yamlValues(cfg, "src") {
		srcs = append(srcs, strings.TrimSuffix(s, "/*"))
	}
	if !slices.Equal(srcs, extraFiles) {
		t.Errorf("archive files %v; tools/dist packs %v", srcs, extraFiles)
	}
	for key, want := range map[string]string{"binary": "bulkdl", "main": "./cmd/bulkdl", "algorithm": "sha256"} {
		if got := yamlValues(cfg, key); !slices.Equal(got, []string{want}) {
			t.Errorf(".goreleaser.yaml %s: %v; want %s", key, got, want)
		}
	}
	if got := yamlValues(cfg, "name_template"); !slices.Contains(got, "checksums.txt") {
		t.Errorf("no checksums.txt in %v", got)
	}
}

// TestDockerfile checks what can be checked of the image offline: the base
// (no image can be pulled here), the user, the entry point, and that it
// copies the binary GoReleaser puts in the build context, which
// TestLinuxArchiveRuns checks is static.
func TestDockerfile(t *testing.T) {
	var ins [][2]string // instruction, arguments
	for _, l := range strings.Split(readRoot(t, "Dockerfile"), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		op, args, _ := strings.Cut(l, " ")
		ins = append(ins, [2]string{strings.ToUpper(op), strings.TrimSpace(args)})
	}
	get := func(op string) []string {
		var as []string
		for _, in := range ins {
			if in[0] == op {
				as = append(as, in[1])
			}
		}
		return as
	}
	if from := get("FROM"); len(from) != 1 || !strings.HasPrefix(from[0], "gcr.io/distroless/static-debian12:nonroot") {
		t.Errorf("FROM %q; want one stage on gcr.io/distroless/static-debian12:nonroot (CA certificates, no shell, non-root)", from)
	}
	for _, op := range []string{"RUN", "ADD"} {
		if got := get(op); len(got) > 0 {
			t.Errorf("%s %q: the base has no shell, and the image only copies the release binary", op, got)
		}
	}
	if user := get("USER"); len(user) == 0 || !slices.Contains([]string{"nonroot", "nonroot:nonroot", "65532", "65532:65532"}, user[len(user)-1]) {
		t.Errorf("USER %q; want nonroot", user)
	}
	cfg := readRoot(t, ".goreleaser.yaml")
	copies := get("COPY")
	binary := yamlValues(cfg, "binary")
	if len(copies) != 1 || len(binary) != 1 {
		t.Fatalf("COPY %q, goreleaser binary %q; want one COPY of the one binary", copies, binary)
	}
	src, dst, _ := strings.Cut(copies[0], " ")
	if src != binary[0] || dst != "/usr/local/bin/"+binary[0] {
		t.Errorf("COPY %s %s; want COPY %s /usr/local/bin/%[3]s (GoReleaser's binary, onto distroless's PATH)", src, dst, binary[0])
	}
	var entry []string
	if ep := get("ENTRYPOINT"); len(ep) != 1 || json.Unmarshal([]byte(ep[0]), &entry) != nil || !slices.Equal(entry, []string{binary[0]}) {
		t.Errorf("ENTRYPOINT %q; want the exec form [%q]", ep, binary[0])
	}
	if got := yamlValues(cfg, "dockerfile"); len(got) == 0 || slices.ContainsFunc(got, func(s string) bool { return s != "Dockerfile" }) {
		t.Errorf(".goreleaser.yaml dockers build %v; want Dockerfile", got)
	}
	for _, arch := range yamlValues(cfg, "goarch") {
		if !slices.Contains(targets, "linux/"+arch) {
			t.Errorf("an image for linux/%s, which the release does not build", arch)
		}
	}
}

// TestReleaseWorkflow checks the workflow that publishes a release: the
// GoReleaser that make release-check was tried with, and go.mod's Go, so
// that make dist at the tag rebuilds the same binaries.
func TestReleaseWorkflow(t *testing.T) {
	wf := readRoot(t, ".github/workflows/release.yml")
	script := readRoot(t, "scripts/release-check.sh")
	for key, want := range map[string]string{"version": "v2.13.0", "go-version-file": "go.mod", "args": "release --clean"} {
		if got := yamlValues(wf, key); !slices.Contains(got, want) {
			t.Errorf("release.yml %s: %v; want %s", key, got, want)
		}
	}
	if !strings.Contains(script, "goreleaser/v2@v2.13.0") {
		t.Errorf("scripts/release-check.sh installs another GoReleaser than the release workflow runs")
	}
}

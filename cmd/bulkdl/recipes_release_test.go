package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
)

// The recipes that use the release: the GitHub Action in
// examples/ci/github-actions.yml, the image in examples/k8s. Their YAML is
// read with the subset parser of yaml_test.go, checked for the wiring a
// user would otherwise find broken on a cluster or a runner, and their
// bulkdl commands are run by TestCIRecipe and TestKubernetesRecipe.

var repoRoot = filepath.Join("..", "..")

func loadYAML(t *testing.T, rel string) []*yamlNode {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return parseYAMLDocs(t, string(data))
}

// workflowSteps returns the steps of the example workflow's one job and
// the index of the step that uses the bulkdl action.
func workflowSteps(t *testing.T) ([]*yamlNode, int) {
	t.Helper()
	wf := loadYAML(t, "examples/ci/github-actions.yml")[0]
	jobs := wf.get("jobs")
	if jobs == nil || len(jobs.keys) != 1 {
		t.Fatal("github-actions.yml: want one job")
	}
	steps := jobs.get(jobs.keys[0], "steps").list
	for i, s := range steps {
		if strings.HasPrefix(s.str("uses"), "bulkdl/bulkdl@") {
			return steps, i
		}
	}
	t.Fatal("github-actions.yml: no step uses bulkdl/bulkdl")
	return nil, 0
}

// actionInputs are the workflow's inputs to the action over action.yml's
// defaults; inputs action.yml does not declare fail the test.
func actionInputs(t *testing.T) map[string]string {
	t.Helper()
	action := loadYAML(t, "action.yml")[0]
	steps, i := workflowSteps(t)
	in := map[string]string{}
	decl := action.get("inputs")
	for _, k := range decl.keys {
		in[k] = decl.str(k, "default")
	}
	with := steps[i].get("with")
	if with == nil {
		t.Fatal("the bulkdl step has no inputs")
	}
	for _, k := range with.keys {
		if _, ok := in[k]; !ok {
			t.Errorf("the workflow gives the action input %q, which action.yml does not declare (%v)", k, decl.keys)
		}
		in[k] = with.str(k)
	}
	for _, k := range decl.keys {
		if decl.str(k, "required") == "true" && with.str(k) == "" {
			t.Errorf("the workflow omits the required input %q", k)
		}
	}
	return in
}

// actionCommand returns the arguments scripts/action.sh gives bulkdl for
// the example workflow's step.
func actionCommand(t *testing.T) []string {
	t.Helper()
	in := actionInputs(t)
	args := []string{"run"}
	if in["report"] != "" {
		args = append(args, "-report", in["report"])
	}
	args = append(args, strings.Fields(in["args"])...)
	return append(args, in["manifest"])
}

func TestCIWorkflowWiring(t *testing.T) {
	t.Setenv("MIRROR_TOKEN", "example-token")
	steps, i := workflowSteps(t)
	in := actionInputs(t)
	m, err := manifest.Load(filepath.Join(repoRoot, in["manifest"]))
	if err != nil {
		t.Fatalf("the workflow's manifest: %v", err)
	}
	dest, err := filepath.Rel(repoRoot, m.Dest)
	if err != nil {
		t.Fatal(err)
	}
	dest = filepath.ToSlash(dest)
	find := func(uses string) (int, *yamlNode) {
		for j, s := range steps {
			if strings.HasPrefix(s.str("uses"), uses+"@") {
				return j, s
			}
		}
		t.Fatalf("no step uses %s", uses)
		return 0, nil
	}
	ri, restore := find("actions/cache/restore")
	si, save := find("actions/cache/save")
	if !(ri < i && i < si) {
		t.Errorf("steps: cache restore %d, bulkdl %d, cache save %d; want them in that order", ri, i, si)
	}
	// The cache holds dest (the files and dest/.bulkdl): without the files
	// bulkdl's state has nothing to skip.
	for _, s := range []*yamlNode{restore, save} {
		if got := s.str("with", "path"); got != dest {
			t.Errorf("%s caches %q; the manifest's dest is %q", s.str("uses"), got, dest)
		}
	}
	key := save.str("with", "key")
	if key == "" || key != restore.str("with", "key") || !strings.HasPrefix(key, restore.str("with", "restore-keys")) {
		t.Errorf("cache keys: save %q, restore %q with restore-keys %q: a new run must restore the last saved", key, restore.str("with", "key"), restore.str("with", "restore-keys"))
	}
	if save.str("if") != "always()" {
		t.Errorf("the cache is saved only on success; a failed run's progress would be lost")
	}
	var mirror, report bool
	for _, s := range steps {
		if !strings.HasPrefix(s.str("uses"), "actions/upload-artifact@") {
			continue
		}
		var paths []string
		for _, p := range strings.Split(s.str("with", "path"), "\n") {
			if p = strings.TrimSpace(p); p != "" {
				paths = append(paths, p)
			}
		}
		switch {
		case slices.Contains(paths, dest):
			mirror = true
			if !slices.Contains(paths, "!"+dest+"/.bulkdl") {
				t.Errorf("the mirror upload %v includes bulkdl's state; want !%s/.bulkdl", paths, dest)
			}
		case slices.Equal(paths, []string{"${{ steps." + steps[i].str("id") + ".outputs.report }}"}):
			report = true
			if s.str("if") != "always()" {
				t.Errorf("the report is uploaded only on success")
			}
		}
	}
	if !mirror || !report {
		t.Errorf("uploads: the mirror %v, the report (the action's output) %v; want both", mirror, report)
	}
	if outputs := loadYAML(t, "action.yml")[0].get("outputs"); outputs.get("report") == nil {
		t.Errorf("action.yml has no report output")
	}
	if steps[i].str("env", "MIRROR_TOKEN") != "${{ secrets.MIRROR_TOKEN }}" {
		t.Errorf("the manifest's ${MIRROR_TOKEN} does not come from the repository's secrets")
	}
}

// TestCIRerunSkipsWhatTheCacheRestored runs the workflow's command, moves
// the workspace as the cache would restore it on a new runner, and runs
// it again: nothing is requested.
func TestCIRerunSkipsWhatTheCacheRestored(t *testing.T) {
	args := actionCommand(t)
	srv, dir, _ := origin(t, 3, 64<<10, "")
	srv.Fault = nil
	if code, stderr := runRecipe(t, dir, filepath.Join(dir, "m.toml"), args, nil); code != 0 {
		t.Fatalf("%q = %d: %s", args, code, stderr)
	}
	restored := filepath.Join(t.TempDir(), "workspace")
	if err := os.CopyFS(restored, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	// actions/cache keeps modification times (tar --posix).
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		return os.Chtimes(filepath.Join(restored, rel), info.ModTime(), info.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
	before := srv.Stats().Requests
	if code, stderr := runRecipe(t, restored, filepath.Join(restored, "m.toml"), args, nil); code != 0 {
		t.Fatalf("rerun = %d: %s", code, stderr)
	}
	if n := srv.Stats().Requests - before; n != 0 {
		t.Errorf("the rerun on the restored cache sent %d requests; want 0", n)
	}
}

// jobContainer returns the first container of the Job named name in a
// Kubernetes file, and the Job.
func jobContainer(t *testing.T, rel, name string) (job, container *yamlNode) {
	t.Helper()
	for _, d := range loadYAML(t, rel) {
		if d.str("kind") == "Job" && d.str("metadata", "name") == name {
			cs := d.get("spec", "template", "spec", "containers")
			if cs == nil || len(cs.list) == 0 {
				t.Fatalf("%s: job %s has no containers", rel, name)
			}
			return d, cs.list[0]
		}
	}
	t.Fatalf("%s: no Job %s", rel, name)
	return nil, nil
}

// jobArgs are the bulkdl arguments of the Indexed Job's container.
func jobArgs(t *testing.T) []string {
	t.Helper()
	_, c := jobContainer(t, "examples/k8s/indexed-job.yaml", "bulkdl-datasets")
	return c.strs("args")
}

// mounts maps a container's volume names to their mount paths.
func mounts(c *yamlNode) map[string]string {
	m := map[string]string{}
	for _, v := range c.get("volumeMounts").list {
		m[v.str("name")] = v.str("mountPath")
	}
	return m
}

func flagValue(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestKubernetesWiring(t *testing.T) {
	docs := loadYAML(t, "examples/k8s/indexed-job.yaml")
	byKind := map[string]*yamlNode{}
	for _, d := range docs {
		byKind[d.str("kind")] = d
	}
	cm, pvc := byKind["ConfigMap"], byKind["PersistentVolumeClaim"]
	if cm == nil || pvc == nil {
		t.Fatalf("indexed-job.yaml: kinds %v; want the ConfigMap and the claim beside the Job", slices.Sorted(func(yield func(string) bool) {
			for k := range byKind {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if !slices.Contains(pvc.strs("spec", "accessModes"), "ReadWriteMany") {
		t.Errorf("the claim is %v; every pod mounts it at once: want ReadWriteMany", pvc.strs("spec", "accessModes"))
	}
	// The image GoReleaser publishes.
	var repo string
	for _, d := range loadYAML(t, ".goreleaser.yaml")[0].get("docker_manifests").list {
		repo, _, _ = strings.Cut(d.str("name_template"), ":")
	}
	job, c := jobContainer(t, "examples/k8s/indexed-job.yaml", "bulkdl-datasets")
	vjob, vc := jobContainer(t, "examples/k8s/verify-job.yaml", "bulkdl-datasets-verify")
	n := job.str("spec", "completions")
	if job.str("spec", "completionMode") != "Indexed" {
		t.Errorf("the Job is not Indexed")
	}
	for _, x := range []struct {
		job, c *yamlNode
		cmd    string
	}{{job, c, "run"}, {vjob, vc, "verify"}} {
		args := x.c.strs("args")
		if len(args) == 0 || args[0] != x.cmd {
			t.Errorf("%s: args %q; want bulkdl %s", x.job.str("metadata", "name"), args, x.cmd)
			continue
		}
		image, _, _ := strings.Cut(x.c.str("image"), ":")
		if repo == "" || image != repo {
			t.Errorf("%s runs image %q; the release's image is %q", x.cmd, x.c.str("image"), repo)
		}
		if x.job.str("spec", "template", "spec", "securityContext", "runAsNonRoot") != "true" {
			t.Errorf("%s: not runAsNonRoot", x.cmd)
		}
		vols := map[string]*yamlNode{}
		for _, v := range x.job.get("spec", "template", "spec", "volumes").list {
			vols[v.str("name")] = v
		}
		mp := mounts(x.c)
		var dataVol, configVol string
		for name, v := range vols {
			if v.str("persistentVolumeClaim", "claimName") == pvc.str("metadata", "name") {
				dataVol = name
			}
			if v.str("configMap", "name") == cm.str("metadata", "name") {
				configVol = name
			}
		}
		if dataVol == "" || configVol == "" {
			t.Errorf("%s: volumes %v do not name the claim %q and the ConfigMap %q", x.cmd, slices.Collect(func(yield func(string) bool) {
				for k := range vols {
					yield(k)
				}
			}), pvc.str("metadata", "name"), cm.str("metadata", "name"))
			continue
		}
		if got := flagValue(args, "-dest"); got == "" || got != mp[dataVol] {
			t.Errorf("%s: -dest %q; the claim is mounted at %q", x.cmd, got, mp[dataVol])
		}
		mf := args[len(args)-1] // a path in the container
		dir, key := path.Dir(mf), path.Base(mf)
		if dir != mp[configVol] || cm.str("data", key) == "" {
			t.Errorf("%s reads %s; the ConfigMap (keys %v) is mounted at %s", x.cmd, mf, cm.get("data").keys, mp[configVol])
		}
		if x.cmd == "run" {
			if got, want := flagValue(args, "-shard"), "$(JOB_COMPLETION_INDEX)/"+n; got != want {
				t.Errorf("-shard %q; want %q (completions %s)", got, want, n)
			}
		}
	}
	// The ConfigMap's manifest is valid.
	for _, key := range cm.get("data").keys {
		p := filepath.Join(t.TempDir(), key)
		if err := os.WriteFile(p, []byte(cm.str("data", key)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := manifest.Load(p); err != nil {
			t.Errorf("the ConfigMap's %s: %v", key, err)
		}
	}
}

// TestRecipesParseAsYAML checks the recipes, the action and the GoReleaser
// config with a real YAML parser where python3 has one, and that the
// subset parser the other tests use reads them the same.
func TestRecipesParseAsYAML(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import yaml").Run() != nil {
		t.Skip("no python3 with yaml")
	}
	files := []string{"action.yml", ".goreleaser.yaml", ".github/workflows/release.yml", "examples/ci/github-actions.yml", "examples/k8s/indexed-job.yaml", "examples/k8s/verify-job.yaml"}
	for _, f := range files {
		out, err := exec.Command(py, "-c", "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1]))), default=str))", filepath.Join(repoRoot, f)).CombinedOutput()
		if err != nil {
			t.Errorf("%s is not YAML: %v\n%s", f, err, out)
			continue
		}
		var real []any
		if err := json.Unmarshal(out, &real); err != nil {
			t.Fatal(err)
		}
		mine := loadYAML(t, f)
		if len(mine) != len(real) {
			t.Errorf("%s: %d documents; python3 reads %d", f, len(mine), len(real))
			continue
		}
		for i := range mine {
			if d := yamlDiff(mine[i], real[i], f); d != "" {
				t.Errorf("the subset parser reads %s", d)
			}
		}
	}
}

// yamlDiff compares a subset-parser node with what python3's yaml read.
func yamlDiff(n *yamlNode, v any, at string) string {
	switch v := v.(type) {
	case map[string]any:
		if n.m == nil || len(n.m) != len(v) {
			return fmt.Sprintf("%s as %d keys; want %d", at, len(n.keys), len(v))
		}
		for k, x := range v {
			if k == "true" {
				k = "on" // YAML 1.1 reads the workflow's on: as true
			}
			if d := yamlDiff(n.m[k], x, at+"."+k); d != "" {
				return d
			}
		}
	case []any:
		if len(n.list) != len(v) {
			return fmt.Sprintf("%s as %d items; want %d", at, len(n.list), len(v))
		}
		for i, x := range v {
			if d := yamlDiff(n.list[i], x, fmt.Sprintf("%s[%d]", at, i)); d != "" {
				return d
			}
		}
	default:
		want := fmt.Sprint(v)
		if b, ok := v.(bool); ok {
			want = fmt.Sprint(b)
		}
		if n == nil || n.value != want {
			return fmt.Sprintf("%s as %+v; want %q", at, n, want)
		}
	}
	return ""
}

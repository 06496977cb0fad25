package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recipeCommand returns the bulkdl arguments of the first "bulkdl run"
// command in an example file, cut at shell operators.
func recipeCommand(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", file))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		i := strings.Index(line, "bulkdl run ")
		if i < 0 || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		cmd := line[i+len("bulkdl "):]
		for _, op := range []string{">>", "&&", "|", ";"} {
			if j := strings.Index(cmd, op); j >= 0 {
				cmd = cmd[:j]
			}
		}
		return strings.Fields(cmd)
	}
	t.Fatalf("no bulkdl run command in %s", file)
	return nil
}

// runRecipe runs args with the manifest (the last argument) and relative
// paths placed in dir, as the recipe's working directory.
func runRecipe(t *testing.T, dir, manifest string, args []string, subst map[string]string) (int, string) {
	t.Helper()
	args = append([]string(nil), args...)
	args[len(args)-1] = manifest
	for i, a := range args {
		for k, v := range subst {
			a = strings.ReplaceAll(a, k, v)
		}
		if strings.HasSuffix(a, ".json") && !filepath.IsAbs(a) {
			a = filepath.Join(dir, a)
		}
		args[i] = a
	}
	code, _, stderr := bulkdl(args...)
	return code, stderr
}

func TestCIRecipe(t *testing.T) {
	const secret = "ci-secret-41"
	t.Setenv("MIRROR_TOKEN", secret)
	args := actionCommand(t)
	srv, dir, data := origin(t, 4, 64<<10, "")
	srv.Fault = nil
	// The recipe's manifest, pointed at the loopback origin.
	text, _ := os.ReadFile(filepath.Join(dir, "m.toml"))
	host := strings.TrimPrefix(srv.URL, "http://")
	manifest := filepath.Join(dir, "mirror.toml")
	os.WriteFile(manifest, []byte(strings.Replace(string(text), "[[file]]",
		fmt.Sprintf("[hosts.%q]\nheaders = { Authorization = \"Bearer ${MIRROR_TOKEN}\" }\n\n[[file]]", host), 1)), 0o644)
	code, stderr := runRecipe(t, dir, manifest, args, nil)
	if code != 0 {
		t.Fatalf("%q = %d: %s", args, code, stderr)
	}
	for i, d := range data {
		if got, _ := os.ReadFile(filepath.Join(dir, "out", fmt.Sprintf("f%d.bin", i))); !bytes.Equal(got, d) {
			t.Errorf("f%d.bin differs", i)
		}
	}
	if got := srv.Requests()[0].Header.Get("Authorization"); got != "Bearer "+secret {
		t.Errorf("the token did not reach its host: %q", got)
	}
	report, _ := os.ReadFile(filepath.Join(dir, "bulkdl-report.json"))
	if len(report) == 0 || strings.Contains(string(report)+stderr, secret) {
		t.Errorf("report missing, or the secret leaked into the report or log")
	}
}

func TestKubernetesRecipe(t *testing.T) {
	args := jobArgs(t)
	_, dir, _ := origin(t, 12, 4<<10, "")
	dest := filepath.Join(dir, "shared")
	for k := range 4 {
		code, stderr := runRecipe(t, dir, filepath.Join(dir, "m.toml"), args,
			map[string]string{"$(JOB_COMPLETION_INDEX)": fmt.Sprint(k), "/data": dest})
		if code != 0 {
			t.Fatalf("pod %d: %q = %d: %s", k, args, code, stderr)
		}
	}
	_, verify := jobContainer(t, "examples/k8s/verify-job.yaml", "bulkdl-datasets-verify")
	if code, stderr := runRecipe(t, dir, filepath.Join(dir, "m.toml"), verify.strs("args"), map[string]string{"/data": dest}); code != 0 {
		t.Errorf("the verify Job on the union of the shards = %d: %s", code, stderr)
	}
	// A missing file fails the verify Job.
	os.Remove(filepath.Join(dest, "f3.bin"))
	if code, _ := runRecipe(t, dir, filepath.Join(dir, "m.toml"), verify.strs("args"), map[string]string{"/data": dest}); code != 1 {
		t.Errorf("the verify Job with a file missing = %d; want 1", code)
	}
}

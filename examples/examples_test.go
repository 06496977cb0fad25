// Package examples holds manifests and recipes; its test checks that every
// manifest here is valid.
package examples

import (
	"path/filepath"
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
)

func TestManifestsAreValid(t *testing.T) {
	t.Setenv("RELEASES_TOKEN", "example-token")
	t.Setenv("MIRROR_TOKEN", "example-token")
	files, _ := filepath.Glob("*.toml")
	more, _ := filepath.Glob("*/*.toml")
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no example manifests")
	}
	for _, f := range files {
		if _, err := manifest.Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

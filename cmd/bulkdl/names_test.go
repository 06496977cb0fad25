package main

import (
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl"
	"github.com/bulkdl/bulkdl/state"
)

// TestReservedNamesAgree: the manifest refuses the names that segdl and
// state use in dest; each package declares its own, so they must agree.
func TestReservedNamesAgree(t *testing.T) {
	pairs := []struct{ manifest, user, what string }{
		{manifest.PartSuffix, segdl.PartSuffix, "temporary file suffix"},
		{manifest.JournalSuffix, segdl.JournalSuffix, "journal suffix"},
		{manifest.StateDir, state.Dir, "state directory"},
	}
	for _, p := range pairs {
		if p.manifest != p.user {
			t.Errorf("%s: the manifest reserves %q but %q is used", p.what, p.manifest, p.user)
		}
	}
}

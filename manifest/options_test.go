package manifest

import (
	"strings"
	"testing"
)

func TestUnsetEnvIsAWarningOnlyWhenAsked(t *testing.T) {
	t.Setenv("BULKDL_EMPTY_VAR", "")
	for _, name := range []string{"BULKDL_SURELY_UNSET_VAR", "BULKDL_EMPTY_VAR"} {
		text := "[hosts.\"h.example\"]\nheaders = { Authorization = \"Bearer ${" + name + "}\" }\n[[file]]\nurl = \"https://h.example/a\"\n"
		if _, err := Parse("m.toml", []byte(text)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Parse with %s unset = %v; want an error naming it", name, err)
		}
		m, err := Options{UnsetEnv: true}.Parse("m.toml", []byte(text))
		if err != nil {
			t.Fatalf("Options{UnsetEnv}.Parse with %s unset = %v; want a warning", name, err)
		}
		if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0].Error(), "m.toml:2:") || !strings.Contains(m.Warnings[0].Error(), name) {
			t.Errorf("warnings = %v; want one at m.toml:2 naming %s", m.Warnings, name)
		}
		if len(m.Secrets()) != 0 {
			t.Errorf("secrets = %q; want none", m.Secrets())
		}
	}
}

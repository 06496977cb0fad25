package job

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDefaultNetrcOnWindows: .netrc before _netrc, %HOME% before
// %USERPROFILE%, and a missing file named as curl would look for it.
func TestDefaultNetrcOnWindows(t *testing.T) {
	cases := []struct {
		name  string
		files []string // under "home" or "profile"
		want  string
	}{
		{"none: the first place looked", nil, `home\.netrc`},
		{".netrc in HOME", []string{`home\.netrc`, `home\_netrc`, `profile\.netrc`}, `home\.netrc`},
		{"_netrc in HOME", []string{`home\_netrc`, `profile\.netrc`}, `home\_netrc`},
		{".netrc in USERPROFILE", []string{`profile\.netrc`, `profile\_netrc`}, `profile\.netrc`},
		{"_netrc in USERPROFILE", []string{`profile\_netrc`}, `profile\_netrc`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "home"), 0o755)
			os.Mkdir(filepath.Join(dir, "profile"), 0o755)
			for _, f := range c.files {
				os.WriteFile(filepath.Join(dir, f), []byte("machine h login u password p\n"), 0o600)
			}
			t.Setenv("HOME", filepath.Join(dir, "home"))
			t.Setenv("USERPROFILE", filepath.Join(dir, "profile"))
			got, err := defaultNetrc()
			if want := filepath.Join(dir, c.want); got != want || err != nil {
				t.Errorf("defaultNetrc() = %q, %v; want %q", got, err, want)
			}
		})
	}
	t.Run("HOME unset: USERPROFILE", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "_netrc"), nil, 0o600)
		t.Setenv("HOME", "")
		t.Setenv("USERPROFILE", dir)
		if got, err := defaultNetrc(); got != filepath.Join(dir, "_netrc") || err != nil {
			t.Errorf("defaultNetrc() = %q, %v; want %q", got, err, filepath.Join(dir, "_netrc"))
		}
	})
}

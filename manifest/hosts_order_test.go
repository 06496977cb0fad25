package manifest

import (
	"strings"
	"testing"
)

// Several [hosts] values that are not tables: the error is the same on
// every run, and names the first of them in the document.
func TestHostsDecodeErrorIsDeterministic(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"a first", "[hosts]\na=2\nb=\"9\"\n[[file]]\nurl=\"https://h/b\"\n", `"hosts.a"`},
		{"b first", "[hosts]\nb=\"9\"\na=2\n[[file]]\nurl=\"https://h/b\"\n", `"hosts.b"`},
		{"table between", "[hosts]\nz=1\n[hosts.\"h\"]\nconnections=2\n[hosts.y]\nrate=\"x\"\n[hosts.c]\n[[file]]\nurl=\"https://h/b\"\n", `"hosts.z"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]int{}
			for range 200 {
				_, err := Parse("m.toml", []byte(tt.data))
				if err == nil {
					t.Fatal("Parse succeeded; want an error")
				}
				seen[err.Error()]++
			}
			if len(seen) != 1 {
				t.Fatalf("200 parses gave %d distinct errors: %v", len(seen), seen)
			}
			for msg := range seen {
				if !strings.Contains(msg, tt.want) {
					t.Errorf("error %q does not name %s, the first host in the document that is not a table", msg, tt.want)
				}
			}
		})
	}
}

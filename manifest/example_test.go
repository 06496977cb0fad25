package manifest_test

import (
	"errors"
	"fmt"

	"github.com/bulkdl/bulkdl/manifest"
)

func ExampleParse() {
	m, err := manifest.Parse("mirror.toml", []byte(`
[settings]
dest = "downloads"
connections = 8

[[file]]
url = "https://example.com/data/a.tar.gz"
checksum = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

[[file]]
url = "https://example.com/data/b.tar.gz"
path = "b/b.tar.gz"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Settings.Connections, m.Settings.PerHost)
	for _, f := range m.Files {
		fmt.Println(f.Path, f.Checksum.Algo, f.Size)
	}
	// Output:
	// 8 8
	// a.tar.gz sha256 -1
	// b/b.tar.gz  -1
}

// Errors say where, and what to do: each is a *manifest.Error with the
// file, line and column of the key at fault.
func ExampleParse_errors() {
	_, err := manifest.Parse("m.toml", []byte("[settings]\nconections = 4\n[[file]]\nurl = \"https://example.com/a\"\n"))
	var errs manifest.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Printf("%s:%d:%d: %s\n", e.File, e.Line, e.Col, e.Msg)
		}
	}
	// Output:
	// m.toml:2:1: unknown key "conections" in [settings]; did you mean "connections"?
}

func ExampleHostKey() {
	for _, h := range []string{"Example.COM", "example.com:8443", "[::1]:80", "https://example.com"} {
		key, err := manifest.HostKey(h)
		fmt.Printf("%q %q %v\n", h, key, err)
	}
	// Output:
	// "Example.COM" "example.com" <nil>
	// "example.com:8443" "example.com:8443" <nil>
	// "[::1]:80" "[::1]:80" <nil>
	// "https://example.com" "" a URL or userinfo, not a host
}

func ExampleParseSize() {
	for _, s := range []string{"64KiB", "2MB", "1.5GiB"} {
		n, _ := manifest.ParseSize(s)
		fmt.Println(s, int64(n))
	}
	// Output:
	// 64KiB 65536
	// 2MB 2000000
	// 1.5GiB 1610612736
}

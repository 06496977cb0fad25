package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// The floor is measured against bulkdl as if it kept bulkdl's promises:
// it must, or the table compares bulkdl with something that does less.
func TestFloorPublishesOnlyVerifiedFiles(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	var files []floorFile
	data := map[string][]byte{}
	for i := range 40 {
		name := fmt.Sprintf("f%02d.bin", i)
		d := segdltest.Content(uint64(i), 4096+i*100)
		srv.PutBytes("/"+name, d)
		data[name] = d
		files = append(files, floorFile{sum: sha256.Sum256(d), url: srv.URLOf("/" + name), name: name})
	}
	const lied, cut, missing = "f03.bin", "f07.bin", "f11.bin"
	files[3].sum[0] ^= 1 // the list's checksum is not the served file's
	srv.Fault = func(r *http.Request, _ int64) segdltest.Fault {
		if strings.HasSuffix(r.URL.Path, cut) {
			return segdltest.Fault{Kind: segdltest.Truncate, After: 1000}
		}
		if strings.HasSuffix(r.URL.Path, missing) {
			return segdltest.Fault{Kind: segdltest.Status, Code: http.StatusNotFound}
		}
		return segdltest.Fault{}
	}
	dir := t.TempDir()
	failed, err := runFloor(files, dir, 4, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 3 {
		t.Errorf("%d files failed, want 3 (a wrong checksum, a body cut short, a 404)", failed)
	}
	for name, d := range data {
		got, err := os.ReadFile(filepath.Join(dir, name))
		switch name {
		case lied, cut, missing:
			if err == nil {
				t.Errorf("%s: %d bytes at its path; a file that failed must have none", name, len(got))
			}
		default:
			if !bytes.Equal(got, d) {
				t.Errorf("%s: %d bytes at its path (err %v), want the %d served", name, len(got), err, len(d))
			}
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(data)-3 {
		t.Errorf("%d entries in the directory, want %d: nothing but the verified files", len(ents), len(data)-3)
	}
}

func TestFloorMainExitStatus(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	d := segdltest.Content(1, 5000)
	srv.PutBytes("/a", d)
	dir := t.TempDir()
	list := filepath.Join(dir, "list")
	write := func(s string) {
		if err := os.WriteFile(list, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	write(fmt.Sprintf("%x %s a\n\n", sha256.Sum256(d), srv.URLOf("/a")))
	if got := floorMain([]string{"-list", list, "-out", out}); got != 0 {
		t.Errorf("all verified: exit %d, want 0", got)
	}
	write(fmt.Sprintf("%x %s b\n", sha256.Sum256([]byte("other")), srv.URLOf("/a")))
	if got := floorMain([]string{"-list", list, "-out", out}); got != 1 {
		t.Errorf("a wrong checksum: exit %d, want 1", got)
	}
	write("not a line\n")
	if got := floorMain([]string{"-list", list, "-out", out}); got != 2 {
		t.Errorf("a bad list: exit %d, want 2", got)
	}
}

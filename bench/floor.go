package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// The floor is a reference row of the many-file scenarios: a minimal Go
// client that does per file only what bulkdl promises, and nothing else.
// Per file: a GET on a kept-alive connection (net/http, bulkdl's
// transport settings), the body written into a file without a name, its
// size checked and its bytes read back and checked against the sha256;
// then, for each batch of verified files (one batch at a time, the next
// gathering meanwhile), one flush of the file system, their names, and
// one fsync of the directory. Like bulkdl it grows its descriptor table
// before it starts (segdl.ReserveDescriptors). It has no manifest to
// check, no budget per host, no retries, stall timeouts, resume, state
// log, report or display. bulkdl's time over the floor's is what its own
// work per file costs; the floor's over that of curl followed by sync -f
// (the other reference row) is what publishing only complete, verified
// files adds to making them durable.
//
// The bench binary runs it when its first argument is "floor":
//
//	bench floor -c 16 -list LIST -out DIR
//
// LIST has one line per file: its sha256 in hex, its URL and its name in
// DIR, separated by spaces. The exit status is 1 if a file failed.

// floorFile is one line of a floor list.
type floorFile struct {
	sum       [32]byte
	url, name string
}

// errFloorLine is a list line that is not "SHA256 URL NAME".
var errFloorLine = errors.New("want: sha256 (hex) URL NAME")

// parseFloorLine parses one line of a floor list.
func parseFloorLine(line string) (floorFile, error) {
	var f floorFile
	fields := strings.Fields(line)
	if len(fields) != 3 {
		return f, errFloorLine
	}
	b, err := hex.DecodeString(fields[0])
	if err != nil || len(b) != len(f.sum) {
		return f, errFloorLine
	}
	name := fields[2]
	if name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return f, errFloorLine
	}
	copy(f.sum[:], b)
	f.url, f.name = fields[1], name
	return f, nil
}

func readFloorList(path string) ([]floorFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var files []floorFile
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		f, err := parseFloorLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		files = append(files, f)
	}
	return files, sc.Err()
}

// floorMain runs the floor on args (after "floor") and returns the exit
// status.
func floorMain(args []string) int {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	list := fs.String("list", "", "the files: one `SHA256 URL NAME` per line")
	out := fs.String("out", "", "the directory to write them into")
	conns := fs.Int("c", 16, "connections")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list == "" || *out == "" || *conns < 1 {
		fmt.Fprintln(os.Stderr, "bench floor: -list and -out are required, -c at least 1")
		return 2
	}
	files, err := readFloorList(*list)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench floor: %v\n", err)
		return 2
	}
	failed, err := runFloor(files, *out, *conns, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench floor: "+format+"\n", args...)
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench floor: %v\n", err)
		return 1
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "bench floor: %d file(s) failed\n", failed)
		return 1
	}
	return 0
}

// floorClient is bulkdl's transport for plain HTTP, as job/transport.go
// sets it up.
func floorClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:           conns,
		MaxIdleConnsPerHost:    conns,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
		ReadBufferSize:         64 << 10,
		WriteBufferSize:        16 << 10,
	}}
}

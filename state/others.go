package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// Logs returns the names of the state logs in the destination, as Open
// and Read take them: "" for the log of a run of the whole manifest,
// "shard-K-of-N" for each shard's, of every split that ever wrote there.
// It takes no lock.
func Logs(root *os.Root) ([]string, error) {
	d, err := OpenDir(root, Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		switch {
		case n == "state.jsonl":
			names = append(names, "")
		case strings.HasPrefix(n, "state-") && strings.HasSuffix(n, ".jsonl"):
			name := strings.TrimSuffix(strings.TrimPrefix(n, "state-"), ".jsonl")
			if _, _, ok := parseShardName(name); ok {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// ShardOf parses a log name as Logs returns it: shard k of a split n
// ways, or n == 0 for the log of a run of the whole manifest.
func ShardOf(name string) (k, n int, ok bool) {
	if name == "" {
		return 0, 0, true
	}
	return parseShardName(name)
}

// ReadPaths is Read keeping only the records of the paths keep accepts,
// so that reading another run's log costs memory for the records wanted
// and not for the whole log. Like Read, it takes no lock and writes
// nothing: a line its writer is appending at that moment is torn, does
// not parse and is skipped.
func ReadPaths(root *os.Root, name string, keep func(p string) bool) (*Store, error) {
	s := &Store{root: root, records: map[string]Record{}, logName: logFile(name), readOnly: true, keep: keep}
	if _, _, err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// logFile is the file name, under root, of the log named name.
func logFile(name string) string {
	if name == "" {
		return Dir + "/state.jsonl"
	}
	return Dir + "/state-" + name + ".jsonl"
}

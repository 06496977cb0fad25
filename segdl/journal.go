package segdl

import (
	"encoding/json"
	"errors"
	"io"
	"os"

	dest "github.com/bulkdl/bulkdl/state"
)

// journal is the resume state kept beside a temporary file. It is written
// only after the data it describes was synced, and replaced atomically.
// It names the URL by its digest: the journal lives in dest, where anyone
// who reads dest finds it, and a URL may carry a password or a signed
// query.
type journal struct {
	Version      int        `json:"version"`
	URL          string     `json:"url_sha256"` // dest.URLDigest of the source URL
	Size         int64      `json:"size"`
	ETag         string     `json:"etag,omitempty"` // as the server sent it, weak or strong
	LastModified string     `json:"last_modified,omitempty"`
	Done         [][2]int64 `json:"done"`
}

// journalVersion 2 keeps the URL's digest; version 1 journals kept the URL
// and are not resumed.
const journalVersion = 2

const maxJournal = 1 << 20

func readJournal(root *os.Root, name string) (*journal, error) {
	f, err := dest.OpenRegular(root, name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJournal+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJournal {
		return nil, errors.New("journal too large")
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// matches reports whether j describes spec's file from its first URL and
// a temporary file of partSize bytes: anything else is foreign or corrupt
// and never resumed. Bytes are only resumed under a strong ETag or a
// Last-Modified date, which If-Range can confirm.
func (j *journal) matches(spec Spec, partSize int64) bool {
	if j.Version != journalVersion || len(spec.URLs) == 0 || j.URL != dest.URLDigest(spec.URLs[0]) || j.Size <= 0 || partSize != j.Size {
		return false
	}
	if spec.Size >= 0 && spec.Size != j.Size {
		return false
	}
	if strongETag(j.ETag) == "" && j.LastModified == "" {
		return false
	}
	at := int64(0)
	for _, r := range j.Done {
		if r[0] < at || r[0] >= r[1] || r[1] > j.Size {
			return false
		}
		at = r[1]
	}
	return true
}

// writeJournal replaces the journal atomically (dest.WriteFile).
func writeJournal(root *os.Root, name string, j *journal) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return dest.WriteFile(root, name, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

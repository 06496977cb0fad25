package state

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/bulkdl/bulkdl/internal/robustio"
)

// WriteFile replaces the file name under root with what write writes, so
// that after a crash name holds its old content or all of the new, never a
// part: the bytes go to name+TmpSuffix, which is synced, renamed over name
// (robustio.Rename, which outlasts Windows' transient refusals), and then
// name's directory is synced to make the rename durable (SyncDir). On a
// failure before the rename the temporary file is removed and name is
// untouched; if syncing the directory fails, name already holds the new
// content, perhaps not durably. It is the
// one atomic write of bulkdl: the report, the resume journal and the state
// log's compaction use it.
func WriteFile(root *os.Root, name string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	tmp := name + TmpSuffix
	f, err := OpenRegular(root, tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			root.Remove(tmp) // the error says what went wrong; this is cleanup
		}
	}()
	w := bufio.NewWriterSize(f, 64<<10)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		// The mode perm asks for, whatever the umask: a report is read by
		// others, a journal is not.
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := robustio.Rename(root, tmp, name); err != nil {
		return err
	}
	if err := SyncDir(root, path.Dir(name)); err != nil {
		return fmt.Errorf("syncing the directory of %s: %w", name, err)
	}
	return nil
}

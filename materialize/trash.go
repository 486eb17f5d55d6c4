package materialize

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// trash removes retired versions off the refresh's path. Removing a
// version's files one by one takes about as long per file as the ext4
// journal makes it (0.2 to 0.3 s for 30 files here), which a REFRESH that
// retires the previous version used to wait for. Retiring now moves the
// version's directory out of objects/ with one rename, so that objects/
// holds only what the catalog references as soon as the retiring
// statement ends, and removes it in the background. A crash in between
// leaves the directory in trash/, which Recover empties at start.
type trash struct {
	dir, objects string
	log          *slog.Logger
	n            atomic.Int64
	wg           sync.WaitGroup
}

// remove moves path into the trash and removes it in the background; a
// path outside objects/ (or that cannot be moved) is removed at once.
func (t *trash) remove(path string) error {
	rel, err := filepath.Rel(t.objects, path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return os.RemoveAll(path)
	}
	dst := filepath.Join(t.dir, strconv.FormatInt(t.n.Add(1), 10)+"-"+strings.ReplaceAll(rel, string(filepath.Separator), "-"))
	if err := os.Rename(path, dst); err != nil {
		return os.RemoveAll(path) // gone already (nil), or trash/ missing
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		if err := os.RemoveAll(dst); err != nil {
			t.log.Warn("removing a retired version", "path", dst, "err", err)
		}
	}()
	return nil
}

// wait returns once every removal started so far has ended.
func (t *trash) wait() { t.wg.Wait() }

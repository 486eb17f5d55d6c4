package files

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// File is one file matched by a source's glob, as a pipeline identifies it.
type File struct {
	Path    string
	Size    int64
	MTime   time.Time
	Version string // object storage: the ETag; "" for local files
}

// List returns the regular files matching the scan's path or glob, sorted
// by path. Each path segment may use filepath.Match's `*`, `?` and `[...]`;
// a segment `**` matches any number of directories (zero included). A
// pattern without meta characters names one file. Missing directories match
// nothing.
func (s *Scan) List() ([]File, error) {
	if IsRemote(s.Path) && s.Remote != nil {
		return s.listRemote()
	}
	return Glob(s.Path)
}

// Glob lists the regular files matching an absolute pattern (see List).
func Glob(pattern string) ([]File, error) {
	pattern = filepath.Clean(pattern)
	segs := strings.Split(pattern, string(filepath.Separator))
	// The root is the longest prefix of segments without meta characters.
	i := 0
	for i < len(segs)-1 && !hasMeta(segs[i]) {
		i++
	}
	root := strings.Join(segs[:i], string(filepath.Separator))
	if root == "" {
		root = string(filepath.Separator)
	}
	var out []File
	seen := map[string]bool{}
	if err := walk(root, segs[i:], &out, seen); err != nil {
		return nil, err
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out, nil
}

func hasMeta(seg string) bool { return strings.ContainsAny(seg, `*?[\`) }

// walk matches segs against the entries below dir.
func walk(dir string, segs []string, out *[]File, seen map[string]bool) error {
	if len(segs) == 0 {
		return nil
	}
	seg, rest := segs[0], segs[1:]
	if seg == "**" {
		if len(rest) == 0 {
			rest = []string{"*"} // a trailing ** matches every file below
		}
		// Zero directories, then one more level with ** still to match.
		if err := walk(dir, rest, out, seen); err != nil {
			return err
		}
		entries, err := readDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() {
				if err := walk(filepath.Join(dir, e.Name()), segs, out, seen); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if !hasMeta(seg) {
		return visit(filepath.Join(dir, seg), rest, out, seen)
	}
	entries, err := readDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		ok, err := filepath.Match(seg, e.Name())
		if err != nil {
			return err
		}
		if ok {
			if err := visit(filepath.Join(dir, e.Name()), rest, out, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// visit adds path when it is the end of the pattern and a regular file, or
// descends into it when segments remain and it is a directory.
func visit(path string, rest []string, out *[]File, seen map[string]bool) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		if fi.IsDir() {
			return walk(path, rest, out, seen)
		}
		return nil
	}
	if fi.Mode().IsRegular() && !seen[path] {
		seen[path] = true
		*out = append(*out, File{Path: path, Size: fi.Size(), MTime: fi.ModTime()})
	}
	return nil
}

func readDir(dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return nil, nil
	}
	return entries, err
}

// FilesSQL is the DuckDB table expression that scans exactly the given
// files with the source's options.
func (s *Scan) FilesSQL(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = quote(p)
	}
	return s.scanSQL("[" + strings.Join(q, ", ") + "]")
}

package access

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Roots is the file sandbox: user SQL reaches files only under the
// configured file roots, and never inside the data directory (nor the
// spill and cache directories), whose files only Sluice's own objects
// read. DuckDB enforces the roots itself (allowed_directories with
// enable_external_access off, see internal/engine); Roots gives the same
// answer earlier, with the path in the message, and refuses the
// protected directories, which DuckDB must be able to read for Sluice.
type Roots struct {
	// Base resolves relative paths, as DuckDB does (the process's working
	// directory).
	Base string
	// Allowed are the file roots (absolute).
	Allowed []string
	// Protected are the directories no user path may reach: the data
	// directory, the spill directory, the object storage cache.
	Protected []string
}

// NewRoots returns the sandbox; paths are made absolute against base.
func NewRoots(base string, allowed, protected []string) *Roots {
	r := &Roots{Base: base}
	for _, a := range allowed {
		r.Allowed = append(r.Allowed, resolve(base, a))
	}
	for _, p := range protected {
		if p != "" {
			r.Protected = append(r.Protected, resolve(base, p))
		}
	}
	return r
}

// resolve makes p absolute and clean, with symbolic links of its
// existing leading part followed (DuckDB opens what they point to).
func resolve(base, p string) string {
	if strings.HasPrefix(p, "~") {
		if home, err := os.UserHomeDir(); err == nil {
			p = home + p[1:]
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	p = filepath.Clean(p)
	// Follow the links of the longest existing prefix.
	rest := ""
	for cur := p; ; {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

// globChars are the characters that make a path a glob for DuckDB.
const globChars = "*?["

// Check refuses (42501) a path a statement names to read or write when it
// leaves the file roots or may reach a protected directory. A glob is
// judged by what it may match: its fixed leading directory must be inside
// a root, and no protected directory may match it.
func (r *Roots) Check(p string) error {
	if r == nil {
		return nil
	}
	orig := p
	p = strings.TrimPrefix(p, "file://")
	if i := strings.Index(p, "://"); i > 0 && !strings.ContainsAny(p[:i], "/"+globChars) {
		// Another file system (s3://, https://): DuckDB has none here.
		return nil
	}
	fixed, pattern := splitGlob(p)
	dir := resolve(r.Base, fixed)
	if !r.inRoots(dir) {
		e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for file %q: it is outside the gateway's file roots", orig)
		e.Hint = "An administrator sets the file roots (file_roots in the configuration)."
		return e
	}
	for _, prot := range r.Protected {
		if within(dir, prot) || pattern != "" && globMayReach(dir, pattern, prot) {
			e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for file %q: it is inside the gateway's data directory", orig)
			e.Hint = "Only Sluice's own objects read the data directory: query the source, materialized view or pipeline instead."
			return e
		}
	}
	return nil
}

// CheckWrite is Check for a path a statement writes, which must also not
// hold a protected directory: COPY ... (OVERWRITE) empties its target.
func (r *Roots) CheckWrite(p string) error {
	if err := r.Check(p); err != nil || r == nil {
		return err
	}
	fixed, _ := splitGlob(strings.TrimPrefix(p, "file://"))
	dir := resolve(r.Base, fixed)
	for _, prot := range r.Protected {
		if within(prot, dir) {
			e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for file %q: it holds the gateway's data directory", p)
			e.Hint = "Write into a directory of its own inside the file roots."
			return e
		}
	}
	return nil
}

func (r *Roots) inRoots(p string) bool {
	for _, a := range r.Allowed {
		if within(p, a) {
			return true
		}
	}
	return false
}

// splitGlob splits a path into its leading directories without glob
// characters and the rest ("" when the path is no glob).
func splitGlob(p string) (fixed, pattern string) {
	i := strings.IndexAny(p, globChars)
	if i < 0 {
		return p, ""
	}
	j := strings.LastIndexByte(p[:i], '/')
	if j < 0 {
		return ".", p
	}
	if j == 0 {
		return "/", p[1:]
	}
	return p[:j], p[j+1:]
}

// globMayReach reports whether pattern, below dir, may match prot or a
// path inside it. Each segment of prot below dir is matched against the
// pattern's segment at the same depth; "**" matches any depth.
func globMayReach(dir, pattern, prot string) bool {
	if !within(prot, dir) {
		return false
	}
	rel, err := filepath.Rel(dir, prot)
	if err != nil {
		return true
	}
	segs := strings.Split(filepath.ToSlash(rel), "/")
	pat := strings.Split(pattern, "/")
	for i, seg := range segs {
		if i >= len(pat) {
			return false // the glob stops above prot
		}
		if pat[i] == "**" {
			return true
		}
		if ok, err := path.Match(pat[i], seg); err != nil || !ok {
			return err != nil
		}
	}
	return true // the glob reaches prot itself, or inside it
}

// ReadFile checks that role may read server files by these paths:
// superusers and members of pg_read_server_files, inside the file roots.
func (c *Checker) ReadFile(role, what string, paths []string) error {
	return c.readFile(role, what, paths)
}

func (c *Checker) readFile(role, what string, paths []string) error {
	if !c.snap.HasPrivsOf(role, ReadServerFiles) {
		e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to read server files (%s)", what)
		e.Detail = fmt.Sprintf("Only superusers and roles with the privileges of %s may read files on the server.", ReadServerFiles)
		return e
	}
	for _, p := range paths {
		if err := c.roots.Check(p); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile checks that role may write a server file (COPY ... TO 'path',
// EXPORT DATABASE): superusers and members of pg_write_server_files,
// inside the file roots, and not above the data directory.
func (c *Checker) WriteFile(role, what, path string) error {
	if !c.snap.HasPrivsOf(role, WriteServerFiles) {
		e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to write server files (%s)", what)
		e.Detail = fmt.Sprintf("Only superusers and roles with the privileges of %s may write files on the server.", WriteServerFiles)
		return e
	}
	return c.roots.CheckWrite(path)
}

package materialize

import (
	"os"
	"path/filepath"
	"testing"
)

// A retired version leaves objects/ as soon as it is retired (one rename),
// and its files are gone once the background removal ends; a path outside
// objects/ is removed at once.
func TestRetireMovesVersionsOutAtOnce(t *testing.T) {
	data := t.TempDir()
	m := New(Options{DataDir: data})
	if err := os.MkdirAll(m.trashRoot(), 0o755); err != nil {
		t.Fatal(err)
	}
	v1 := m.VersionPath(7, 1)
	for _, p := range []string{"day=2024-11-01/part_0.parquet", "day=2024-11-02/part_0.parquet"} {
		writeFile(t, filepath.Join(v1, p))
	}
	other := filepath.Join(data, "elsewhere")
	writeFile(t, filepath.Join(other, "x"))

	m.Readers.Retire(v1, other)
	if _, err := os.Stat(v1); !os.IsNotExist(err) {
		t.Fatalf("v1 still under objects/ after its retirement: %v", err)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatalf("a path outside objects/ was not removed at once: %v", err)
	}
	m.Wait()
	left, err := os.ReadDir(m.trashRoot())
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("trash still holds %v after Wait", left)
	}
	// Already gone (a second retirement of the same path): no error, nothing to do.
	m.Readers.Retire(v1)
	m.Wait()
}

// Without a trash directory (Recover not run) retiring removes at once.
func TestRetireWithoutTrashRemovesAtOnce(t *testing.T) {
	m := New(Options{DataDir: t.TempDir()})
	v1 := m.VersionPath(7, 1)
	writeFile(t, filepath.Join(v1, "part_0.parquet"))
	m.Readers.Retire(v1)
	if _, err := os.Stat(v1); !os.IsNotExist(err) {
		t.Fatalf("v1 not removed: %v", err)
	}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A refresh moves the version it retires out of objects/ before it
// returns; a removal interrupted by a crash (left in trash/) is finished by
// Recover.
func TestRefreshRetiresIntoTrashAndRecoverEmptiesIt(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	v := h.view(t, "nums", "SELECT range AS n, range % 3 AS k FROM range(100)", []string{"k"}, nil)
	if _, err := h.mat.Refresh(ctx, v, "create", nil); err != nil {
		t.Fatal(err)
	}
	first, err := h.cat.GetView(ctx, v.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.mat.Refresh(ctx, v, "manual", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(first.VersionPath); !os.IsNotExist(err) {
		t.Fatalf("the retired version %s is still in objects/: %v", first.VersionPath, err)
	}
	var n int64
	if err := h.db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM main.nums").Scan(&n); err != nil || n != 100 {
		t.Fatalf("view after the second refresh: %d rows, %v", n, err)
	}
	h.mat.Wait()

	writeFile(t, filepath.Join(h.mat.trashRoot(), "9-7-v1", "k=0", "part_0.parquet"))
	if err := h.mat.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(h.mat.trashRoot()); err != nil || len(left) != 0 {
		t.Fatalf("trash after Recover: %v, %v", left, err)
	}
}

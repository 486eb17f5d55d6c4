//go:build duckdb_arrow

package catalog

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgerr"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	db, err := engine.Open(context.Background(), engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(context.Background(), db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestViewRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	v := View{ID: 7, Ref: Ref{"public", "v"}, Query: "SELECT 1 AS x, 2 AS y", PartitionBy: []string{"x"},
		Options: map[string]string{"compression": "snappy", "target_file_size": "1048576"}, Refresh: "manual", Status: "empty"}
	if err := s.CreateView(ctx, v, nil, "SELECT 1 AS x, 2 AS y WHERE false"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetView(ctx, v.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Options, v.Options) || !reflect.DeepEqual(got.PartitionBy, v.PartitionBy) || got.Query != v.Query {
		t.Errorf("got %+v, want %+v", got, v)
	}
	gen := s.Generation()
	if _, err := s.Drop(ctx, []Dependency{{Object: v.Ref, ObjectKind: KindMaterializedView}}); err != nil {
		t.Fatal(err)
	}
	if s.Generation() == gen {
		t.Error("a committed change must move the generation")
	}
	if _, ok, _ := s.Lookup(ctx, v.Ref); ok {
		t.Error("dropped view still found")
	}
}

// A failed run keeps its error's SQLSTATE beside the message (XX000 when
// the error carries none); a run a crash interrupted gets 57P02.
func TestFailedRunSQLState(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	sqlstate := func(id int64) string {
		var code string
		if err := s.db.QueryRowContext(ctx, `SELECT sqlstate FROM sluice_catalog.runs WHERE run_id = $1`, id).Scan(&code); err != nil {
			t.Fatal(err)
		}
		return code
	}
	var runs []*Run
	for range 3 {
		r := &Run{Object: Ref{"public", "v"}, ObjectID: 7, Trigger: "manual", Attempt: 1}
		if err := s.BeginRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	if err := s.FailRun(ctx, runs[0], pgerr.New("23514", "violates constraint")); err != nil {
		t.Fatal(err)
	}
	if err := s.FailRun(ctx, runs[1], errors.New("no code")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"23514", "XX000", "57P02"} {
		if got := sqlstate(runs[i].ID); got != want {
			t.Errorf("run %d: sqlstate %q, want %q", i, got, want)
		}
	}
}

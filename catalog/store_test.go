//go:build duckdb_arrow

package catalog

import (
	"context"
	"reflect"
	"testing"

	"github.com/sluice-db/sluice/internal/engine"
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

package materialize

import (
	"slices"
	"testing"
)

func TestReadersKeepRetiredPathsWhileOlderReadersRun(t *testing.T) {
	var removed []string
	r := NewReaders()
	r.remove = func(p string) error { removed = append(removed, p); return nil }

	before := r.Enter() // a statement that may read v1
	r.Retire("v1")      // v2 is published: v1 is retired
	if len(removed) != 0 {
		t.Fatalf("removed %v while a reader that started before the retirement runs", removed)
	}
	after := r.Enter() // starts after: reads v2 only
	r.Leave(before)
	if !slices.Equal(removed, []string{"v1"}) {
		t.Fatalf("removed %v, want [v1] once the older reader left", removed)
	}
	r.Retire("v2") // v3 published while `after` still runs
	if len(removed) != 1 {
		t.Fatalf("removed %v: v2 is still readable by a running reader", removed)
	}
	r.Leave(after)
	if !slices.Equal(removed, []string{"v1", "v2"}) {
		t.Fatalf("removed %v, want [v1 v2]", removed)
	}
	r.Retire("v3") // no readers: removed at once
	if !slices.Equal(removed, []string{"v1", "v2", "v3"}) {
		t.Fatalf("removed %v, want v3 removed at once", removed)
	}
}

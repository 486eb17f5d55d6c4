package status

import (
	"fmt"
	"testing"
)

func nodes(ids ...string) []*graphNode {
	out := make([]*graphNode, len(ids))
	for i, id := range ids {
		out[i] = &graphNode{ID: id, Kind: "materialized view"}
	}
	return out
}

func edges(pairs ...string) []graphEdge {
	var out []graphEdge
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, graphEdge{From: pairs[i], To: pairs[i+1]})
	}
	return out
}

func byID(g *graph) map[string]*graphNode {
	m := map[string]*graphNode{}
	for _, n := range g.Nodes {
		m[n.ID] = n
	}
	return m
}

// A node's layer is the longest path reaching it, so every edge points
// right: c reads a directly and through b, and sits after b.
func TestLayoutLongestPath(t *testing.T) {
	g := layoutGraph(nodes("a", "b", "c", "d"), edges("a", "b", "b", "c", "a", "c", "d", "c"))
	n := byID(g)
	for id, want := range map[string]int{"a": 0, "d": 0, "b": 1, "c": 2} {
		if n[id].layer != want {
			t.Errorf("%s: layer %d, want %d", id, n[id].layer, want)
		}
	}
	for _, e := range g.Edges {
		if n[e.From].X >= n[e.To].X {
			t.Errorf("edge %s -> %s points left", e.From, e.To)
		}
	}
	if len(g.Edges) != 4 {
		t.Fatalf("edges: %v", g.Edges)
	}
}

// Boxes never overlap, the drawing holds them all, and every edge leaves
// the right side of its source's box and reaches the left of its target's.
func TestLayoutGeometry(t *testing.T) {
	var ids []string
	var es []string
	for i := range 12 {
		ids = append(ids, fmt.Sprintf("n%02d", i))
		if i >= 3 {
			es = append(es, fmt.Sprintf("n%02d", i%3), fmt.Sprintf("n%02d", i))
		}
		if i >= 6 {
			es = append(es, fmt.Sprintf("n%02d", i-3), fmt.Sprintf("n%02d", i))
		}
	}
	g := layoutGraph(nodes(ids...), edges(es...))
	for i, a := range g.Nodes {
		if a.X < 0 || a.Y < 0 || a.X+nodeW > g.Width || a.Y+nodeH > g.Height {
			t.Errorf("%s at (%d,%d) outside %dx%d", a.ID, a.X, a.Y, g.Width, g.Height)
		}
		for _, b := range g.Nodes[i+1:] {
			if a.X < b.X+nodeW && b.X < a.X+nodeW && a.Y < b.Y+nodeH && b.Y < a.Y+nodeH {
				t.Errorf("%s and %s overlap", a.ID, b.ID)
			}
		}
	}
	n := byID(g)
	for _, e := range g.Edges {
		want := fmt.Sprintf("M%d %d ", n[e.From].X+nodeW, n[e.From].Y+nodeH/2)
		if len(e.D) < len(want) || e.D[:len(want)] != want {
			t.Errorf("edge %s -> %s: path %q does not start at %q", e.From, e.To, e.D, want)
		}
	}
}

// The barycentre ordering untangles two chains drawn crossed by name.
func TestLayoutUncrosses(t *testing.T) {
	// By name the second layer would be x1 (fed by b), x2 (fed by a):
	// one crossing, which the ordering removes.
	ns := nodes("a", "b", "x1", "x2")
	g := layoutGraph(ns, edges("a", "x2", "b", "x1"))
	if c := crossings(g, byID(g)); c != 0 {
		t.Fatalf("%d crossings", c)
	}
}

// A cycle (lineage never has one) does not loop or lose nodes; unknown
// endpoints, self-loops and duplicate edges are dropped; the same graph is
// drawn the same way every time.
func TestLayoutDegenerate(t *testing.T) {
	g := layoutGraph(nodes("a", "b", "c"), edges("a", "b", "b", "c", "c", "b", "a", "zz", "a", "a", "a", "b"))
	if len(g.Nodes) != 3 {
		t.Fatalf("nodes: %d", len(g.Nodes))
	}
	if len(g.Edges) != 3 {
		t.Fatalf("edges kept: %v", g.Edges)
	}
	first := fmt.Sprint(drawing(g))
	for range 5 {
		if again := fmt.Sprint(drawing(layoutGraph(nodes("a", "b", "c"), edges("a", "b", "b", "c", "c", "b")))); again != first {
			t.Fatalf("not deterministic:\n%s\n%s", first, again)
		}
	}
	if g := layoutGraph(nil, nil); len(g.Nodes) != 0 || g.Width != 0 {
		t.Fatalf("empty graph: %+v", g)
	}
}

func drawing(g *graph) []string {
	var out []string
	for _, n := range g.Nodes {
		out = append(out, fmt.Sprintf("%s@%d,%d", n.ID, n.X, n.Y))
	}
	return out
}

// Sources come first in their layer, and names are cut to fit a box.
func TestLayoutOrderAndLabels(t *testing.T) {
	ns := []*graphNode{{ID: "public.zzz", Kind: "source"}, {ID: "public.aaa", Kind: "table"}}
	g := layoutGraph(ns, nil)
	if g.Nodes[0].ID != "public.zzz" {
		t.Fatalf("order: %v", drawing(g))
	}
	if got := cut("a_rather_long_materialized_view_name", labelCh); len([]rune(got)) != labelCh || got[len(got)-3:] != "…" {
		t.Fatalf("cut: %q", got)
	}
	if got := cut("short", labelCh); got != "short" {
		t.Fatalf("cut: %q", got)
	}
}

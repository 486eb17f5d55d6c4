package status

import (
	"fmt"
	"sort"
	"strings"
)

// The dependency graph is drawn server-side as SVG with a layered layout
// (Sugiyama's, much reduced): a node's layer is the longest path to it from
// a node nothing feeds (a source, a table), so every edge points right;
// within a layer nodes are ordered by the mean position of their
// neighbours, sweeping right then left a few times, which removes most
// crossings of a pipeline graph; then boxes get coordinates and edges
// become cubic curves from the right side of one box to the left of the
// other.

// Geometry of the drawing, in SVG user units (pixels at 100%).
const (
	nodeW   = 190
	nodeH   = 46
	gapX    = 70
	gapY    = 18
	margin  = 12
	sweeps  = 4
	labelCh = 24 // characters of a name that fit in a box
)

// graphNode is one box: an object, or a relation an object reads.
type graphNode struct {
	ID      string // schema.name, unique
	Label   string // what the box says (the name, cut to fit)
	Title   string // the full name, shown on hover
	Kind    string // source, materialized view, pipeline, table, view
	Status  string // the class of its colour: fresh, active, empty, failed, suspended, source, other
	Detail  string // the second line: kind and status
	Href    string // its page, "" for relations that have none
	Running bool

	layer, order int
	X, Y         int
}

// graphEdge is a dependency: From is read by To.
type graphEdge struct {
	From, To string
	D        string // the SVG path
}

// graph is a laid-out drawing.
type graph struct {
	Nodes         []*graphNode
	Edges         []graphEdge
	Width, Height int
}

// layoutGraph places nodes and routes edges. Edges naming a node that is
// not in nodes are dropped; nodes keep their identity (the same pointers,
// with coordinates set), in drawing order.
func layoutGraph(nodes []*graphNode, edges []graphEdge) *graph {
	byID := make(map[string]*graphNode, len(nodes))
	for _, n := range nodes {
		byID[n.ID] = n
	}
	var kept []graphEdge
	seen := map[[2]string]bool{}
	for _, e := range edges {
		k := [2]string{e.From, e.To}
		if byID[e.From] == nil || byID[e.To] == nil || e.From == e.To || seen[k] {
			continue
		}
		seen[k] = true
		kept = append(kept, e)
	}
	assignLayers(nodes, kept, byID)
	layers := orderLayers(nodes, kept, byID)

	g := &graph{Nodes: make([]*graphNode, 0, len(nodes))}
	tallest := 0
	for _, l := range layers {
		tallest = max(tallest, len(l))
	}
	for li, l := range layers {
		// Layers shorter than the tallest are centred on it.
		offset := (tallest - len(l)) * (nodeH + gapY) / 2
		for i, n := range l {
			n.X = margin + li*(nodeW+gapX)
			n.Y = margin + offset + i*(nodeH+gapY)
			g.Nodes = append(g.Nodes, n)
		}
	}
	for _, e := range kept {
		a, b := byID[e.From], byID[e.To]
		x1, y1 := a.X+nodeW, a.Y+nodeH/2
		x2, y2 := b.X, b.Y+nodeH/2
		mx := (x1 + x2) / 2
		e.D = fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", x1, y1, mx, y1, mx, y2, x2-6, y2)
		g.Edges = append(g.Edges, e)
	}
	if len(layers) > 0 {
		g.Width = 2*margin + len(layers)*nodeW + (len(layers)-1)*gapX
		g.Height = 2*margin + tallest*nodeH + (tallest-1)*gapY
	}
	return g
}

// assignLayers sets each node's layer to the longest path reaching it
// (Kahn's topological order). Nodes on a cycle, which lineage should never
// have, go one layer past the rest rather than looping.
func assignLayers(nodes []*graphNode, edges []graphEdge, byID map[string]*graphNode) {
	indeg := make(map[string]int, len(nodes))
	out := make(map[string][]string, len(nodes))
	for _, e := range edges {
		indeg[e.To]++
		out[e.From] = append(out[e.From], e.To)
	}
	var queue []string
	for _, n := range sortedNodes(nodes) {
		n.layer = 0
		if indeg[n.ID] == 0 {
			queue = append(queue, n.ID)
		}
	}
	done := 0
	deepest := 0
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		done++
		n := byID[id]
		deepest = max(deepest, n.layer)
		for _, to := range out[id] {
			m := byID[to]
			m.layer = max(m.layer, n.layer+1)
			if indeg[to]--; indeg[to] == 0 {
				queue = append(queue, to)
			}
		}
	}
	if done < len(nodes) {
		for _, n := range nodes {
			if indeg[n.ID] > 0 {
				n.layer = deepest + 1
			}
		}
	}
}

// orderLayers groups nodes by layer and orders each by the barycentre
// heuristic; ties keep the previous order, which starts by kind and name,
// so a drawing is the same every time for the same graph.
func orderLayers(nodes []*graphNode, edges []graphEdge, byID map[string]*graphNode) [][]*graphNode {
	depth := 0
	for _, n := range nodes {
		depth = max(depth, n.layer+1)
	}
	layers := make([][]*graphNode, depth)
	for _, n := range sortedNodes(nodes) {
		layers[n.layer] = append(layers[n.layer], n)
	}
	renumber := func(l []*graphNode) {
		for i, n := range l {
			n.order = i
		}
	}
	for _, l := range layers {
		renumber(l)
	}
	in := map[string][]string{}
	out := map[string][]string{}
	for _, e := range edges {
		in[e.To] = append(in[e.To], e.From)
		out[e.From] = append(out[e.From], e.To)
	}
	bary := func(n *graphNode, nbrs []string) float64 {
		if len(nbrs) == 0 {
			return float64(n.order)
		}
		sum := 0.0
		for _, id := range nbrs {
			sum += float64(byID[id].order)
		}
		return sum / float64(len(nbrs))
	}
	sortLayer := func(l []*graphNode, nbrs map[string][]string) {
		keys := make(map[*graphNode]float64, len(l))
		for _, n := range l {
			keys[n] = bary(n, nbrs[n.ID])
		}
		sort.SliceStable(l, func(i, j int) bool { return keys[l[i]] < keys[l[j]] })
		renumber(l)
	}
	for s := 0; s < sweeps; s++ {
		for i := 1; i < len(layers); i++ {
			sortLayer(layers[i], in)
		}
		for i := len(layers) - 2; i >= 0; i-- {
			sortLayer(layers[i], out)
		}
	}
	return layers
}

// sortedNodes is nodes by kind (sources first) and name.
func sortedNodes(nodes []*graphNode) []*graphNode {
	s := append([]*graphNode(nil), nodes...)
	rank := map[string]int{"source": 0, "table": 1, "view": 2, "pipeline": 3, "materialized view": 4}
	sort.SliceStable(s, func(i, j int) bool {
		if ri, rj := rank[s[i].Kind], rank[s[j].Kind]; ri != rj {
			return ri < rj
		}
		return s[i].ID < s[j].ID
	})
	return s
}

// crossings counts the pairs of edges between adjacent layers that cross
// (for tests and for judging the ordering).
func crossings(g *graph, byID map[string]*graphNode) int {
	type seg struct{ a, b, la int }
	var segs []seg
	for _, e := range g.Edges {
		f, t := byID[e.From], byID[e.To]
		if t.layer == f.layer+1 {
			segs = append(segs, seg{f.order, t.order, f.layer})
		}
	}
	n := 0
	for i := range segs {
		for j := i + 1; j < len(segs); j++ {
			s, u := segs[i], segs[j]
			if s.la == u.la && (s.a-u.a)*(s.b-u.b) < 0 {
				n++
			}
		}
	}
	return n
}

// cut shortens s to n characters with an ellipsis.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

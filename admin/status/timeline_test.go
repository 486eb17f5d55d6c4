package status

import (
	"testing"
	"time"
)

// Bars lie in the plot, one row per object in name order, a running run
// reaches now, and a short run is still visible.
func TestTimeline(t *testing.T) {
	now := time.Date(2024, 11, 14, 12, 0, 0, 0, time.UTC)
	a, b := ref{"public", "b_view"}, ref{"public", "a_view"}
	runs := []*run{
		{ID: 3, Object: a, Status: "running", Started: now.Add(-30 * time.Second)},
		{ID: 2, Object: b, Status: "failed", SQLState: "23514", Started: now.Add(-10 * time.Minute), Finished: now.Add(-10*time.Minute + time.Millisecond)},
		{ID: 1, Object: a, Status: "succeeded", Started: now.Add(-20 * time.Minute), Finished: now.Add(-19 * time.Minute)},
	}
	tl := buildTimeline(runs, now)
	if len(tl.Rows) != 2 || tl.Rows[0].Object != b || tl.Rows[1].Object != a {
		t.Fatalf("rows: %+v", tl.Rows)
	}
	for _, r := range tl.Rows {
		for _, br := range r.Bars {
			if br.X < tl.PlotX || br.X+br.W > tl.PlotX+tl.PlotW || br.W < tlMinBar || br.Y < r.Y || br.Y+br.H > r.Y+tlRowH {
				t.Errorf("bar of run %d at x %d w %d y %d outside its row or the plot", br.RunID, br.X, br.W, br.Y)
			}
		}
	}
	running := tl.Rows[1].Bars[0]
	if running.RunID != 3 || running.X+running.W != tl.PlotX+tl.PlotW {
		t.Errorf("the running run does not reach now: %+v", running)
	}
	if got := tl.Rows[0].Bars[0].Title; got != "run 2  failed, 1ms, started 2024-11-14 11:50:00Z, SQLSTATE 23514" {
		t.Errorf("title %q", got)
	}
	if len(tl.Ticks) != 5 || tl.Ticks[0].X != tl.PlotX || tl.Ticks[4].X != tl.PlotX+tl.PlotW {
		t.Errorf("ticks %+v", tl.Ticks)
	}
	if buildTimeline(nil, now) != nil {
		t.Error("a timeline of no runs")
	}
}

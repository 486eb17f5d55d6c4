package status

import (
	"fmt"
	"sort"
	"time"
)

// The per-object timeline: one row per object, one bar per run from its
// start to its end (or to now while it runs), coloured by outcome, over the
// span of the runs shown.

const (
	tlLabelW = 190
	tlPlotW  = 760
	tlRowH   = 22
	tlBarH   = 14
	tlAxisH  = 22
	tlMinBar = 3
)

type timeline struct {
	Rows          []timelineRow
	Ticks         []tick
	Width, Height int
	PlotX, PlotW  int
	AxisY         int
}

type timelineRow struct {
	Object ref
	Y      int // the row's top
	TextY  int
	Bars   []bar
}

type bar struct {
	X, Y, W, H int
	Status     string
	RunID      int64
	Title      string
}

type tick struct {
	X     int
	Label string
}

// buildTimeline lays the runs out; nil when there are none.
func buildTimeline(runs []*run, now time.Time) *timeline {
	if len(runs) == 0 {
		return nil
	}
	start, end := runs[0].Started, now
	for _, r := range runs {
		if r.Started.Before(start) {
			start = r.Started
		}
		if !r.Finished.IsZero() && r.Finished.After(end) {
			end = r.Finished
		}
	}
	// A little room before the first run; at least a minute shown.
	start = start.Add(-end.Sub(start) / 40)
	if end.Sub(start) < time.Minute {
		end = start.Add(time.Minute)
	}
	span := end.Sub(start)
	x := func(t time.Time) int {
		return tlLabelW + int(float64(t.Sub(start))/float64(span)*tlPlotW)
	}
	byObj := map[ref][]*run{}
	var order []ref
	for _, r := range runs {
		if _, ok := byObj[r.Object]; !ok {
			order = append(order, r.Object)
		}
		byObj[r.Object] = append(byObj[r.Object], r)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].String() < order[j].String() })
	tl := &timeline{PlotX: tlLabelW, PlotW: tlPlotW, Width: tlLabelW + tlPlotW + 40}
	for i, o := range order {
		y := i * tlRowH
		row := timelineRow{Object: o, Y: y, TextY: y + tlRowH/2 + 4}
		for _, r := range byObj[o] {
			fin := r.Finished
			if fin.IsZero() {
				fin = now
			}
			x1, x2 := x(r.Started), x(fin)
			w := max(tlMinBar, x2-x1)
			if x1+w > tlLabelW+tlPlotW {
				x1 = tlLabelW + tlPlotW - w
			}
			title := fmt.Sprintf("run %d %s %s, %s, started %s", r.ID, r.Trigger, r.Status, fmtDuration(r.Duration(now)), fmtTime(r.Started))
			if r.SQLState != "" {
				title += ", SQLSTATE " + r.SQLState
			}
			row.Bars = append(row.Bars, bar{X: x1, Y: y + (tlRowH-tlBarH)/2, W: w, H: tlBarH, Status: r.Status, RunID: r.ID, Title: title})
		}
		tl.Rows = append(tl.Rows, row)
	}
	tl.AxisY = len(order) * tlRowH
	tl.Height = tl.AxisY + tlAxisH
	layout := "15:04:05"
	if span > 24*time.Hour {
		layout = "Jan 2 15:04"
	}
	for i := 0; i <= 4; i++ {
		t := start.Add(span * time.Duration(i) / 4)
		tl.Ticks = append(tl.Ticks, tick{X: x(t), Label: t.UTC().Format(layout)})
	}
	return tl
}

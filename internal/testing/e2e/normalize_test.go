package e2e

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// Golden output normalisation. psql's output of the quickstart holds values
// that change from run to run; normalise rewrites them so the golden file
// stays stable. The rules, in order:
//
//  1. The data directory's absolute path becomes <DATA_DIR> and the
//     repository root's becomes <REPO>.
//  2. In psql's aligned tables, a cell in a column whose name is in
//     volatileColumns becomes the column's placeholder (<id>, <bytes>,
//     <duration>, <timestamp>) unless it is empty.
//  3. Anywhere, a timestamp with a time of day (2024-11-14 08:30:00,
//     optionally with fraction and zone) becomes <timestamp>, and a UUID
//     becomes <uuid>. Dates alone (2024-11-14) are data and stay.
//  4. Every aligned table is re-rendered left-aligned with fresh column
//     widths, so that a replaced value does not leave a misaligned table.
//     Its "(N rows)" footer stays as psql printed it.
//
// Everything else, including command tags, notices and errors, is compared
// byte for byte.
var volatileColumns = map[string]string{
	"version":       "<id>",
	"version_id":    "<id>",
	"run_id":        "<id>",
	"run":           "<id>",
	"id":            "<id>",
	"bytes":         "<bytes>",
	"bytes_written": "<bytes>",
	"bytes_in":      "<bytes>",
	"size":          "<bytes>",
	"size_bytes":    "<bytes>",
	"file_size":     "<bytes>",
	"duration":      "<duration>",
	"duration_ms":   "<duration>",
	"elapsed":       "<duration>",
	"started_at":    "<timestamp>",
	"finished_at":   "<timestamp>",
	"created_at":    "<timestamp>",
	"updated_at":    "<timestamp>",
	"refreshed_at":  "<timestamp>",
	"published_at":  "<timestamp>",
	"last_refresh":  "<timestamp>",
	"last_success":  "<timestamp>",
	"next_run":      "<timestamp>",
	"staleness":     "<duration>",
}

var (
	timestampRE = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}(:?\d{2})?|Z)?`)
	uuidRE      = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	separatorRE = regexp.MustCompile(`^-+(\+-+)*$`)
	footerRE    = regexp.MustCompile(`^\(\d+ rows?\)$`)
)

// normalise applies the rules above to psql output.
func normalise(out, dataDir, repo string) string {
	n := normaliser{dataDir: dataDir, repo: repo}
	lines := strings.Split(out, "\n")
	var res []string
	for i := 0; i < len(lines); i++ {
		if i+1 < len(lines) && separatorRE.MatchString(lines[i+1]) {
			if k, table := n.parseTable(lines, i); k > 0 {
				res = append(res, table...)
				i += k - 1
				continue
			}
		}
		res = append(res, n.value(lines[i]))
	}
	return strings.Join(res, "\n")
}

// normaliser holds the paths of rule 1. Paths are replaced per cell, after
// a table's columns are cut, so that a shorter path keeps the columns right.
type normaliser struct {
	dataDir, repo string
}

func (n normaliser) value(s string) string {
	if n.dataDir != "" {
		s = strings.ReplaceAll(s, n.dataDir, "<DATA_DIR>")
	}
	if n.repo != "" {
		s = strings.ReplaceAll(s, n.repo, "<REPO>")
	}
	s = timestampRE.ReplaceAllString(s, "<timestamp>")
	return uuidRE.ReplaceAllString(s, "<uuid>")
}

// parseTable reads a psql aligned table whose header is lines[start] and
// returns the number of lines it spans (header to footer) and its
// normalised rendering; 0 if it is not a table.
func (n normaliser) parseTable(lines []string, start int) (int, []string) {
	sep := lines[start+1]
	// Column boundaries from the separator: segments between '+'.
	var bounds [][2]int
	from := 0
	for i, c := range sep {
		if c == '+' {
			bounds = append(bounds, [2]int{from, i})
			from = i + 1
		}
	}
	bounds = append(bounds, [2]int{from, len(sep)})
	end := -1
	for j := start + 2; j < len(lines); j++ {
		if footerRE.MatchString(lines[j]) {
			end = j
			break
		}
	}
	if end < 0 {
		return 0, nil
	}
	cells := func(line string) []string {
		r := []rune(line)
		out := make([]string, len(bounds))
		for k, b := range bounds {
			lo, hi := min(b[0], len(r)), min(b[1], len(r))
			if k == len(bounds)-1 {
				hi = len(r)
			}
			out[k] = strings.TrimSpace(string(r[lo:hi]))
		}
		return out
	}
	header := cells(lines[start])
	for k, v := range header {
		header[k] = n.value(v)
	}
	rows := [][]string{header}
	for j := start + 2; j < end; j++ {
		row := cells(lines[j])
		for k, v := range row {
			if p, ok := volatileColumns[strings.ToLower(header[k])]; ok && v != "" {
				row[k] = p
			} else {
				row[k] = n.value(v)
			}
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(bounds))
	for _, row := range rows {
		for k, v := range row {
			widths[k] = max(widths[k], utf8.RuneCountInString(v))
		}
	}
	render := func(row []string) string {
		parts := make([]string, len(row))
		for k, v := range row {
			parts[k] = " " + v + strings.Repeat(" ", widths[k]-utf8.RuneCountInString(v)) + " "
		}
		return strings.TrimRight(strings.Join(parts, "|"), " ")
	}
	out := []string{render(header)}
	dashes := make([]string, len(widths))
	for k, w := range widths {
		dashes[k] = strings.Repeat("-", w+2)
	}
	out = append(out, strings.Join(dashes, "+"))
	for _, row := range rows[1:] {
		out = append(out, render(row))
	}
	out = append(out, lines[end])
	return end - start + 1, out
}

func TestNormalise(t *testing.T) {
	in := `CREATE SOURCE
 count 
-------
   312
(1 row)

 object      | version | bytes | started_at                 | path                                                            | rows
-------------+---------+-------+----------------------------+-----------------------------------------------------------------+------
 daily_fares |      17 | 48213 | 2026-11-24 00:15:02.123+00 | /tmp/x/d/views/daily_fares/0b8e4a4e-9a3f-4c1e-8f7e-2b8f0c9d1a11 |    4
 daily_fares |         |       |                            | day=2024-11-14                                                  |
(2 rows)

at 2026-11-24 00:15:02 in /tmp/x/d and /repo/testdata
`
	want := `CREATE SOURCE
 count
-------
 312
(1 row)

 object      | version | bytes   | started_at  | path                                | rows
-------------+---------+---------+-------------+-------------------------------------+------
 daily_fares | <id>    | <bytes> | <timestamp> | <DATA_DIR>/views/daily_fares/<uuid> | 4
 daily_fares |         |         |             | day=2024-11-14                      |
(2 rows)

at <timestamp> in <DATA_DIR> and <REPO>/testdata
`
	if got := normalise(in, "/tmp/x/d", "/repo"); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

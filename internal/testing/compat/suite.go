// Package compat runs the introspection queries that BI tools and drivers
// send (../shared/compat/bi_queries.sql beside the repository) against an
// in-process gateway; this file reads the suite, for its tests and for the
// benchmark of their cost (bench/bi_cpu_test.go).
package compat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LoadBIQueries reads and parses the suite from ../shared beside the
// repository whose root is root (relative to the caller's directory),
// skipping tb when it is absent (CI places it there) and failing it when
// it cannot be read or holds no query.
func LoadBIQueries(tb testing.TB, root string) []BIQuery {
	tb.Helper()
	path := filepath.Join(root, "..", "shared", "compat", "bi_queries.sql")
	src, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		tb.Skipf("%s is absent (CI places ../shared beside the repository)", path)
	}
	if err != nil {
		tb.Fatal(err)
	}
	queries := ParseBIQueries(string(src))
	if len(queries) == 0 {
		tb.Fatalf("no queries parsed from %s", path)
	}
	return queries
}

// BIQuery is one block of bi_queries.sql: the client that sends it, what
// the suite expects of it, its text, and the line of its "-- client:".
type BIQuery struct {
	Client, Expect, Text string
	Line                 int
}

// ParseBIQueries splits the file into its blocks: four metadata lines
// (client, source, filled, expect), then the query up to the next block.
func ParseBIQueries(src string) []BIQuery {
	var out []BIQuery
	var cur *BIQuery
	var body []string
	flush := func() {
		if cur != nil {
			cur.Text = strings.TrimSpace(strings.Join(body, "\n"))
			out = append(out, *cur)
		}
		body = nil
	}
	for i, line := range strings.Split(src, "\n") {
		switch {
		case strings.HasPrefix(line, "-- client:"):
			flush()
			cur = &BIQuery{Client: strings.TrimSpace(strings.TrimPrefix(line, "-- client:")), Line: i + 1}
		case cur == nil:
		case len(body) == 0 && strings.HasPrefix(line, "-- expect:"):
			cur.Expect = strings.TrimSpace(strings.TrimPrefix(line, "-- expect:"))
		case len(body) == 0 && (strings.HasPrefix(line, "-- source:") || strings.HasPrefix(line, "-- filled:")):
		default:
			body = append(body, line)
		}
	}
	flush()
	return out
}

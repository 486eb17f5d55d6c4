package e2e

import (
	"strings"
	"testing"
)

// TestPsqlCatalog runs psql's describe commands against a gateway holding a
// table, a view, a source and a materialized view, and checks key lines of
// their output: they are answered by Sluice's pg_catalog relations.
// TestPsqlDescribe compares whole outputs, \d name and \d+ name included.
func TestPsqlCatalog(t *testing.T) {
	psqlPath(t)
	s := startServer(t, t.TempDir())
	conn := s.Connect(t)
	for _, q := range []string{
		`CREATE TABLE cat_t (id INTEGER, name VARCHAR, amount DOUBLE, day DATE)`,
		`CREATE VIEW cat_v AS SELECT id, name FROM cat_t`,
		`CREATE SOURCE trips FROM FILES 'testdata/trips/*.csv' WITH (format = 'csv', header = true)`,
		`CREATE MATERIALIZED VIEW cat_mv AS SELECT day, count(*) AS n FROM cat_t GROUP BY day`,
	} {
		mustExec(t, conn, q)
	}
	cases := []struct {
		cmd  string
		want []string
	}{
		{`\dn`, []string{"public"}},
		{`\dt`, []string{"cat_t", "table"}},
		{`\dv`, []string{"cat_v", "trips"}},
		{`\dm`, []string{"cat_mv"}},
		{`\l`, []string{"sluice", "UTF8"}},
		{`\d cat_t`, []string{`Table "public.cat_t"`, "amount | double precision"}},
		{`\d+ cat_v`, []string{`View "public.cat_v"`, "View definition:", "FROM cat_t"}},
		{`\d+ cat_mv`, []string{`Materialized view "public.cat_mv"`, "GROUP BY day", "Access method: heap"}},
		{`\d+ trips`, []string{`View "public.trips"`, "read_csv"}},
		{`\d sluice.runs`, []string{`View "sluice.runs"`, "run_id", "started_at"}}, // a view showing each role its rows
		{`\dt+`, []string{"cat_t", "permanent"}},
		{`\dm+`, []string{"cat_mv", "bytes"}},
		{`\l+`, []string{"sluice", "pg_default"}},
	}
	for _, c := range cases {
		t.Run(c.cmd, func(t *testing.T) {
			out, errOut, err := s.psql(t, "-c", c.cmd)
			if err != nil || strings.Contains(errOut, "ERROR") {
				t.Fatalf("psql -c %q: %v\n%s%s", c.cmd, err, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("psql -c %q: output lacks %q:\n%s", c.cmd, w, out)
				}
			}
		})
	}
}

package sqlplan

import (
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

func TestPlanPipelineRun(t *testing.T) {
	cols := []Column{{"user_id", "BIGINT"}, {"day", "DATE"}, {"amount", "DECIMAL(18,3)"}}
	got, err := PlanPipelineRun(PipelineRun{
		Query: "SELECT user_id, CAST(ts AS DATE) AS day, amount FROM events", Columns: cols,
		PartitionBy: []string{"day"}, StagingDir: "/d/staging/run-7", RunID: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `COPY (SELECT * FROM (SELECT CAST("user_id" AS BIGINT) AS "user_id", CAST("day" AS DATE) AS "day", CAST("amount" AS DECIMAL(18,3)) AS "amount" FROM (SELECT user_id, CAST(ts AS DATE) AS day, amount FROM events
) AS q) ORDER BY "day") TO '/d/staging/run-7' (FORMAT parquet, COMPRESSION zstd, RETURN_STATS true, PARTITION_BY ("day"), FILENAME_PATTERN 'run7_{i}')`
	if got != want {
		t.Errorf("partitioned:\n got %s\nwant %s", got, want)
	}
	got, err = PlanPipelineRun(PipelineRun{Query: "SELECT 1 AS x -- c", Columns: []Column{{"x", "INTEGER"}},
		Options: map[string]string{"compression": "snappy"}, StagingDir: "/s", RunID: 3, OrderFree: true})
	if err != nil {
		t.Fatal(err)
	}
	want = "COPY (SELECT CAST(\"x\" AS INTEGER) AS \"x\" FROM (SELECT 1 AS x -- c\n) AS q) TO '/s/run3_0.parquet' (FORMAT parquet, COMPRESSION snappy, RETURN_STATS true, PRESERVE_ORDER false)"
	if got != want {
		t.Errorf("unpartitioned, free of order:\n got %s\nwant %s", got, want)
	}
	// A query whose result depends on the order (ORDER BY) keeps it.
	got, err = PlanPipelineRun(PipelineRun{Query: "SELECT 1 AS x ORDER BY x", Columns: []Column{{"x", "INTEGER"}}, StagingDir: "/s", RunID: 4})
	if err != nil {
		t.Fatal(err)
	}
	want = "COPY (SELECT CAST(\"x\" AS INTEGER) AS \"x\" FROM (SELECT 1 AS x ORDER BY x\n) AS q) TO '/s/run4_0.parquet' (FORMAT parquet, COMPRESSION zstd, RETURN_STATS true)"
	if got != want {
		t.Errorf("unpartitioned, ordered:\n got %s\nwant %s", got, want)
	}
	if _, err := PlanPipelineRun(PipelineRun{Columns: cols, PartitionBy: []string{"nope"}}); pgerr.Code(err) != pgerrcode.UndefinedColumn {
		t.Errorf("unknown partition column: %v", err)
	}
}

func TestPipelineViewSQL(t *testing.T) {
	cols := []Column{{"k", "VARCHAR"}, {"day", "DATE"}}
	if got := PipelineViewSQL(nil, cols, nil); got != EmptyViewSQL(cols) {
		t.Errorf("no files: %s", got)
	}
	got := PipelineViewSQL([]PipelineFile{{Path: "/p/data/day=2024-01-01/run1_0.parquet"}, {Path: "/p/data/day=2024-01-02/run2_0.parquet"}}, cols, []string{"day"})
	want := `SELECT "k", "day" FROM read_parquet(['/p/data/day=2024-01-01/run1_0.parquet', '/p/data/day=2024-01-02/run2_0.parquet'], hive_partitioning = true, hive_types = {'day': 'DATE'})`
	if got != want {
		t.Errorf("partitioned:\n got %s\nwant %s", got, want)
	}
	if got := PipelineViewSQL([]PipelineFile{{Path: "/p/data/run1_0.parquet"}}, cols, nil); !strings.HasSuffix(got, "hive_partitioning = false)") {
		t.Errorf("unpartitioned: %s", got)
	}
	// An ALTER changed the key after run 1, then removed it after run 3:
	// every file is read with the key it was written with.
	got = PipelineViewSQL([]PipelineFile{{Path: "/p/r1.parquet"}, {Path: "/p/r2.parquet", Key: "k1"}, {Path: "/p/r3.parquet", Key: "k1"}, {Path: "/p/r4.parquet"}}, cols, nil)
	want = `SELECT "k", "day" FROM read_parquet(['/p/r1.parquet', '/p/r4.parquet'], hive_partitioning = false)` +
		` UNION ALL SELECT "k", "day" FROM read_parquet(['/p/r2.parquet', '/p/r3.parquet'], hive_partitioning = false, encryption_config = {footer_key: 'k1'})`
	if got != want {
		t.Errorf("mixed keys:\n got %s\nwant %s", got, want)
	}
	if got, want := ShadowSQL("events", "SELECT * FROM read_json(['/a'])"), `CREATE OR REPLACE TEMP VIEW "events" AS SELECT * FROM read_json(['/a'])`; got != want {
		t.Errorf("ShadowSQL = %s", got)
	}
}

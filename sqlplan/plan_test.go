package sqlplan

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-db/sluice/internal/pgerr"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./sqlplan -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var fareCols = []Column{{"day", "DATE"}, {"zone", "VARCHAR"}, {"trips", "BIGINT"}, {"fares", "DECIMAL(18,2)"}}

func TestPlans(t *testing.T) {
	var b strings.Builder
	cases := []struct {
		name string
		r    Refresh
	}{
		{"partitioned", Refresh{Query: "SELECT * FROM fares", Columns: fareCols, PartitionBy: []string{"day"}, StagingDir: "/data/staging/run-1"}},
		{"many partitions: sorted", Refresh{Query: "SELECT * FROM fares", Columns: fareCols, PartitionBy: []string{"day"}, StagingDir: "/data/staging/run-7", SortByPartition: true}},
		{"two keys, snappy", Refresh{Query: "SELECT * FROM fares", Columns: fareCols, PartitionBy: []string{"day", "zone"},
			Options: map[string]string{"compression": "snappy"}, StagingDir: "/data/staging/run-2"}},
		{"unpartitioned", Refresh{Query: "SELECT 1 AS x", Columns: []Column{{"x", "INTEGER"}}, StagingDir: "/data/staging/run-3"}},
		{"unpartitioned, free of order: written by every thread", Refresh{Query: "SELECT 1 AS x", Columns: []Column{{"x", "INTEGER"}}, StagingDir: "/data/staging/run-9", OrderFree: true}},
		{"partitioned, free of order: PARTITION_BY as before", Refresh{Query: "SELECT * FROM fares", Columns: fareCols, PartitionBy: []string{"day"}, StagingDir: "/data/staging/run-10", OrderFree: true}},
		{"unpartitioned, split by size, free of order: in order as before", Refresh{Query: "SELECT 1 AS x", Columns: []Column{{"x", "INTEGER"}},
			Options: map[string]string{"target_file_size": "1048576"}, StagingDir: "/data/staging/run-11", OrderFree: true}},
		{"split by size", Refresh{Query: "SELECT * FROM fares", Columns: fareCols, PartitionBy: []string{"day"},
			Options: map[string]string{"target_file_size": "268435456"}, StagingDir: "/data/staging/run-4"}},
		{"unpartitioned, split by size", Refresh{Query: "SELECT 1 AS x", Columns: []Column{{"x", "INTEGER"}},
			Options: map[string]string{"target_file_size": "1048576"}, StagingDir: "/data/staging/run-6"}},
		{"encrypted (the COPY writes plaintext into staging; the files are encrypted after it)", Refresh{Query: "SELECT * FROM fares", Columns: fareCols, PartitionBy: []string{"day"},
			Options: map[string]string{"encryption_key": "k1"}, StagingDir: "/data/staging/run-8"}},
		{"quoted names", Refresh{Query: `SELECT 1 AS "Odd ""Name"""`, Columns: []Column{{`Odd "Name"`, "INTEGER"}, {"v", "INTEGER"}},
			PartitionBy: []string{`Odd "Name"`}, StagingDir: "/data/it's/run-5"}},
	}
	for _, c := range cases {
		p, err := PlanRefresh(c.r)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fmt.Fprintf(&b, "-- %s\n%s\n", c.name, p.CopySQL)
		if p.EncryptionKey != "" {
			fmt.Fprintf(&b, "-- then encrypt every file with key %s\n", p.EncryptionKey)
		}
		if p.SplitAbove > 0 {
			fmt.Fprintf(&b, "-- then split files above %d bytes:\n%s\n", p.SplitAbove,
				SplitSQL("/data/staging/run-4/day=2024-11-14/part_0.parquet", "/data/staging/run-4/day=2024-11-14/.split-0", p.SplitAbove, ""))
		}
	}
	b.WriteString("-- version view, partitioned\n" + VersionViewSQL("/data/objects/1/v3", fareCols, []string{"day"}, "") + "\n")
	b.WriteString("-- version view, two keys\n" + VersionViewSQL("/data/objects/1/v3", fareCols, []string{"day", "zone"}, "") + "\n")
	b.WriteString("-- version view, unpartitioned\n" + VersionViewSQL("/data/objects/2/v1", fareCols, nil, "") + "\n")
	b.WriteString("-- version view, partitioned, encrypted\n" + VersionViewSQL("/data/objects/1/v3", fareCols, []string{"day"}, "k1") + "\n")
	b.WriteString("-- version view, unpartitioned, encrypted\n" + VersionViewSQL("/data/objects/2/v1", fareCols, nil, "k1") + "\n")
	b.WriteString("-- empty view\n" + EmptyViewSQL(fareCols) + "\n")
	golden(t, "plans", b.String())
}

func TestPlanErrors(t *testing.T) {
	cases := []struct {
		partitionBy []string
		code        string
	}{
		{[]string{"nope"}, "42703"},
		{[]string{"day", "day"}, "42701"},
		{[]string{"day", "zone", "trips", "fares"}, "42P16"},
	}
	for _, c := range cases {
		_, err := PlanRefresh(Refresh{Query: "SELECT 1", Columns: fareCols, PartitionBy: c.partitionBy})
		if got := pgerr.Code(err); got != c.code {
			t.Errorf("PARTITION BY %v: code %s (%v), want %s", c.partitionBy, got, err, c.code)
		}
	}
}

func TestViewOptions(t *testing.T) {
	opts, err := ValidateViewOptions(map[string]string{"compression": "ZSTD", "target_file_size": "64MB"})
	if err != nil {
		t.Fatal(err)
	}
	if opts["compression"] != "zstd" || opts["target_file_size"] != "64000000" {
		t.Errorf("got %v", opts)
	}
	for opt, code := range map[string]string{"compression": "22023", "target_file_size": "22023", "bogus": "22023", "retries": "22023", "keep_versions": "0A000"} {
		_, err := ValidateViewOptions(map[string]string{opt: "x1"})
		if got := pgerr.Code(err); got != code {
			t.Errorf("option %s: code %s (%v), want %s", opt, got, err, code)
		}
	}
}

func TestEncryptionKeyOption(t *testing.T) {
	for _, validate := range []func(map[string]string) (map[string]string, error){ValidateViewOptions, ValidatePipelineOptions} {
		opts, err := validate(map[string]string{"encryption_key": "warehouse_2024"})
		if err != nil || opts["encryption_key"] != "warehouse_2024" {
			t.Errorf("valid name: %v %v", opts, err)
		}
		if opts, err := validate(map[string]string{"encryption_key": ""}); err != nil || len(opts) != 0 {
			t.Errorf("empty name removes the option: %v %v", opts, err)
		}
		for _, bad := range []string{"Upper", "1st", "a-b", "k'; DROP", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", strings.Repeat("k", 64)} {
			_, err := validate(map[string]string{"encryption_key": bad})
			if pgerr.Code(err) != "22023" || !strings.Contains(err.Error(), "encryption_key") {
				t.Errorf("name %q: %v, want 22023 naming the option", bad, err)
			}
		}
	}
}

func TestCheckEncryptable(t *testing.T) {
	for _, typ := range []string{"INTEGER[]", "VARCHAR[3]", "STRUCT(a INTEGER)", "MAP(VARCHAR, INTEGER)", "UNION(a INTEGER, b VARCHAR)", "VARIANT", "STRUCT(a INTEGER)[]"} {
		err := CheckEncryptable([]Column{{"ok", "DATE"}, {"n", typ}})
		if pgerr.Code(err) != "0A000" || !strings.Contains(err.Error(), `"n"`) {
			t.Errorf("%s: %v, want 0A000 naming the column", typ, err)
		}
	}
	flat := []Column{{"a", "DECIMAL(38,6)"}, {"b", "ENUM('x', 'y')"}, {"c", "TIMESTAMP WITH TIME ZONE"}, {"d", "UUID"}, {"e", "JSON"}, {"f", "BLOB"}, {"g", "INTERVAL"}}
	if err := CheckEncryptable(flat); err != nil {
		t.Error(err)
	}
	_, err := PlanRefresh(Refresh{Query: "SELECT 1", Columns: []Column{{"day", "DATE"}, {"l", "INTEGER[]"}}, PartitionBy: []string{"day"},
		Options: map[string]string{"encryption_key": "k"}})
	if pgerr.Code(err) != "0A000" {
		t.Errorf("PlanRefresh of a nested column with a key: %v", err)
	}
	if _, err := PlanRefresh(Refresh{Query: "SELECT 1", Columns: []Column{{"day", "DATE"}, {"l", "INTEGER[]"}}, PartitionBy: []string{"day"}}); err != nil {
		t.Errorf("without a key nested columns are fine: %v", err)
	}
	if _, err := PlanPipelineRun(PipelineRun{Columns: []Column{{"l", "INTEGER[]"}}, Options: map[string]string{"encryption_key": "k"}}); pgerr.Code(err) != "0A000" {
		t.Errorf("PlanPipelineRun of a nested column with a key: %v", err)
	}
}

func TestTableRefs(t *testing.T) {
	// Abridged output of json_serialize_sql for
	// WITH c AS (SELECT * FROM t) SELECT * FROM c JOIN s.u ON true, read_parquet('x')
	js := `{"error":false,"statements":[{"node":{"cte_map":{"map":[{"key":"c","value":{"query":{"node":{"from_table":
		{"catalog_name":"","schema_name":"","table_name":"t","type":"BASE_TABLE"}}}}}]},
		"from_table":{"type":"CROSS_PRODUCT","left":{"type":"JOIN","left":{"catalog_name":"","schema_name":"","table_name":"c","type":"BASE_TABLE"},
		"right":{"catalog_name":"","schema_name":"s","table_name":"u","type":"BASE_TABLE"}},
		"right":{"type":"TABLE_FUNCTION","function":{"function_name":"read_parquet"}}}}}]}`
	refs, err := TableRefs(js)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(refs)
	if want := "[{  t} { s u}]"; got != want {
		t.Errorf("refs = %s, want %s", got, want)
	}
	if _, err := TableRefs(`{"error":true,"error_message":"Only SELECT statements can be serialized to json!"}`); err == nil {
		t.Error("want error for a serialisation error")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "64MB": 64e6, "1.5GiB": 3 << 29, "2 mib": 2 << 20} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "-5MB", "10 parsecs", "1kB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): want error", in)
		}
	}
}

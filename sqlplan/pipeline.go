package sqlplan

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sluice-db/sluice/connectors"
)

// PipelineOptions declares the WITH options of CREATE PIPELINE.
var PipelineOptions = connectors.Specs{
	{Name: "compression", Type: connectors.Enum, Values: []string{"zstd", "snappy", "gzip", "lz4", "uncompressed"}, Default: "zstd",
		Doc: "Parquet compression codec"},
	{Name: "target_file_size", Type: connectors.String, Unsupported: "a pipeline run writes one file per partition"},
	{Name: "location", Type: connectors.String,
		Doc: "also store the output in object storage, e.g. 's3://bucket/prefix' (needs object storage configured)"},
	{Name: "retries", Type: connectors.Int, Default: "0", Doc: "attempts after a failed run (0 to 100)"},
	{Name: "retry_backoff", Type: connectors.String, Default: "1s",
		Doc: "delay before the first retry, doubled for each next one, with jitter, e.g. '5s'"},
	{Name: "timeout", Type: connectors.String, Doc: "bound of each run attempt, e.g. '10 minutes' (default: none)"},
	{Name: "min_interval", Type: connectors.String, Doc: "REFRESH ON CHANGE: at most one run per this interval, e.g. '30s'"},
	{Name: "encryption_key", Type: connectors.String, Doc: encryptionKeyDoc},
}

// ValidatePipelineOptions checks the WITH options of a pipeline.
func ValidatePipelineOptions(raw map[string]string) (map[string]string, error) {
	opts, err := PipelineOptions.Validate("pipeline", raw)
	if err != nil {
		return nil, err
	}
	if err := validateRetryOptions(opts); err != nil {
		return nil, err
	}
	if err := validateLocation(opts); err != nil {
		return nil, err
	}
	if err := validateEncryptionKey(opts); err != nil {
		return nil, err
	}
	return opts, nil
}

// PipelineRun is the input of a pipeline run's plan.
type PipelineRun struct {
	Query       string   // the pipeline's query
	Columns     []Column // the output columns fixed at CREATE
	PartitionBy []string
	Options     map[string]string
	StagingDir  string // empty directory to write into
	RunID       int64  // names the files, unique across runs
	// OrderFree: the query's plan depends on no order of rows (OrderFree
	// of its OrderSQL), so an unpartitioned run writes with every thread.
	OrderFree bool
}

// PlanPipelineRun returns the COPY a pipeline run executes: the query's
// result, cast to the columns fixed at CREATE (so every run's files have
// the same schema however the input's types are inferred), written into
// StagingDir as Parquet files named run<id>_<i>, one row per file
// (RETURN_STATS).
//
// With an encryption_key option the files are encrypted after the COPY,
// before they are moved into the pipeline's directory.
func PlanPipelineRun(r PipelineRun) (string, error) {
	if err := checkPartitionColumns(r.Columns, r.PartitionBy); err != nil {
		return "", err
	}
	if r.Options["encryption_key"] != "" {
		if err := CheckEncryptable(r.Columns); err != nil {
			return "", err
		}
	}
	compression := r.Options["compression"]
	if compression == "" {
		compression = "zstd"
	}
	casts := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		casts[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", ident(c.Name), c.Type, ident(c.Name))
	}
	query := fmt.Sprintf("SELECT %s FROM (%s\n) AS q", strings.Join(casts, ", "), strings.TrimSpace(r.Query))
	opts := []string{"FORMAT parquet", "COMPRESSION " + compression, "RETURN_STATS true"}
	prefix := fmt.Sprintf("run%d_", r.RunID)
	target := quote(filepath.Join(r.StagingDir, prefix+"0.parquet"))
	if len(r.PartitionBy) == 0 {
		if r.OrderFree { // order.go
			opts = append(opts, dropOrder)
		}
	} else {
		query = fmt.Sprintf("SELECT * FROM (%s) ORDER BY %s", query, identList(r.PartitionBy))
		opts = append(opts, "PARTITION_BY ("+identList(r.PartitionBy)+")", "FILENAME_PATTERN '"+prefix+"{i}'")
		target = quote(r.StagingDir)
	}
	return fmt.Sprintf("COPY (%s) TO %s (%s)", query, target, strings.Join(opts, ", ")), nil
}

// ShadowSQL creates the temporary view that stands for a source during a
// pipeline run: a relation of the source's unqualified name reading only
// scanSQL (the run's new files). Temporary objects resolve before the
// search path, so the pipeline's query reads it instead of the source.
func ShadowSQL(source, scanSQL string) string {
	return "CREATE OR REPLACE TEMP VIEW " + ident(source) + " AS " + scanSQL
}

// EmptyShadowSQL shadows a source that has no new files with an empty
// relation of the source's columns.
func EmptyShadowSQL(source, schema string) string {
	return "CREATE OR REPLACE TEMP VIEW " + ident(source) + " AS SELECT * FROM " + ident(schema) + "." + ident(source) + " WHERE false"
}

// PipelineFile is one committed output file of a pipeline and the name of
// the key it is encrypted with ("" = none).
type PipelineFile struct {
	Path string
	Key  string
}

// PipelineViewSQL is the definition of the DuckDB view that exposes a
// pipeline's committed files: exactly the listed files (never a glob, so an
// uncommitted file is never read), projected to the output's columns. Files
// are read with the key each was written with: one read_parquet per key
// (in the order each key first appears), joined by UNION ALL when an ALTER
// changed the key between runs.
func PipelineViewSQL(files []PipelineFile, cols []Column, partitionBy []string) string {
	if len(files) == 0 {
		return EmptyViewSQL(cols)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = ident(c.Name)
	}
	var keys []string
	byKey := map[string][]string{}
	for _, f := range files {
		if _, ok := byKey[f.Key]; !ok {
			keys = append(keys, f.Key)
		}
		byKey[f.Key] = append(byKey[f.Key], quote(f.Path))
	}
	hive := "hive_partitioning = false"
	if len(partitionBy) > 0 {
		hive = hiveOptions(cols, partitionBy)
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("SELECT %s FROM read_parquet([%s], %s%s)", strings.Join(names, ", "), strings.Join(byKey[k], ", "), hive, encryptionConfig(k))
	}
	return strings.Join(parts, " UNION ALL ")
}

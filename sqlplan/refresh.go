// Package sqlplan turns bound definitions into plans: the DuckDB statements
// a refresh runs, the view definitions that expose a version, the table
// references a query depends on. It is pure (no I/O) and golden-tested.
package sqlplan

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// Column is a column of a query result as DuckDB describes it.
type Column struct {
	Name string
	Type string // DuckDB type, e.g. DATE, DECIMAL(18,3), VARCHAR
}

// ViewOptions declares the WITH options of CREATE MATERIALIZED VIEW.
var ViewOptions = connectors.Specs{
	{Name: "compression", Type: connectors.Enum, Values: []string{"zstd", "snappy", "gzip", "lz4", "uncompressed"}, Default: "zstd",
		Doc: "Parquet compression codec"},
	{Name: "target_file_size", Type: connectors.String,
		Doc: "split partitions into files of about this size, e.g. '256MB' (default: one file per partition)"},
	{Name: "location", Type: connectors.String,
		Doc: "also store the output in object storage, e.g. 's3://bucket/prefix' (needs object storage configured)"},
	{Name: "retries", Type: connectors.Int, Default: "0", Doc: "attempts after a failed one (0 to 100)"},
	{Name: "retry_backoff", Type: connectors.String, Default: "1s",
		Doc: "delay before the first retry, doubled for each next one, with jitter, e.g. '5s'"},
	{Name: "timeout", Type: connectors.String, Doc: "bound of each attempt, e.g. '10 minutes' (default: none)"},
	{Name: "keep_versions", Type: connectors.Int, Unsupported: "old versions are removed as soon as no reader needs them"},
	{Name: "min_interval", Type: connectors.String, Doc: "REFRESH ON CHANGE: at most one refresh per this interval, e.g. '30s'"},
	{Name: "encryption_key", Type: connectors.String, Doc: encryptionKeyDoc},
}

// ValidateViewOptions checks the WITH options of a materialized view.
func ValidateViewOptions(raw map[string]string) (map[string]string, error) {
	opts, err := ViewOptions.Validate("materialized view", raw)
	if err != nil {
		return nil, err
	}
	if s, ok := opts["target_file_size"]; ok {
		n, err := ParseSize(s)
		if err != nil {
			return nil, pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option \"target_file_size\": %v", err)
		}
		opts["target_file_size"] = strconv.FormatInt(n, 10)
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

// validateLocation checks a location option: s3://bucket[/prefix], no
// wildcard. The prefix is kept without a trailing slash.
func validateLocation(opts map[string]string) error {
	loc, ok := opts["location"]
	if !ok {
		return nil
	}
	bucket, prefix, err := SplitLocation(loc)
	if err != nil {
		return pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option \"location\": %v", err)
	}
	opts["location"] = "s3://" + bucket
	if prefix != "" {
		opts["location"] += "/" + prefix
	}
	return nil
}

// SplitLocation splits s3://bucket/prefix into its bucket and prefix.
func SplitLocation(loc string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(loc, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3://bucket/prefix URL", loc)
	}
	if strings.ContainsAny(rest, "*?[") {
		return "", "", fmt.Errorf("%q: a location cannot hold wildcards", loc)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket", loc)
	}
	return bucket, strings.Trim(prefix, "/"), nil
}

// ParseSize reads a byte size such as 1048576, '64MB', '1.5GiB' or '512kB'.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("%q is not a positive size", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}
	m, ok := mult[unit]
	if !ok {
		return 0, fmt.Errorf("unknown size unit %q (use B, kB, MB, GB, KiB, MiB, GiB)", unit)
	}
	n := int64(f * m)
	if n < 1<<20 {
		return 0, fmt.Errorf("%q is below the minimum of 1MiB", s)
	}
	return n, nil
}

// Refresh is the input of a refresh plan.
type Refresh struct {
	Query       string   // the view's query
	Columns     []Column // the query's result columns
	PartitionBy []string
	Options     map[string]string // validated view options
	StagingDir  string            // empty directory to write into
	// SortByPartition orders rows by the partition columns before writing.
	// With many partitions this keeps DuckDB's writer at one open file per
	// partition and is faster; with few it only costs, so the caller
	// decides from the previous version's partition count.
	SortByPartition bool
	// OrderFree: the query's plan depends on no order of rows (OrderFree
	// of its OrderSQL), so an unpartitioned refresh into one file writes
	// with every thread.
	OrderFree bool
}

// SortAbovePartitions is the partition count above which a refresh sorts
// by the partition columns (and when the count is not known yet).
const SortAbovePartitions = 100

// RefreshPlan is what a refresh runs.
type RefreshPlan struct {
	// CopySQL writes the result (the query ends its own line, so a trailing
	// comment in it cannot swallow the rest) into StagingDir as Parquet and
	// returns one row per file written (RETURN_STATS).
	CopySQL string
	// SplitAbove, when > 0, is the file size above which a partition's file
	// is rewritten into files of about that size (SplitSQL): DuckDB cannot
	// combine FILE_SIZE_BYTES with PARTITION_BY.
	SplitAbove int64
	// EncryptionKey, when set, names the key the written files (after any
	// split) are encrypted with before they are published; the version's
	// view reads them with it (VersionViewSQL).
	EncryptionKey string
}

// PlanRefresh plans a full refresh of a materialized view.
func PlanRefresh(r Refresh) (RefreshPlan, error) {
	if err := checkPartitionColumns(r.Columns, r.PartitionBy); err != nil {
		return RefreshPlan{}, err
	}
	key := r.Options["encryption_key"]
	if key != "" {
		if err := CheckEncryptable(r.Columns); err != nil {
			return RefreshPlan{}, err
		}
	}
	compression := r.Options["compression"]
	if compression == "" {
		compression = "zstd"
	}
	opts := []string{"FORMAT parquet", "COMPRESSION " + compression, "RETURN_STATS true"}
	target := quote(r.StagingDir)
	size, split := r.Options["target_file_size"]
	if len(r.PartitionBy) > 0 {
		opts = append(opts, "PARTITION_BY ("+identList(r.PartitionBy)+")")
	}
	if len(r.PartitionBy) > 0 || split {
		opts = append(opts, "FILENAME_PATTERN 'part_{i}'")
	} else {
		target = quote(filepath.Join(r.StagingDir, "part_0.parquet"))
	}
	var splitAbove int64
	if split && len(r.PartitionBy) == 0 {
		opts = append(opts, "FILE_SIZE_BYTES "+size)
	} else if split {
		splitAbove, _ = strconv.ParseInt(size, 10, 64)
	}
	if r.OrderFree && len(r.PartitionBy) == 0 && !split { // order.go
		opts = append(opts, dropOrder)
	}
	query := strings.TrimSpace(r.Query)
	if r.SortByPartition && len(r.PartitionBy) > 0 {
		query = fmt.Sprintf("SELECT * FROM (%s\n) ORDER BY %s", query, identList(r.PartitionBy))
	}
	return RefreshPlan{
		CopySQL:       fmt.Sprintf("COPY (%s\n) TO %s (%s)", query, target, strings.Join(opts, ", ")),
		SplitAbove:    splitAbove,
		EncryptionKey: key,
	}, nil
}

// SplitSQL rewrites one Parquet file into files of about size bytes in dir,
// returning one row per file written. It reads a staged file, which is
// still in plaintext: files are encrypted after they are split.
func SplitSQL(file, dir string, size int64, compression string) string {
	if compression == "" {
		compression = "zstd"
	}
	return fmt.Sprintf("COPY (SELECT * FROM read_parquet(%s)) TO %s (FORMAT parquet, COMPRESSION %s, FILE_SIZE_BYTES %d, FILENAME_PATTERN 'split_{i}', RETURN_STATS true)",
		quote(file), quote(dir), compression, size)
}

func checkPartitionColumns(cols []Column, partitionBy []string) error {
	seen := map[string]bool{}
	for _, p := range partitionBy {
		if seen[p] {
			return pgerr.New(pgerrcode.DuplicateColumn, "column %q appears twice in PARTITION BY", p)
		}
		seen[p] = true
		if !hasColumn(cols, p) {
			return pgerr.New(pgerrcode.UndefinedColumn, "PARTITION BY column %q is not a column of the query", p)
		}
	}
	if len(partitionBy) > 0 && len(partitionBy) == len(cols) {
		return pgerr.New(pgerrcode.InvalidTableDefinition, "PARTITION BY must leave at least one column out of the partition key")
	}
	return nil
}

func hasColumn(cols []Column, name string) bool {
	for _, c := range cols {
		if c.Name == name {
			return true
		}
	}
	return false
}

// VersionViewSQL is the definition of the DuckDB view that exposes one
// published version at path: the query's columns, in the query's order and
// with the query's types, read from the version's Parquet files, which are
// encrypted with the key named key when it is not "".
func VersionViewSQL(path string, cols []Column, partitionBy []string, key string) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = ident(c.Name)
	}
	if len(partitionBy) == 0 {
		return fmt.Sprintf("SELECT %s FROM read_parquet(%s%s)", strings.Join(names, ", "), quote(filepath.Join(path, "*.parquet")), encryptionConfig(key))
	}
	glob := filepath.Join(path, strings.Repeat("*/", len(partitionBy))+"*.parquet")
	return fmt.Sprintf("SELECT %s FROM read_parquet(%s, %s%s)",
		strings.Join(names, ", "), quote(glob), hiveOptions(cols, partitionBy), encryptionConfig(key))
}

// hiveOptions are read_parquet's options for files under hive partition
// directories: the partition columns with the query's types.
func hiveOptions(cols []Column, partitionBy []string) string {
	types := make([]string, len(partitionBy))
	for i, p := range partitionBy {
		types[i] = quote(p) + ": " + quote(columnType(cols, p))
	}
	return "hive_partitioning = true, hive_types = {" + strings.Join(types, ", ") + "}"
}

// EmptyViewSQL is the definition of a view with the query's columns and no
// rows, for a view created WITH NO DATA or whose result is empty.
func EmptyViewSQL(cols []Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", c.Type, ident(c.Name))
	}
	return "SELECT " + strings.Join(parts, ", ") + " WHERE false"
}

func columnType(cols []Column, name string) string {
	for _, c := range cols {
		if c.Name == name {
			return c.Type
		}
	}
	return "VARCHAR"
}

func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func identList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = ident(n)
	}
	return strings.Join(q, ", ")
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

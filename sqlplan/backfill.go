package sqlplan

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// PartitionFilter is one `column = value` of REFRESH ... PARTITION (...),
// bound to the column's type.
type PartitionFilter struct {
	Column string
	Type   string // the column's DuckDB type
	Value  string // the value as written
}

// BindPartition checks a backfill's columns against the view's partition
// columns (42703 for a column that is not one, 42701 for a repeated one)
// and gives each value its column's type.
func BindPartition(cols []Column, partitionBy []string, cols2vals [][2]string) ([]PartitionFilter, error) {
	seen := map[string]bool{}
	out := make([]PartitionFilter, 0, len(cols2vals))
	for _, cv := range cols2vals {
		col := cv[0]
		isPart := false
		for _, p := range partitionBy {
			isPart = isPart || p == col
		}
		if !isPart {
			return nil, pgerr.New(pgerrcode.UndefinedColumn, "column %q is not a partition column of the view", col)
		}
		if seen[col] {
			return nil, pgerr.New(pgerrcode.DuplicateColumn, "column %q appears twice in PARTITION", col)
		}
		seen[col] = true
		out = append(out, PartitionFilter{Column: col, Type: columnType(cols, col), Value: cv[1]})
	}
	return out, nil
}

// PartitionValuesSQL casts each filter's value to its column's type and
// back to text (one column per filter, in order): an invalid value fails
// with DuckDB's conversion error (22P02, 22007, ...), and the text is how
// DuckDB names the partition's directory.
func PartitionValuesSQL(fs []PartitionFilter) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("CAST(%s AS VARCHAR)", castValue(f))
	}
	return "SELECT " + strings.Join(parts, ", ")
}

// BackfillQuery restricts a view's query to the partitions being
// recomputed; DuckDB pushes the predicate down into the query.
func BackfillQuery(query string, fs []PartitionFilter) string {
	preds := make([]string, len(fs))
	for i, f := range fs {
		preds[i] = fmt.Sprintf("%s = %s", ident(f.Column), castValue(f))
	}
	return fmt.Sprintf("SELECT * FROM (%s\n) AS q WHERE %s", strings.TrimSpace(query), strings.Join(preds, " AND "))
}

func castValue(f PartitionFilter) string {
	return fmt.Sprintf("CAST(%s AS %s)", quote(f.Value), f.Type)
}

// InPartitions reports whether the hive partition path of a version (e.g.
// "day=2024-11-14/zone=Airport") lies in the partitions selected by the
// filters, whose values are given as DuckDB's text of the typed value
// (PartitionValuesSQL), by column.
func InPartitions(partition string, values map[string]string) bool {
	matched := 0
	for _, seg := range strings.Split(partition, "/") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		if uk, err := url.PathUnescape(k); err == nil {
			k = uk
		}
		want, ok := values[k]
		if !ok {
			continue
		}
		if uv, err := url.PathUnescape(v); err == nil {
			v = uv
		}
		if v != want {
			return false
		}
		matched++
	}
	return matched == len(values)
}

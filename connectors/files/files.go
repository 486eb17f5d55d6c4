// Package files is the FILES connector: local CSV, JSON and Parquet files
// named by a path or glob, scanned by DuckDB's own readers.
package files

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// Options declares the FILES options (documented in docs/sql.md).
var Options = connectors.Specs{
	{Name: "format", Type: connectors.Enum, Values: []string{"csv", "json", "parquet"}, Doc: "file format; default from the file extension"},
	{Name: "header", Type: connectors.Bool, Doc: "csv: the first line holds column names (default: detected)"},
	{Name: "delimiter", Type: connectors.String, Doc: "csv: the field delimiter (default: detected)"},
	{Name: "hive_partitioning", Type: connectors.Bool, Doc: "read key=value directories as columns"},
	{Name: "union_by_name", Type: connectors.Bool, Doc: "unify the columns of files by name instead of position"},
	{Name: "columns", Type: connectors.String, Unsupported: "explicit schemas come with a later release; cast in a view instead"},
}

// Scan is a validated FILES source.
type Scan struct {
	Path    string            // absolute path or glob
	Options map[string]string // validated, with format filled in
}

// New validates a FILES source: location is resolved against baseDir when
// relative, and the format is inferred from the extension when not given.
func New(location, baseDir string, raw map[string]string) (*Scan, error) {
	if strings.TrimSpace(location) == "" {
		return nil, pgerr.New(pgerrcode.InvalidParameterValue, "FILES needs a path or glob")
	}
	if strings.Contains(location, "://") {
		return nil, pgerr.Unsupported("FILES location %q: only local paths are supported so far (object storage comes with the connectors release)", location)
	}
	opts, err := Options.Validate("FILES", raw)
	if err != nil {
		return nil, err
	}
	path := location
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	if opts["format"] == "" {
		f, ok := formatFromExt(path)
		if !ok {
			return nil, pgerr.New(pgerrcode.InvalidParameterValue, "cannot infer the format of %q from its extension; set option format = 'csv' | 'json' | 'parquet'", location)
		}
		opts["format"] = f
	}
	if opts["format"] != "csv" {
		for _, k := range []string{"header", "delimiter"} {
			if _, ok := opts[k]; ok {
				return nil, pgerr.New(pgerrcode.InvalidParameterValue, "option %q applies only to csv files", k)
			}
		}
	}
	if d, ok := opts["delimiter"]; ok && len([]rune(d)) != 1 {
		return nil, pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option \"delimiter\": must be a single character")
	}
	return &Scan{Path: path, Options: opts}, nil
}

func formatFromExt(path string) (string, bool) {
	ext := strings.ToLower(filepath.Ext(strings.TrimSuffix(strings.TrimSuffix(path, ".gz"), ".zst")))
	switch ext {
	case ".csv", ".tsv", ".txt":
		return "csv", true
	case ".json", ".ndjson", ".jsonl":
		return "json", true
	case ".parquet":
		return "parquet", true
	}
	return "", false
}

// SQL is the DuckDB table expression that scans the files.
func (s *Scan) SQL() string { return s.scanSQL(quote(s.Path)) }

// scanSQL is the scan of target, a quoted path or glob or a list of them.
func (s *Scan) scanSQL(target string) string {
	var fn string
	var args []string
	args = append(args, target)
	switch s.Options["format"] {
	case "csv":
		fn = "read_csv"
		if v, ok := s.Options["header"]; ok {
			args = append(args, "header = "+v)
		}
		if v, ok := s.Options["delimiter"]; ok {
			args = append(args, "delim = "+quote(v))
		}
	case "json":
		fn = "read_json"
	case "parquet":
		fn = "read_parquet"
	}
	for _, k := range []string{"hive_partitioning", "union_by_name"} {
		if v, ok := s.Options[k]; ok {
			args = append(args, k+" = "+v)
		}
	}
	return fmt.Sprintf("SELECT * FROM %s(%s)", fn, strings.Join(args, ", "))
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

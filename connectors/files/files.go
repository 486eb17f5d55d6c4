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
	{Name: "columns", Type: connectors.String,
		Doc: "explicit schema 'name type, ...' (DuckDB types): csv reads the fields in this order without detection, json takes these keys, parquet casts these columns"},
}

// Scan is a validated FILES source.
type Scan struct {
	Path    string            // absolute path or glob, or an s3:// URL glob
	Options map[string]string // validated, with format filled in
	// Remote reads s3:// paths; nil for local files.
	Remote Remote
}

// New validates a FILES source: location is resolved against baseDir when
// relative, and the format is inferred from the extension when not given.
func New(location, baseDir string, raw map[string]string) (*Scan, error) {
	if strings.TrimSpace(location) == "" {
		return nil, pgerr.New(pgerrcode.InvalidParameterValue, "FILES needs a path or glob")
	}
	if strings.Contains(location, "://") {
		return nil, pgerr.Unsupported("FILES location %q: only local paths and s3:// URLs (with object storage configured) are supported", location)
	}
	path := location
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	opts, err := validate(location, path, raw)
	if err != nil {
		return nil, err
	}
	return &Scan{Path: path, Options: opts}, nil
}

// validate checks the options of a source at path, filling in the format.
func validate(location, path string, raw map[string]string) (map[string]string, error) {
	opts, err := Options.Validate("FILES", raw)
	if err != nil {
		return nil, err
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
	if c, ok := opts["columns"]; ok {
		cols, err := ParseColumns(c)
		if err != nil {
			return nil, pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option \"columns\": %v", err)
		}
		opts["columns"] = FormatColumns(cols)
	}
	if d, ok := opts["delimiter"]; ok && len([]rune(d)) != 1 {
		return nil, pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option \"delimiter\": must be a single character")
	}
	return opts, nil
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
func (s *Scan) SQL() string {
	if IsRemote(s.Path) {
		return s.scanSQL(ObjectFilesFunction + "(" + quote(s.Path) + ")")
	}
	return s.scanSQL(quote(s.Path))
}

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
	cols, _ := ParseColumns(s.Options["columns"]) // validated by New
	if len(cols) > 0 && fn != "read_parquet" {
		// CSV and JSON readers take the schema itself: no detection.
		fields := make([]string, len(cols))
		for i, c := range cols {
			fields[i] = quote(c.Name) + ": " + quote(c.Type)
		}
		args = append(args, "columns = {"+strings.Join(fields, ", ")+"}")
	}
	for _, k := range []string{"hive_partitioning", "union_by_name"} {
		if v, ok := s.Options[k]; ok {
			args = append(args, k+" = "+v)
		}
	}
	scan := fmt.Sprintf("%s(%s)", fn, strings.Join(args, ", "))
	if len(cols) > 0 && fn == "read_parquet" {
		casts := make([]string, len(cols))
		for i, c := range cols {
			casts[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", ident(c.Name), c.Type, ident(c.Name))
		}
		return fmt.Sprintf("SELECT %s FROM %s", strings.Join(casts, ", "), scan)
	}
	return "SELECT * FROM " + scan
}

// Column is one column of an explicit schema.
type Column struct{ Name, Type string }

// ParseColumns reads "name type, name type, ...": a name is an identifier
// or "quoted", a type any DuckDB type text (commas inside parentheses, as
// in DECIMAL(12, 2), stay in the type). DuckDB checks the types when the
// source is created.
func ParseColumns(text string) ([]Column, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var parts []string
	depth, start := 0, 0
	for i, r := range text {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, text[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, text[start:])
	cols := make([]Column, 0, len(parts))
	seen := map[string]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		var name, typ string
		if strings.HasPrefix(p, `"`) {
			end := strings.Index(p[1:], `"`)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quoted name in %q", p)
			}
			name, typ = p[1:1+end], strings.TrimSpace(p[2+end:])
		} else {
			name, typ, _ = strings.Cut(p, " ")
			name, typ = strings.ToLower(name), strings.TrimSpace(typ)
		}
		if name == "" || typ == "" {
			return nil, fmt.Errorf("%q is not \"name type\"", p)
		}
		if strings.ContainsAny(typ, ";'") {
			return nil, fmt.Errorf("bad type %q", typ)
		}
		if seen[name] {
			return nil, fmt.Errorf("column %q appears twice", name)
		}
		seen[name] = true
		cols = append(cols, Column{Name: name, Type: typ})
	}
	return cols, nil
}

// FormatColumns is the normal form of cols, as ParseColumns reads it.
func FormatColumns(cols []Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = ident(c.Name) + " " + c.Type
	}
	return strings.Join(parts, ", ")
}

func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

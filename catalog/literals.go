package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"
)

// SQL helpers the catalog's statements share: quoting literals and
// identifiers, and reading string columns, lists and maps back.

func queryStrings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SQL literal helpers. Values are always quoted as literals, never spliced.

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteRef(r Ref) string { return quoteIdent(r.Schema) + "." + quoteIdent(r.Name) }

func listLiteral(items []string) string {
	if len(items) == 0 {
		return "[]::VARCHAR[]"
	}
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = quoteLiteral(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func mapLiteral(m map[string]string) string {
	if len(m) == 0 {
		return "MAP {}::MAP(VARCHAR, VARCHAR)"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = quoteLiteral(k) + ": " + quoteLiteral(m[k])
	}
	return "MAP {" + strings.Join(parts, ", ") + "}"
}

func scanStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// optionsJSON selects an options MAP(VARCHAR, VARCHAR) as a JSON object,
// which scanMap reads without knowing the driver's map types.
const optionsJSON = `CAST(to_json(options) AS VARCHAR)`

func scanMap(js string) map[string]string {
	out := map[string]string{}
	_ = json.Unmarshal([]byte(js), &out)
	return out
}

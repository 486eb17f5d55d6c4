package sqlplan

import (
	"encoding/json"
	"fmt"
	"sort"
)

// TableRef is a relation a query reads, as written in the query.
type TableRef struct {
	Catalog string
	Schema  string
	Name    string
}

// TableRefs extracts the base tables a query reads from DuckDB's own parse
// of it (the output of json_serialize_sql), minus the names of the query's
// common table expressions. Table functions (read_parquet(...)) are not
// relations and are not returned.
func TableRefs(serialized string) ([]TableRef, error) {
	var doc any
	if err := json.Unmarshal([]byte(serialized), &doc); err != nil {
		return nil, fmt.Errorf("sqlplan: bad json_serialize_sql output: %w", err)
	}
	if m, ok := doc.(map[string]any); ok && m["error"] == true {
		msg, _ := m["error_message"].(string)
		return nil, fmt.Errorf("%s", msg)
	}
	ctes := map[string]bool{}
	seen := map[TableRef]bool{}
	var refs []TableRef
	var walk func(v any)
	walk = func(v any) {
		switch n := v.(type) {
		case map[string]any:
			if n["type"] == "BASE_TABLE" {
				r := TableRef{Catalog: str(n["catalog_name"]), Schema: str(n["schema_name"]), Name: str(n["table_name"])}
				if !seen[r] {
					seen[r] = true
					refs = append(refs, r)
				}
			}
			if cm, ok := n["cte_map"].(map[string]any); ok {
				if entries, ok := cm["map"].([]any); ok {
					for _, e := range entries {
						if em, ok := e.(map[string]any); ok {
							ctes[str(em["key"])] = true
						}
					}
				}
			}
			for _, child := range n {
				walk(child)
			}
		case []any:
			for _, child := range n {
				walk(child)
			}
		}
	}
	walk(doc)
	out := refs[:0]
	for _, r := range refs {
		if r.Catalog == "" && r.Schema == "" && ctes[r.Name] {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Schema != out[j].Schema {
			return out[i].Schema < out[j].Schema
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

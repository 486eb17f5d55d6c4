package sqlplan

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Analysis is what a query reaches, read from DuckDB's own parse of it
// (json_serialize_sql): the relations it names, the table functions it
// calls in FROM, and the other functions it calls. Privileges and the file
// sandbox are checked against it (package access), before DuckDB binds the
// query. Names are as written: resolving them is the checker's job.
type Analysis struct {
	Tables         []TableRef
	TableFunctions []FuncCall
	Functions      []FuncCall
	// ListsCatalog is set by SHOW TABLES and SHOW ALL TABLES, which list
	// every relation of the database.
	ListsCatalog bool
}

// FuncCall is one call of a function.
type FuncCall struct {
	Catalog, Schema, Name string
	// Args are the call's first positional argument when it is a constant
	// string or a list of constant strings (a table function's path or
	// paths, a sequence's name): ArgsConstant says whether it was.
	Args         []string
	ArgsConstant bool
	// NoArgs is set when the call has no positional argument.
	NoArgs bool
}

// Analyze reads the output of json_serialize_sql. A reference to a common
// table expression is not a table: only where the CTE is in scope (in the
// query that defines it and the CTEs defined after it; in its own body only
// when it is recursive), as DuckDB binds them, so a name that a CTE shadows
// in one subquery is still checked where it names a table.
func Analyze(serialized string) (*Analysis, error) {
	var doc any
	if err := json.Unmarshal([]byte(serialized), &doc); err != nil {
		return nil, fmt.Errorf("sqlplan: bad json_serialize_sql output: %w", err)
	}
	if m, ok := doc.(map[string]any); ok && m["error"] == true {
		msg, _ := m["error_message"].(string)
		return nil, fmt.Errorf("%s", msg)
	}
	a := &analyzer{seenTable: map[TableRef]bool{}}
	a.walk(doc, nil)
	sort.Slice(a.out.Tables, func(i, j int) bool {
		x, y := a.out.Tables[i], a.out.Tables[j]
		if x.Catalog != y.Catalog {
			return x.Catalog < y.Catalog
		}
		if x.Schema != y.Schema {
			return x.Schema < y.Schema
		}
		return x.Name < y.Name
	})
	return &a.out, nil
}

type analyzer struct {
	out       Analysis
	seenTable map[TableRef]bool
}

// scope is the CTE names visible at a node.
type scope struct {
	names  map[string]bool
	parent *scope
}

func (s *scope) has(name string) bool {
	for ; s != nil; s = s.parent {
		if s.names[name] {
			return true
		}
	}
	return false
}

func (a *analyzer) walk(v any, sc *scope) {
	switch n := v.(type) {
	case []any:
		for _, child := range n {
			a.walk(child, sc)
		}
	case map[string]any:
		if cm, ok := n["cte_map"].(map[string]any); ok {
			sc = a.ctes(cm, sc)
		}
		switch n["type"] {
		case "BASE_TABLE":
			r := TableRef{Catalog: str(n["catalog_name"]), Schema: str(n["schema_name"]), Name: str(n["table_name"])}
			if !(r.Catalog == "" && r.Schema == "" && sc.has(r.Name)) && !a.seenTable[r] {
				a.seenTable[r] = true
				a.out.Tables = append(a.out.Tables, r)
			}
		case "SHOW_REF":
			if _, isQuery := n["query"].(map[string]any); !isQuery {
				a.out.ListsCatalog = true
			}
		case "TABLE_FUNCTION":
			if f, ok := n["function"].(map[string]any); ok {
				a.out.TableFunctions = append(a.out.TableFunctions, call(f))
				// Its arguments may hold subqueries and calls of their own.
				a.walk(f["children"], sc)
			}
			for k, child := range n {
				if k != "function" {
					a.walk(child, sc)
				}
			}
			return
		}
		if n["class"] == "FUNCTION" {
			a.out.Functions = append(a.out.Functions, call(n))
		}
		for k, child := range n {
			if k != "cte_map" {
				a.walk(child, sc)
			}
		}
	}
}

// ctes walks the bodies of a node's common table expressions, each in the
// scope of the ones before it (and itself, when recursive), and returns the
// scope of the node's own query: all of them.
func (a *analyzer) ctes(cm map[string]any, sc *scope) *scope {
	entries, _ := cm["map"].([]any)
	if len(entries) == 0 {
		return sc
	}
	inner := &scope{names: map[string]bool{}, parent: sc}
	for _, e := range entries {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		name := str(em["key"])
		body := em["value"]
		own := inner
		if recursive(body) {
			own = &scope{names: map[string]bool{name: true}, parent: inner}
		}
		a.walk(body, own)
		inner.names[name] = true
	}
	return inner
}

// recursive reports whether a CTE's body is a recursive query (DuckDB's
// RECURSIVE_CTE_NODE), in which its own name refers to itself.
func recursive(body any) bool {
	m, _ := body.(map[string]any)
	q, _ := m["query"].(map[string]any)
	node, _ := q["node"].(map[string]any)
	return node["type"] == "RECURSIVE_CTE_NODE"
}

// call reads a FUNCTION node: its name and its first positional argument.
func call(f map[string]any) FuncCall {
	c := FuncCall{Catalog: str(f["catalog"]), Schema: str(f["schema"]), Name: str(f["function_name"])}
	children, _ := f["children"].([]any)
	for _, ch := range children {
		m, _ := ch.(map[string]any)
		if str(m["alias"]) != "" || isNamedParameter(m) {
			continue
		}
		c.Args, c.ArgsConstant = constantStrings(m)
		return c
	}
	c.NoArgs = true
	return c
}

// isNamedParameter reports DuckDB's form of a named argument, name = value
// (a comparison whose left side is a bare column name).
func isNamedParameter(m map[string]any) bool {
	if m["type"] != "COMPARE_EQUAL" {
		return false
	}
	left, _ := m["left"].(map[string]any)
	cols, _ := left["column_names"].([]any)
	return left["class"] == "COLUMN_REF" && len(cols) == 1
}

// constantStrings returns the strings of a constant string or of a list
// of constant strings.
func constantStrings(m map[string]any) ([]string, bool) {
	switch {
	case m["class"] == "CONSTANT":
		v, _ := m["value"].(map[string]any)
		t, _ := v["type"].(map[string]any)
		if t["id"] != "VARCHAR" {
			return nil, false
		}
		s, ok := v["value"].(string)
		return []string{s}, ok
	case m["class"] == "FUNCTION" && m["function_name"] == "list_value":
		children, _ := m["children"].([]any)
		var out []string
		for _, ch := range children {
			cm, _ := ch.(map[string]any)
			s, ok := constantStrings(cm)
			if !ok {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, len(out) > 0
	}
	return nil, false
}

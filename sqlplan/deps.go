package sqlplan

// TableRef is a relation a query reads, as written in the query.
type TableRef struct {
	Catalog string
	Schema  string
	Name    string
}

// TableRefs extracts the base tables a query reads from DuckDB's own parse
// of it (the output of json_serialize_sql), minus the references to the
// query's common table expressions where they are in scope (Analyze).
// Table functions (read_parquet(...)) are not relations and are not
// returned.
func TableRefs(serialized string) ([]TableRef, error) {
	a, err := Analyze(serialized)
	if err != nil {
		return nil, err
	}
	return a.Tables, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

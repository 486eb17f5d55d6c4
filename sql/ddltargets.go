package sql

// RelationDDL describes a passed-through statement that drops or redefines
// relations, so the gateway can protect Sluice's objects (a source or a
// materialized view is a DuckDB view underneath) and their dependents.
type RelationDDL struct {
	Verb    string // "DROP", "ALTER" or "REPLACE" (CREATE OR REPLACE)
	Kind    string // "TABLE" or "VIEW"
	Names   []Name
	Cascade bool
	Query   string // REPLACE VIEW: the view's new query, after AS
}

// DDLTargets returns the relations a DROP {TABLE | VIEW}, ALTER {TABLE |
// VIEW} or CREATE OR REPLACE {TABLE | VIEW} statement names, or nil for any
// other statement (or one it cannot read; DuckDB will judge it).
func DDLTargets(stmt string) *RelationDDL {
	toks, err := lexAll(stmt)
	if err != nil || len(toks) < 3 {
		return nil
	}
	p := &parser{src: stmt, toks: toks[:len(toks)-1], end: toks[len(toks)-1]}
	d := &RelationDDL{}
	switch {
	case p.acceptWords("drop"):
		d.Verb = "DROP"
	case p.acceptWords("alter"):
		d.Verb = "ALTER"
	case p.acceptWords("create", "or", "replace"):
		d.Verb = "REPLACE"
	default:
		return nil
	}
	switch {
	case p.acceptWords("table"):
		d.Kind = "TABLE"
	case p.acceptWords("view"):
		d.Kind = "VIEW"
	default:
		return nil // TEMP objects, other kinds
	}
	if d.Verb != "REPLACE" {
		p.acceptWords("if", "exists")
	}
	for {
		n, err := p.name()
		if err != nil {
			return nil
		}
		d.Names = append(d.Names, n)
		if d.Verb != "DROP" || !p.acceptOp(",") {
			break
		}
	}
	if d.Verb == "DROP" {
		d.Cascade = p.acceptWords("cascade")
	}
	if d.Verb == "REPLACE" && d.Kind == "VIEW" {
		if p.acceptOp("(") { // column aliases
			for p.i < len(p.toks) && !p.acceptOp(")") {
				p.skip(1)
			}
		}
		if p.acceptWords("as") && p.i < len(p.toks) {
			d.Query = stmt[p.toks[p.i].start:p.toks[len(p.toks)-1].end]
		}
	}
	return d
}

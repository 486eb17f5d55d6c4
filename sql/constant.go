package sql

// constantTypes are the type names a constant query may cast to: DuckDB's
// own built-in types, which its parser resolves by name before any
// catalog is consulted (a user type cannot shadow them), and whose casts
// from a literal read no setting (no time zone, no date style, no locale).
var constantTypes = map[string]bool{
	"text": true, "varchar": true, "char": true, "character": true, "bpchar": true, "string": true,
	"int": true, "integer": true, "int2": true, "int4": true, "int8": true,
	"smallint": true, "bigint": true, "hugeint": true,
	"boolean": true, "bool": true,
	"numeric": true, "decimal": true,
	"real": true, "float": true, "float4": true, "float8": true, "double": true,
}

// IsConstantQuery reports whether stmt, one statement, is a query whose
// answer is fixed by its text alone: SELECT followed by a list of items,
// each a literal (a number, optionally signed; a string; TRUE, FALSE or
// NULL), optionally cast with :: to built-in types (constantTypes), and
// optionally named (AS name, or a bare name that is no keyword). Nothing
// in it names a relation, a function, a parameter or a setting, so the
// same text bound in the same state gives the same columns and row: the
// gateway may answer it again without asking DuckDB (internal/gateway,
// answers.go). It fails fast: most queries are refused at their second
// token.
func IsConstantQuery(stmt string) bool {
	l := lexer{src: stmt}
	next := func() token {
		t, err := l.next()
		if err != nil {
			return token{kind: tokOp, val: "\x00"} // refused below: never a literal
		}
		return t
	}
	if t := next(); t.kind != tokIdent || t.val != "select" {
		return false
	}
	t := next()
	for {
		// A literal.
		if isOp(t, "-") || isOp(t, "+") {
			if t = next(); t.kind != tokNumber {
				return false
			}
		}
		switch {
		case t.kind == tokNumber, t.kind == tokString:
		case t.kind == tokIdent && (t.val == "true" || t.val == "false" || t.val == "null"):
		default:
			return false
		}
		t = next()
		// Its casts.
		for isOp(t, "::") {
			if t = next(); t.kind != tokIdent || !constantTypes[t.val] {
				return false
			}
			typ := t.val
			t = next()
			switch {
			case typ == "double" && t.kind == tokIdent && t.val == "precision":
				t = next()
			case typ == "character" && t.kind == tokIdent && t.val == "varying":
				t = next()
			}
			if isOp(t, "(") { // varchar(10), numeric(10, 2)
				for i := 0; ; i++ {
					if t = next(); t.kind != tokNumber {
						return false
					}
					if t = next(); isOp(t, ")") {
						break
					}
					if !isOp(t, ",") || i > 0 {
						return false
					}
				}
				t = next()
			}
		}
		// Its name.
		switch {
		case t.kind == tokIdent && t.val == "as":
			if t = next(); t.kind != tokIdent && t.kind != tokQuotedIdent {
				return false
			}
			t = next()
		case t.kind == tokQuotedIdent:
			t = next()
		case t.kind == tokIdent:
			if _, kw := keywords[t.val]; kw {
				return false
			}
			t = next()
		}
		switch {
		case isOp(t, ","):
			t = next()
			continue
		case isOp(t, ";"):
			t = next()
		}
		return t.kind == tokEOF
	}
}

package pgcodec

// ColumnName is the name PostgreSQL gives an output column that DuckDB named
// after the expression's text. PostgreSQL names an unaliased function call
// after the function (count(*) is "count", pg_catalog.format_type(...) is
// "format_type"); DuckDB names it after the whole call ("count_star()",
// "pg_sluice.format_type(a.atttypid, a.atttypmod)"). Clients that read
// columns by name (SQLAlchemy, DBeaver) depend on PostgreSQL's names. Any
// other name, aliases included, is kept as it is.
func ColumnName(name string) string {
	n := len(name)
	if n < 3 || name[n-1] != ')' {
		return name
	}
	// The leading dotted identifier, then '(' right after it.
	i := 0
	for i < n {
		j, ident := i, ""
		if name[i] == '"' { // a quoted identifier: pg_sluice."version"()
			j++
			for j < n {
				if name[j] == '"' {
					if j+1 < n && name[j+1] == '"' {
						ident += `"`
						j += 2
						continue
					}
					break
				}
				ident += string(name[j])
				j++
			}
			if j >= n {
				return name
			}
			j++ // the closing quote
		} else {
			for j < n && isIdentByte(name[j], j == i) {
				j++
			}
			ident = name[i:j]
		}
		if j == i || ident == "" {
			return name
		}
		if j < n && name[j] == '.' {
			i = j + 1
			continue
		}
		if j < n && name[j] == '(' && balanced(name[j:]) {
			switch fn := ident; fn {
			case "count_star":
				return "count"
			case "CAST", "TRY_CAST":
				return name // PostgreSQL names a cast after its type; keep DuckDB's text
			default:
				return fn
			}
		}
		return name
	}
	return name
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// balanced reports whether s, starting with '(', closes its parenthesis
// exactly at its end (quotes respected), so "f(a) + g(b)" is not a call.
func balanced(s string) bool {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i == len(s)-1
			}
		}
	}
	return false
}

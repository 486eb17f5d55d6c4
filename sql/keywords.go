package sql

import "strings"

// keywordCategory is PostgreSQL's classification of a keyword (kwlist.h).
// Unreserved keywords are not listed: they behave as plain identifiers.
type keywordCategory int

const (
	unreservedKeyword   keywordCategory = iota
	colNameKeyword                      // may be a column or table name, not a function or type name
	typeFuncNameKeyword                 // may be a function or type name, not a column or table name
	reservedKeyword                     // never a bare name
)

// keywords holds PostgreSQL's non-unreserved keywords (PostgreSQL 17).
var keywords = func() map[string]keywordCategory {
	m := make(map[string]keywordCategory)
	add := func(c keywordCategory, words string) {
		for _, w := range strings.Fields(words) {
			m[w] = c
		}
	}
	add(reservedKeyword, `all analyse analyze and any array as asc asymmetric both
		case cast check collate column constraint create current_catalog
		current_date current_role current_time current_timestamp current_user
		default deferrable desc distinct do else end except false fetch for
		foreign from grant group having in initially intersect into lateral
		leading limit localtime localtimestamp not null offset on only or order
		placing primary references returning select session_user some symmetric
		system_user table then to trailing true union unique user using variadic
		when where window with`)
	add(typeFuncNameKeyword, `authorization binary collation concurrently cross
		current_schema freeze full ilike inner is isnull join left like natural
		notnull outer overlaps right similar tablesample verbose`)
	add(colNameKeyword, `between bigint bit boolean char character coalesce dec
		decimal exists extract float greatest grouping inout int integer interval
		json json_array json_arrayagg json_exists json_object json_objectagg
		json_query json_scalar json_serialize json_table json_value least
		merge_action national nchar none normalize nullif numeric out overlay
		position precision real row setof smallint substring time timestamp treat
		trim values varchar xmlattributes xmlconcat xmlelement xmlexists xmlforest
		xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable`)
	return m
}()

// keywordOf returns the category of a lower-case word.
func keywordOf(word string) keywordCategory {
	return keywords[word] // unreservedKeyword (zero) when absent
}

// QuoteIdent returns s as a PostgreSQL identifier: unchanged when it is
// lower-case letters, digits and underscores, does not start with a digit and
// is not a keyword that would need quoting; otherwise in double quotes with
// embedded double quotes doubled. It is the rule of PostgreSQL's
// quote_ident().
func QuoteIdent(s string) string {
	if isSafeIdent(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func isSafeIdent(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return keywordOf(s) == unreservedKeyword
}

// QuoteLiteral returns s as a standard SQL string literal: in single quotes,
// embedded single quotes doubled. Backslashes are not special (standard
// conforming strings, as in PostgreSQL and DuckDB).
func QuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

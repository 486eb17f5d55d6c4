package postgres

// Describing a source at Open: its columns and their Arrow types, the
// cursor column, the indexed columns a read can be split by, and the check
// against the columns the source was created with.

import (
	"context"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// describe reads the columns, checks cursor_column and the stored schema,
// and finds the columns a read can be split by.
func (s *source) describe(ctx context.Context, conn *pgx.Conn, opts map[string]string, stored *arrow.Schema) error {
	desc, err := conn.PgConn().Prepare(ctx, "", "SELECT * FROM "+s.rel+" AS q", nil)
	if err != nil {
		return err
	}
	what := "query"
	if s.table != "" {
		what = "table " + s.table
	}
	if len(desc.Fields) == 0 {
		return pgerr.Unsupported("the POSTGRES source's %s returns no columns", what)
	}
	fields := make([]arrow.Field, 0, len(desc.Fields))
	seen := map[string]bool{}
	aliases := make([]string, 0, len(desc.Fields))
	for i, f := range desc.Fields {
		if seen[f.Name] {
			return pgerr.New(pgerrcode.DuplicateColumn, "the POSTGRES source's %s returns column %q more than once; give the columns distinct names", what, f.Name)
		}
		seen[f.Name] = true
		c := mapColumn(f.Name, f.DataTypeOID, f.TypeModifier)
		s.cols = append(s.cols, c)
		fields = append(fields, c.field)
		aliases = append(aliases, "c"+strconv.Itoa(i+1))
	}
	s.alias = " AS q(" + strings.Join(aliases, ", ") + ")"
	s.schema = arrow.NewSchema(fields, nil)
	if stored != nil {
		if err := sameColumns(stored, s.schema); err != nil {
			return err
		}
		s.schema = stored
	}

	if name, ok := opts["cursor_column"]; ok {
		for i, c := range s.cols {
			if c.name == name {
				s.cursor = i
			}
		}
		if s.cursor < 0 {
			names := make([]string, len(s.cols))
			for i, c := range s.cols {
				names[i] = c.name
			}
			return pgerr.InvalidParameter("invalid value for option \"cursor_column\": %s has no column %q (its columns: %s)", what, name, strings.Join(names, ", "))
		}
		if c := s.cols[s.cursor]; !cursorType(c.oid) {
			return pgerr.InvalidParameter("invalid value for option \"cursor_column\": column %q is %s, which cannot be a cursor (use an integer, numeric, date, timestamp, timestamptz or text column)", name, typeName(c.oid))
		}
	}
	if s.table == "" || s.parallel == 1 {
		return nil
	}
	// Indexes leading with a column: a range of it is cheap to read.
	rows, err := conn.Query(ctx, `
		SELECT a.attname, i.indisprimary AND i.indnkeyatts = 1
		FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = $1::regclass AND i.indisvalid AND i.indpred IS NULL`, s.table)
	if err != nil {
		return err
	}
	var indexed []string
	var pk string
	for rows.Next() {
		var name string
		var isPK bool
		if err := rows.Scan(&name, &isPK); err != nil {
			return err
		}
		indexed = append(indexed, name)
		if isPK {
			pk = name
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i, c := range s.cols {
		if i == s.cursor && integerType(c.oid) {
			for _, n := range indexed {
				s.cursorIndexed = s.cursorIndexed || n == c.name
			}
		}
		if c.name == pk && integerType(c.oid) {
			s.pk = i
		}
	}
	return nil
}

// sameColumns checks that the columns described now are the ones the
// source was created with.
func sameColumns(stored, now *arrow.Schema) error {
	if stored.NumFields() != now.NumFields() {
		return pgerr.New(pgerrcode.DatatypeMismatch, "the POSTGRES source's columns changed since it was created: it had %d columns, now %d; recreate the source", stored.NumFields(), now.NumFields())
	}
	for i, f := range stored.Fields() {
		g := now.Field(i)
		if f.Name != g.Name || !arrow.TypeEqual(f.Type, g.Type) {
			return pgerr.New(pgerrcode.DatatypeMismatch, "the POSTGRES source's columns changed since it was created: column %d was %s %s, now %s %s; recreate the source", i+1, f.Name, f.Type, g.Name, g.Type)
		}
	}
	return nil
}

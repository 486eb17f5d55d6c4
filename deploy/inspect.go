package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
)

// Current is the catalog as the connected role sees it: the sources,
// materialized views, pipelines and plain views of the schemas it may use
// (the system views show a role the objects it holds a privilege on),
// their columns, lineage and grants.
type Current struct {
	Objects map[Ref]*Object
	Columns map[Ref][]Column
	Owners  map[Ref]string
	Grants  []Grant // every grant to a role other than the owner
	// Reads are the relations each object reads: Sluice's objects from
	// sluice.dependencies, plain views from their definitions.
	Reads map[Ref][]Ref
}

// Described is what the gateway said of a query DIR defines.
type Described struct {
	Columns []Column
	Err     *pgconn.PgError // the query does not bind (nil: Columns are set)
}

// Inputs are everything Compute needs: no I/O happens after Inspect.
type Inputs struct {
	Desired *Desired
	Current *Current
	// Reads are the relations each desired object's query reads, from the
	// gateway's parse of it (DuckDB's json_serialize_sql).
	Reads map[Ref][]Ref
	// Described are the desired queries' columns as the gateway binds them
	// now (DESCRIBE query): a query reading an object this plan creates
	// or changes may not bind yet.
	Described map[Ref]Described
	// Views are the desired and current plain views' queries in a form
	// where formatting does not count (the parse, without positions).
	Views map[string]string
	User  string // the connected role, for CURRENT_USER
	Prune bool
}

// systemSchemas hold no object of DIR's.
var systemSchemas = map[string]bool{"sluice": true, "sluice_catalog": true, "pg_catalog": true, "information_schema": true, "pg_sluice": true, "main": true}

// Inspect reads the catalog through conn and asks the gateway about the
// desired definitions.
func Inspect(ctx context.Context, conn *pgx.Conn, d *Desired, prune bool) (*Inputs, error) {
	cur := &Current{Objects: map[Ref]*Object{}, Columns: map[Ref][]Column{}, Owners: map[Ref]string{}, Reads: map[Ref][]Ref{}}
	in := &Inputs{Desired: d, Current: cur, Reads: map[Ref][]Ref{}, Described: map[Ref]Described{}, Views: map[string]string{}, Prune: prune}
	// The role the connection logged in as is the session's role (Sluice
	// has no SET ROLE).
	in.User = conn.Config().User
	if err := readSources(ctx, conn, cur); err != nil {
		return nil, fmt.Errorf("reading sluice.sources: %w", err)
	}
	for _, k := range []Kind{KindMaterializedView, KindPipeline} {
		if err := readScheduled(ctx, conn, cur, k); err != nil {
			return nil, fmt.Errorf("reading the %ss: %w", k, err)
		}
	}
	if err := readViews(ctx, conn, cur); err != nil {
		return nil, fmt.Errorf("reading pg_views: %w", err)
	}
	if err := readColumns(ctx, conn, cur); err != nil {
		return nil, fmt.Errorf("reading information_schema.columns: %w", err)
	}
	if err := readDependencies(ctx, conn, cur); err != nil {
		return nil, fmt.Errorf("reading sluice.dependencies: %w", err)
	}
	if err := readACLs(ctx, conn, cur); err != nil {
		return nil, fmt.Errorf("reading pg_class: %w", err)
	}
	// Plain views: what they read, and their parse to compare.
	for ref, o := range cur.Objects {
		if o.Kind != KindView {
			continue
		}
		js, err := parse(ctx, conn, o.Query)
		if err != nil {
			continue
		}
		in.Views[o.Query] = js.canonical
		cur.Reads[ref] = js.reads
	}
	for _, o := range d.Objects {
		if o.Query == "" {
			continue
		}
		js, err := parse(ctx, conn, o.Query)
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", o.Pos, o.Kind, o.Ref, err)
		}
		in.Reads[o.Ref] = js.reads
		if o.Kind == KindView {
			in.Views[o.Query] = js.canonical
		}
		in.Described[o.Ref] = describe(ctx, conn, o.Query)
	}
	return in, nil
}

func readSources(ctx context.Context, conn *pgx.Conn, cur *Current) error {
	rows, err := conn.Query(ctx, `SELECT schema, name, connector, coalesce(location, ''), CAST(to_json(options) AS VARCHAR) FROM sluice.sources`)
	if err != nil {
		return err
	}
	return forEach(rows, func(r pgx.Rows) error {
		o := &Object{Kind: KindSource}
		var opts string
		if err := r.Scan(&o.Ref.Schema, &o.Ref.Name, &o.Connector, &o.Location, &opts); err != nil {
			return err
		}
		o.Options = map[string]string{}
		if err := jsonInto(opts, &o.Options); err != nil {
			return err
		}
		cur.Objects[o.Ref] = o
		return nil
	})
}

func readScheduled(ctx context.Context, conn *pgx.Conn, cur *Current, k Kind) error {
	table := "sluice.materialized_views"
	if k == KindPipeline {
		table = "sluice.pipelines"
	}
	rows, err := conn.Query(ctx, `SELECT schema, name, query, CAST(to_json(partition_by) AS VARCHAR), CAST(to_json(options) AS VARCHAR),
		refresh, coalesce(constraints, '') FROM `+table)
	if err != nil {
		return err
	}
	return forEach(rows, func(r pgx.Rows) error {
		o := &Object{Kind: k, Options: map[string]string{}}
		var parts, opts, cons string
		if err := r.Scan(&o.Ref.Schema, &o.Ref.Name, &o.Query, &parts, &opts, &o.Refresh, &cons); err != nil {
			return err
		}
		if err := jsonInto(parts, &o.PartitionBy); err != nil {
			return err
		}
		if err := jsonInto(opts, &o.Options); err != nil {
			return err
		}
		if cons != "" {
			if err := jsonInto(cons, &o.Constraints); err != nil {
				return err
			}
		}
		if o.PartitionBy == nil {
			o.PartitionBy = []string{}
		}
		cur.Objects[o.Ref] = o
		return nil
	})
}

// readViews reads the plain views (pg_views lists Sluice's objects too:
// they are DuckDB views underneath).
func readViews(ctx context.Context, conn *pgx.Conn, cur *Current) error {
	rows, err := conn.Query(ctx, `SELECT schemaname, viewname, definition FROM pg_catalog.pg_views`)
	if err != nil {
		return err
	}
	return forEach(rows, func(r pgx.Rows) error {
		var ref Ref
		var def string
		if err := r.Scan(&ref.Schema, &ref.Name, &def); err != nil {
			return err
		}
		if systemSchemas[ref.Schema] || cur.Objects[ref] != nil {
			return nil
		}
		q := strings.TrimSuffix(strings.TrimSpace(def), ";")
		cur.Objects[ref] = &Object{Kind: KindView, Ref: ref, Query: q, PartitionBy: []string{}}
		return nil
	})
}

func readColumns(ctx context.Context, conn *pgx.Conn, cur *Current) error {
	rows, err := conn.Query(ctx, `SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
		ORDER BY table_schema, table_name, ordinal_position`)
	if err != nil {
		return err
	}
	return forEach(rows, func(r pgx.Rows) error {
		var ref Ref
		var c Column
		if err := r.Scan(&ref.Schema, &ref.Name, &c.Name, &c.Type); err != nil {
			return err
		}
		if cur.Objects[ref] != nil {
			cur.Columns[ref] = append(cur.Columns[ref], c)
		}
		return nil
	})
}

func readDependencies(ctx context.Context, conn *pgx.Conn, cur *Current) error {
	rows, err := conn.Query(ctx, `SELECT object_schema, object, depends_on_schema, depends_on FROM sluice.dependencies`)
	if err != nil {
		return err
	}
	return forEach(rows, func(r pgx.Rows) error {
		var o, d Ref
		if err := r.Scan(&o.Schema, &o.Name, &d.Schema, &d.Name); err != nil {
			return err
		}
		cur.Reads[o] = append(cur.Reads[o], d)
		return nil
	})
}

// readACLs reads each object's owner and grants from pg_class's relacl
// (PostgreSQL's aclitem text: grantee=privileges/grantor).
func readACLs(ctx context.Context, conn *pgx.Conn, cur *Current) error {
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname, coalesce(array_to_string(c.relacl, ','), ''), coalesce(pg_get_userbyid(c.relowner), '')
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm')`)
	if err != nil {
		return err
	}
	return forEach(rows, func(r pgx.Rows) error {
		var ref Ref
		var acl, owner string
		if err := r.Scan(&ref.Schema, &ref.Name, &acl, &owner); err != nil {
			return err
		}
		if cur.Objects[ref] == nil {
			return nil
		}
		cur.Owners[ref] = owner
		for _, g := range parseACL(acl, ref) {
			if g.Grantee != owner {
				cur.Grants = append(cur.Grants, g)
			}
		}
		return nil
	})
}

// aclLetters are PostgreSQL's aclitem letters of the privileges relations
// have (m is Sluice's REFRESH).
var aclLetters = map[byte]string{'r': "SELECT", 'a': "INSERT", 'w': "UPDATE", 'd': "DELETE", 'D': "TRUNCATE", 'm': "REFRESH"}

// parseACL reads {grantee=privs/grantor,...}; an empty grantee is PUBLIC.
func parseACL(acl string, on Ref) []Grant {
	acl = strings.TrimSuffix(strings.TrimPrefix(acl, "{"), "}")
	var out []Grant
	for _, item := range strings.Split(acl, ",") {
		grantee, rest, ok := strings.Cut(item, "=")
		if !ok {
			continue
		}
		grantee = strings.Trim(grantee, `"`)
		if grantee == "" {
			grantee = "PUBLIC"
		}
		privs, _, _ := strings.Cut(rest, "/")
		for i := 0; i < len(privs); i++ {
			p, ok := aclLetters[privs[i]]
			if !ok {
				continue
			}
			g := Grant{Privilege: p, On: on, Grantee: grantee}
			if i+1 < len(privs) && privs[i+1] == '*' {
				g.GrantOption = true
				i++
			}
			out = append(out, g)
		}
	}
	return out
}

// parsed is the gateway's parse of a query.
type parsed struct {
	canonical string // json_serialize_sql without positions
	reads     []Ref
}

// parse asks the gateway for DuckDB's parse of a query: what it reads, and
// a form of it where formatting does not count.
func parse(ctx context.Context, conn *pgx.Conn, query string) (parsed, error) {
	var js string
	if err := conn.QueryRow(ctx, `SELECT CAST(json_serialize_sql(`+sql.QuoteLiteral(query)+`) AS VARCHAR)`, pgx.QueryExecModeSimpleProtocol).Scan(&js); err != nil {
		return parsed{}, err
	}
	var tree map[string]any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return parsed{}, err
	}
	if e, _ := tree["error"].(bool); e {
		msg, _ := tree["error_message"].(string)
		return parsed{}, fmt.Errorf("the query does not parse: %s", msg)
	}
	var p parsed
	tables, err := sqlplan.TableRefs(js)
	if err != nil {
		return parsed{}, err
	}
	seen := map[Ref]bool{}
	for _, t := range tables {
		if t.Catalog != "" && t.Catalog != "sluice" {
			continue
		}
		r := Ref{Schema: t.Schema, Name: t.Name}
		if r.Schema == "" {
			r.Schema = "public"
		}
		if !seen[r] {
			seen[r] = true
			p.reads = append(p.reads, r)
		}
	}
	stripLocations(tree)
	b, err := json.Marshal(tree)
	if err != nil {
		return parsed{}, err
	}
	p.canonical = string(b)
	return p, nil
}

// stripLocations removes the query_location fields, which count bytes.
func stripLocations(v any) {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "query_location")
		for _, x := range v {
			stripLocations(x)
		}
	case []any:
		for _, x := range v {
			stripLocations(x)
		}
	}
}

// describe asks the gateway for a query's columns (DESCRIBE binds it and
// runs nothing).
func describe(ctx context.Context, conn *pgx.Conn, query string) Described {
	rows, err := conn.Query(ctx, "DESCRIBE "+query, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return describedErr(err)
	}
	var d Described
	err = forEach(rows, func(r pgx.Rows) error {
		vals, err := r.Values()
		if err != nil {
			return err
		}
		if len(vals) < 2 {
			return fmt.Errorf("DESCRIBE returned %d columns", len(vals))
		}
		d.Columns = append(d.Columns, Column{Name: fmt.Sprint(vals[0]), Type: fmt.Sprint(vals[1])})
		return nil
	})
	if err != nil {
		return describedErr(err)
	}
	return d
}

func describedErr(err error) Described {
	var pe *pgconn.PgError
	if e, ok := err.(*pgconn.PgError); ok {
		pe = e
	} else {
		pe = &pgconn.PgError{Code: "XX000", Message: err.Error()}
	}
	return Described{Err: pe}
}

func forEach(rows pgx.Rows, fn func(pgx.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func jsonInto(s string, v any) error {
	if s == "" || s == "null" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

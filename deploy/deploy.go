// Package deploy is pipelines as code: `sluice-gateway plan DIR` and
// `sluice-gateway apply DIR`. DIR holds *.sql files of CREATE SOURCE,
// CREATE MATERIALIZED VIEW, CREATE PIPELINE, CREATE VIEW and GRANT
// statements; plan compares them with a running gateway's catalog and
// prints what apply would change, like terraform plan: create, alter in
// place, rebuild (with the change classified breaking or not for the
// objects that read it, as SQLMesh does), drop (only with --prune).
//
// The package is a client of the gateway like any other: it talks to it
// over the PostgreSQL wire with pgx (Inspect reads the system tables,
// pg_catalog and information_schema, and asks the gateway to describe the
// new queries; Apply sends the statements), so it works against a remote
// gateway, with the privileges of the role it connects as. The plan itself
// is computed without I/O (Compute) and golden-tested.
//
// The flow: Load(dir) reads the desired state, Inspect(ctx, conn, desired)
// gathers the current one, Compute(inputs) returns the Plan, Plan.Text
// renders it, Apply(ctx, conn, plan, ...) executes it.
package deploy

import (
	"strconv"
	"strings"

	"github.com/sluice-db/sluice/sql"
)

// Kind is the kind of an object DIR defines.
type Kind string

const (
	KindSource           Kind = "source"
	KindMaterializedView Kind = "materialized view"
	KindPipeline         Kind = "pipeline"
	KindView             Kind = "view"
)

// keyword is the kind as SQL writes it (DROP <keyword> name).
func (k Kind) keyword() string { return strings.ToUpper(string(k)) }

// Ref names a relation; unqualified names are in schema public, as the
// gateway resolves them.
type Ref struct {
	Schema string
	Name   string
}

func (r Ref) String() string { return r.Schema + "." + r.Name }

// SQL is the name quoted for a statement.
func (r Ref) SQL() string { return sql.QuoteIdent(r.Schema) + "." + sql.QuoteIdent(r.Name) }

func resolve(n sql.Name) Ref {
	if n.Schema == "" {
		return Ref{Schema: "public", Name: n.Name}
	}
	return Ref{Schema: n.Schema, Name: n.Name}
}

// Column is a column of a relation, with DuckDB's type name.
type Column struct {
	Name string
	Type string
}

// Position is where a statement is in DIR.
type Position struct {
	File string // base name
	Line int
}

func (p Position) String() string {
	if p.File == "" {
		return ""
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Package sql parses the Sluice dialect: the statements of SQL-SURFACE.md
// (CREATE SOURCE, CREATE MATERIALIZED VIEW, CREATE PIPELINE, REFRESH, SHOW,
// EXPLAIN REFRESH, ...) become typed statements; every other statement is
// returned as a Passthrough holding its exact text, for DuckDB.
//
// Parse splits a query string into statements with a real lexer (quoted
// identifiers and strings, E'...' and dollar quotes, comments, nested block
// comments) and never uses regular expressions. Syntax errors are
// *pgerr.Error with SQLSTATE 42601 and a 1-based character position into the
// whole query string.
package sql

// Statement is one parsed statement. The concrete types below are the whole
// set; consumers dispatch on them with one exhaustive type switch.
type Statement interface {
	// Text is the statement's exact source text (without the terminating ';').
	Text() string
	// Start is the 0-based byte offset of Text within the parsed string.
	Start() int
}

// Span locates a statement in the parsed string.
type Span struct {
	SQL    string // exact text of the statement
	Offset int    // 0-based byte offset in the parsed string
}

func (s Span) Text() string { return s.SQL }
func (s Span) Start() int   { return s.Offset }

// Name is a possibly schema-qualified object name, folded as PostgreSQL folds
// identifiers (unquoted to lower case, "Quoted" kept as written).
type Name struct {
	Schema string // "" when unqualified
	Name   string
}

func (n Name) String() string {
	if n.Schema == "" {
		return n.Name
	}
	return n.Schema + "." + n.Name
}

// ValueKind tells how an option value was written.
type ValueKind int

const (
	ValueString ValueKind = iota // 'text' (also E'' and $$ $$)
	ValueNumber                  // 42, 3.5, -1
	ValueBool                    // true, false, on, off
	ValueIdent                   // bare word: csv, earliest
	ValueSecret                  // SECRET name: a reference to a secret (secrets.go)
)

// Value is a literal in an option list.
type Value struct {
	Kind ValueKind
	Text string // the value: unquoted string contents, number text, "true"/"false", or folded identifier
	// Secret is the secret a ValueSecret names (Text is then its
	// Name.String()).
	Secret Name
}

// Option is one `key = value` of a WITH (...) or SET (...) list. Keys fold to
// lower case.
type Option struct {
	Key   string
	Value Value
	Pos   int // 1-based position of the key in the query, for error messages
}

// ObjectKind names the kinds of Sluice objects.
type ObjectKind int

const (
	KindSource ObjectKind = iota
	KindMaterializedView
	KindPipeline
)

func (k ObjectKind) String() string {
	switch k {
	case KindSource:
		return "SOURCE"
	case KindMaterializedView:
		return "MATERIALIZED VIEW"
	case KindPipeline:
		return "PIPELINE"
	}
	return "?"
}

// Violation is the action of an EXPECT constraint.
type Violation int

const (
	ViolationFail Violation = iota // default
	ViolationDropRow
	ViolationWarn
)

// Constraint is `CONSTRAINT name EXPECT (predicate) [ON VIOLATION ...]`.
type Constraint struct {
	Name      string
	Predicate string // exact text between the parentheses
	Action    Violation
}

// RefreshKind is the schedule kind of a REFRESH clause.
type RefreshKind int

const (
	RefreshManual RefreshKind = iota
	RefreshEvery
	RefreshCron
	RefreshOnChange
)

// RefreshPolicy is a REFRESH {MANUAL | EVERY ... | CRON ... | ON CHANGE} clause.
type RefreshPolicy struct {
	Kind      RefreshKind
	Interval  string // EVERY 'interval'
	AlignedTo string // EVERY ... ALIGNED TO 'timestamp'
	Cron      string // CRON 'expr'
	TimeZone  string // CRON ... TIME ZONE 'tz'
}

// PartitionValue is one `column = value` of REFRESH ... PARTITION (...).
type PartitionValue struct {
	Column string
	Value  Value
}

// Passthrough is any statement that is not Sluice's own; DuckDB runs its
// text unchanged.
type Passthrough struct {
	Span
}

// CreateSource is CREATE SOURCE [IF NOT EXISTS] name FROM ... [WITH (...)].
type CreateSource struct {
	Span
	Name        Name
	IfNotExists bool
	Connector   string // "files", "kafka", "postgres", "http" (lower case)
	Location    string // the FILES path/glob or HTTP url; "" for KAFKA/POSTGRES
	Options     []Option
}

// AlterSource is ALTER SOURCE name SET (...).
type AlterSource struct {
	Span
	Name    Name
	Options []Option
}

// CreateMaterializedView is CREATE [OR REPLACE] MATERIALIZED VIEW ... AS
// query [WITH [NO] DATA].
type CreateMaterializedView struct {
	Span
	// OrReplace is CREATE OR REPLACE: an existing view of the name gets the
	// new definition (ddl builds its first version beside the current one).
	OrReplace   bool
	Name        Name
	IfNotExists bool
	Constraints []Constraint
	PartitionBy []string // folded column names
	Refresh     *RefreshPolicy
	Options     []Option
	Query       string // exact text of the query after AS (without WITH [NO] DATA)
	QueryOffset int    // 0-based byte offset of Query in the parsed string
	WithData    bool   // false for WITH NO DATA
}

// CreatePipeline is CREATE [OR REPLACE] PIPELINE ... AS query.
type CreatePipeline struct {
	Span
	// OrReplace is CREATE OR REPLACE: an existing pipeline of the name gets
	// the new definition, its output rebuilt from all of its input.
	OrReplace   bool
	Name        Name
	IfNotExists bool
	Constraints []Constraint
	PartitionBy []string
	Refresh     *RefreshPolicy
	Options     []Option
	Query       string
	QueryOffset int
}

// Refresh is REFRESH MATERIALIZED VIEW name [PARTITION (...)] or
// REFRESH PIPELINE name.
type Refresh struct {
	Span
	Kind       ObjectKind // KindMaterializedView or KindPipeline
	Name       Name
	Partition  []PartitionValue // nil when not a backfill
	Concurrent bool             // REFRESH MATERIALIZED VIEW CONCURRENTLY (PostgreSQL); accepted, same behaviour
}

// AlterAction says what an ALTER MATERIALIZED VIEW / PIPELINE does.
type AlterAction int

const (
	AlterSetRefresh AlterAction = iota
	AlterSetOptions
	AlterSuspend
	AlterResume
)

// AlterObject is ALTER {MATERIALIZED VIEW | PIPELINE} name {SET REFRESH ... |
// SET (...) | SUSPEND | RESUME}.
type AlterObject struct {
	Span
	Kind    ObjectKind
	Name    Name
	Action  AlterAction
	Refresh *RefreshPolicy // AlterSetRefresh
	Options []Option       // AlterSetOptions
}

// Drop is DROP {SOURCE | MATERIALIZED VIEW | PIPELINE} [IF EXISTS] name[, ...]
// [CASCADE | RESTRICT].
type Drop struct {
	Span
	Kind     ObjectKind
	Names    []Name
	IfExists bool
	Cascade  bool
}

// ShowKind is what a SHOW statement lists.
type ShowKind int

const (
	ShowSources ShowKind = iota
	ShowMaterializedViews
	ShowPipelines
	ShowRuns
)

// Show is SHOW SOURCES | MATERIALIZED VIEWS | PIPELINES | RUNS [FOR name].
// (Other SHOW statements, e.g. SHOW TABLES or SHOW search_path, are Passthrough.)
type Show struct {
	Span
	What ShowKind
	For  *Name // SHOW RUNS FOR name
}

// ExplainRefresh is EXPLAIN REFRESH name.
type ExplainRefresh struct {
	Span
	Name Name
}

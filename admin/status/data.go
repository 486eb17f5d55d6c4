package status

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Everything the pages show is read from the system tables in schema
// sluice by QueryAs as the logged-in role: the rows filtered for that
// role, as psql would see them.

// row is one result row in PostgreSQL's text format.
type row []*string

func (r row) str(i int) string {
	if i >= len(r) || r[i] == nil {
		return ""
	}
	return *r[i]
}

func (r row) null(i int) bool { return i >= len(r) || r[i] == nil }

func (r row) int(i int) int64 {
	n, _ := strconv.ParseInt(r.str(i), 10, 64)
	return n
}

// optInt is nil for NULL.
func (r row) optInt(i int) *int64 {
	if r.null(i) {
		return nil
	}
	n := r.int(i)
	return &n
}

func (r row) bool(i int) bool { return r.str(i) == "t" || r.str(i) == "true" }

// ms reads epoch milliseconds (epoch_ms(ts)); the zero time for NULL.
func (r row) ms(i int) time.Time {
	if r.null(i) {
		return time.Time{}
	}
	n, err := strconv.ParseInt(r.str(i), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// seconds reads a number of seconds; nil for NULL.
func (r row) seconds(i int) *time.Duration {
	if r.null(i) {
		return nil
	}
	f, err := strconv.ParseFloat(r.str(i), 64)
	if err != nil {
		return nil
	}
	d := time.Duration(f * float64(time.Second))
	return &d
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteIdent quotes s as an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ref names an object.
type ref struct{ Schema, Name string }

func (r ref) String() string { return r.Schema + "." + r.Name }

// Path is the object's page.
func (r ref) Path() string { return "/objects/" + pathEscape(r.Schema) + "/" + pathEscape(r.Name) }

// RunsURL is the page of the object's runs.
func (r ref) RunsURL() string {
	return "/runs?" + url.Values{"schema": {r.Schema}, "object": {r.Name}}.Encode()
}

// sql is the object's name as SQL.
func (r ref) sql() string { return quoteIdent(r.Schema) + "." + quoteIdent(r.Name) }

// where is the condition selecting the object in a system table with
// columns schema and nameCol.
func (r ref) where(nameCol string) string {
	return "schema = " + quoteLiteral(r.Schema) + " AND " + nameCol + " = " + quoteLiteral(r.Name)
}

// failure is a failed run's error.
type failure struct {
	RunID    int64
	At       time.Time
	Message  string
	SQLState string
}

// qualityCount is one EXPECT constraint's violations.
type qualityCount struct {
	Constraint string
	Action     string
	Last       int64 // in the last run that checked it
	Total      int64 // over every run recorded
	RunID      int64
}

// object is a materialized view, a pipeline or a source, with its state.
type object struct {
	ref
	ID          int64
	Kind        string // materialized view, pipeline, source
	Refresh     string // the schedule as written: MANUAL, EVERY '1 hour', ...
	Status      string
	Suspended   bool
	Version     *int64
	Rows        *int64
	Files       *int64
	Bytes       *int64
	Partitions  int64
	NextRun     time.Time
	LastAttempt time.Time
	LastSuccess time.Time
	Staleness   *time.Duration
	LastFailure *failure // the latest failed run, if any
	Quality     []qualityCount
	CanRefresh  bool // the role holds REFRESH on it
	Query       string
	// Sources only.
	Connector, Location string
	Created             time.Time
}

// Failing reports whether the object's current state is failed.
func (o *object) Failing() bool { return o.Status == "failed" }

// objectsSQL reads the materialized views and pipelines with their
// schedule, last failure, partition count and whether the role may
// refresh them; filter (SQL over schema and name) narrows it.
func objectsSQL(filter string) string {
	where := ""
	if filter != "" {
		where = " WHERE " + filter
	}
	return `WITH o AS (
	SELECT 'materialized view' AS kind, id, schema, name, refresh, status, suspended, version, rows, files, bytes,
		next_run, last_attempt, last_refresh, query FROM sluice.materialized_views` + where + `
	UNION ALL
	SELECT 'pipeline', id, schema, name, refresh, status, suspended, NULL, rows, files, bytes,
		next_run, last_attempt, last_refresh, query FROM sluice.pipelines` + where + `),
f AS (SELECT schema, object, run_id, error, sqlstate, finished_at,
	row_number() OVER (PARTITION BY schema, object ORDER BY run_id DESC) AS n
	FROM sluice.runs WHERE status = 'failed'),
p AS (SELECT object_id, count(*) AS n FROM sluice.partitions GROUP BY object_id),
pf AS (SELECT object_id, count(DISTINCT partition) AS n FROM sluice.pipeline_files GROUP BY object_id)
SELECT o.kind, o.id, o.schema, o.name, o.refresh, o.status, o.suspended, o.version, o.rows, o.files, o.bytes,
	epoch_ms(o.next_run), epoch_ms(o.last_attempt), epoch_ms(o.last_refresh), epoch(s.staleness),
	f.run_id, f.error, f.sqlstate, epoch_ms(f.finished_at),
	CASE WHEN o.kind = 'pipeline' THEN coalesce(pf.n, 0) ELSE coalesce(p.n, 0) END,
	has_table_privilege(quote_ident(o.schema) || '.' || quote_ident(o.name), 'REFRESH'),
	o.query
FROM o
LEFT JOIN sluice.schedules s ON s.schema = o.schema AND s.object = o.name
LEFT JOIN f ON f.schema = o.schema AND f.object = o.name AND f.n = 1
LEFT JOIN p ON p.object_id = o.id
LEFT JOIN pf ON pf.object_id = o.id
ORDER BY o.schema, o.name`
}

func parseObject(r row) *object {
	o := &object{
		Kind: r.str(0), ID: r.int(1), ref: ref{r.str(2), r.str(3)}, Refresh: r.str(4), Status: r.str(5), Suspended: r.bool(6),
		Version: r.optInt(7), Rows: r.optInt(8), Files: r.optInt(9), Bytes: r.optInt(10),
		NextRun: r.ms(11), LastAttempt: r.ms(12), LastSuccess: r.ms(13), Staleness: r.seconds(14),
		Partitions: r.int(19), CanRefresh: r.bool(20), Query: r.str(21),
	}
	if !r.null(15) {
		o.LastFailure = &failure{RunID: r.int(15), Message: r.str(16), SQLState: r.str(17), At: r.ms(18)}
	}
	return o
}

// qualitySQL reads per object and constraint the violations of the last
// run that checked it and the total.
func qualitySQL(filter string) string {
	where := ""
	if filter != "" {
		where = " WHERE " + filter
	}
	return `SELECT schema, object, "constraint", action, violations, total, run_id FROM (
	SELECT *, sum(violations) OVER (PARTITION BY schema, object, "constraint") AS total,
		row_number() OVER (PARTITION BY schema, object, "constraint" ORDER BY run_id DESC) AS n
	FROM sluice.quality` + where + `) WHERE n = 1 ORDER BY schema, object, "constraint"`
}

const sourcesSQL = `SELECT schema, name, connector, location, epoch_ms(created_at) FROM sluice.sources ORDER BY schema, name`

const dependenciesSQL = `SELECT object_schema, object, object_kind, depends_on_schema, depends_on, depends_on_kind
FROM sluice.dependencies ORDER BY ALL`

// run is a row of sluice.runs.
type run struct {
	ID       int64
	Object   ref
	Trigger  string
	Attempt  int64
	Status   string
	Started  time.Time
	Finished time.Time
	Rows     *int64
	Files    *int64
	Bytes    *int64
	Version  *int64
	Error    string
	SQLState string
	// Progress of a running run (the materializer's, in memory).
	Progress *Progress
}

// Duration is how long the run took, or has taken so far.
func (r *run) Duration(now time.Time) time.Duration {
	if r.Finished.IsZero() {
		return now.Sub(r.Started)
	}
	return r.Finished.Sub(r.Started)
}

func runsSQL(filter string, limit int) string {
	where := ""
	if filter != "" {
		where = " WHERE " + filter
	}
	return fmt.Sprintf(`SELECT run_id, schema, object, trigger, attempt, status, epoch_ms(started_at), epoch_ms(finished_at),
	rows_out, files_written, bytes_written, version, error, sqlstate FROM sluice.runs%s ORDER BY run_id DESC LIMIT %d`, where, limit)
}

func parseRun(r row) *run {
	return &run{
		ID: r.int(0), Object: ref{r.str(1), r.str(2)}, Trigger: r.str(3), Attempt: r.int(4), Status: r.str(5),
		Started: r.ms(6), Finished: r.ms(7), Rows: r.optInt(8), Files: r.optInt(9), Bytes: r.optInt(10),
		Version: r.optInt(11), Error: r.str(12), SQLState: r.str(13),
	}
}

// reader runs the queries of one page as one role.
type reader struct {
	b    Backend
	role string
}

func (rd reader) query(ctx context.Context, q string) ([]row, error) {
	res, err := rd.b.QueryAs(ctx, rd.role, q)
	if err != nil {
		return nil, err
	}
	out := make([]row, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = r
	}
	return out, nil
}

// objects reads the materialized views and pipelines selected by filter,
// with their quality counts.
func (rd reader) objects(ctx context.Context, filter, qualityFilter string) ([]*object, error) {
	rows, err := rd.query(ctx, objectsSQL(filter))
	if err != nil {
		return nil, err
	}
	out := make([]*object, len(rows))
	byRef := map[ref]*object{}
	for i, r := range rows {
		out[i] = parseObject(r)
		byRef[out[i].ref] = out[i]
	}
	if len(out) == 0 {
		return out, nil
	}
	qrows, err := rd.query(ctx, qualitySQL(qualityFilter))
	if err != nil {
		return nil, err
	}
	for _, r := range qrows {
		if o := byRef[ref{r.str(0), r.str(1)}]; o != nil {
			o.Quality = append(o.Quality, qualityCount{Constraint: r.str(2), Action: r.str(3), Last: r.int(4), Total: r.int(5), RunID: r.int(6)})
		}
	}
	return out, nil
}

func (rd reader) sources(ctx context.Context) ([]*object, error) {
	rows, err := rd.query(ctx, sourcesSQL)
	if err != nil {
		return nil, err
	}
	out := make([]*object, len(rows))
	for i, r := range rows {
		out[i] = &object{Kind: "source", ref: ref{r.str(0), r.str(1)}, Connector: r.str(2), Location: r.str(3), Created: r.ms(4), Status: "source"}
	}
	return out, nil
}

// dependency is a row of sluice.dependencies: Object reads On.
type dependency struct {
	Object, On         ref
	ObjectKind, OnKind string
}

func (rd reader) dependencies(ctx context.Context) ([]dependency, error) {
	rows, err := rd.query(ctx, dependenciesSQL)
	if err != nil {
		return nil, err
	}
	out := make([]dependency, len(rows))
	for i, r := range rows {
		out[i] = dependency{Object: ref{r.str(0), r.str(1)}, ObjectKind: r.str(2), On: ref{r.str(3), r.str(4)}, OnKind: r.str(5)}
	}
	return out, nil
}

func (rd reader) runs(ctx context.Context, filter string, limit int) ([]*run, error) {
	rows, err := rd.query(ctx, runsSQL(filter, limit))
	if err != nil {
		return nil, err
	}
	out := make([]*run, len(rows))
	for i, r := range rows {
		out[i] = parseRun(r)
	}
	return out, nil
}

// running reads the role's runs in flight and adds the materializer's
// progress to each: only runs whose row the role may read get any.
func (rd reader) running(ctx context.Context) ([]*run, error) {
	runs, err := rd.runs(ctx, "status = 'running'", 1000)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return runs, nil
	}
	live := map[int64]Progress{}
	for _, p := range rd.b.Running() {
		live[p.RunID] = p
	}
	for _, r := range runs {
		if p, ok := live[r.ID]; ok {
			r.Progress = &p
		}
	}
	// Oldest first.
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	return runs, nil
}

// partition is a row of sluice.partitions (or a pipeline's files per
// partition).
type partition struct {
	Name               string
	Files, Rows, Bytes int64
}

func (rd reader) partitions(ctx context.Context, o *object) ([]partition, error) {
	q := `SELECT partition, files, rows, bytes FROM sluice.partitions WHERE ` + o.where("object") + ` ORDER BY partition`
	if o.Kind == "pipeline" {
		q = fmt.Sprintf(`SELECT partition, count(*), sum(rows), sum(bytes) FROM sluice.pipeline_files WHERE object_id = %d GROUP BY partition ORDER BY partition`, o.ID)
	}
	rows, err := rd.query(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]partition, len(rows))
	for i, r := range rows {
		out[i] = partition{Name: r.str(0), Files: r.int(1), Rows: r.int(2), Bytes: r.int(3)}
	}
	return out, nil
}

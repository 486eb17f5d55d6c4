package ddl

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/sql"
)

// ExplainSQL is EXPLAIN REFRESH name: a query over the system tables (live, like SHOW)
// plus DuckDB's row estimate for the view's query, computed now:
//
//	view, query, input (one per dependency), partition by, constraint (one
//	each), option (one each), current version, partition (one per current
//	partition), estimated rows (NULL when DuckDB gives none), would write.
func (x0 *Executor) ExplainSQL(ctx context.Context, st *sql.ExplainRefresh, a Actor) (string, error) {
	x := x0.as(a)
	ref := resolve(st.Name)
	if kind, ok, err := x.cat.Lookup(ctx, ref); err == nil && ok && kind == catalog.KindPipeline {
		if err := x.requireExplain(ref, kind); err != nil {
			return "", err
		}
		return x.explainPipelineSQL(ctx, ref)
	}
	if err := x.expectKind(ctx, ref, catalog.KindMaterializedView); err != nil {
		return "", err
	}
	if err := x.requireExplain(ref, catalog.KindMaterializedView); err != nil {
		return "", err
	}
	v, err := x.cat.GetView(ctx, ref)
	if err != nil {
		return "", err
	}
	estimate := "NULL"
	if n, ok, err := x.mat.EstimateRows(ctx, v.Query); err == nil && ok {
		estimate = sql.QuoteLiteral(strconv.FormatInt(n, 10))
	}
	lit := sql.QuoteLiteral
	schema, name := lit(ref.Schema), lit(ref.Name)
	rows := explainHead("view", ref, v.Query, v.PartitionBy, v.Constraints, v.Options)
	rows = append(rows,
		fmt.Sprintf(`SELECT 7, 'current version', CASE WHEN version IS NULL THEN 'none (' || status || ')'
			ELSE 'v' || version || ': ' || rows || ' rows, ' || files || ' files (' || status || ')' END
			FROM sluice.materialized_views WHERE schema = %s AND name = %s`, schema, name),
		fmt.Sprintf(`SELECT 8, 'partition', CASE WHEN partition = '' THEN '(all)' ELSE partition END || ': ' || rows || ' rows, ' || files || ' files'
			FROM sluice.partitions WHERE object_id = %d`, v.ID),
		fmt.Sprintf("SELECT 9, 'estimated rows', %s", estimate),
		fmt.Sprintf("SELECT 10, 'would write', %s", lit("a new version of every partition, published atomically")),
	)
	return "SELECT item, detail FROM (\n" + strings.Join(rows, "\nUNION ALL ") + "\n) ORDER BY o, detail", nil
}

// explainPipelineSQL is EXPLAIN REFRESH of a pipeline: what it reads (its
// inputs, and the files the next run would read, not yet consumed), what it
// has written, and what a run would write; nothing is run.
func (x *Executor) explainPipelineSQL(ctx context.Context, ref catalog.Ref) (string, error) {
	p, err := x.cat.GetPipeline(ctx, ref)
	if err != nil {
		return "", err
	}
	pending, err := x.mat.PendingInputs(ctx, p)
	if err != nil {
		return "", err
	}
	lit := sql.QuoteLiteral
	rows := explainHead("pipeline", ref, p.Query, p.PartitionBy, p.Constraints, p.Options)
	rows = append(rows, fmt.Sprintf(`SELECT 7, 'committed output', count(*) || ' files, ' || coalesce(sum(rows), 0) || ' rows'
		FROM sluice.pipeline_files WHERE object_id = %d`, p.ID))
	total := 0
	for _, src := range p.Sources {
		files := pending[src]
		var bytes int64
		for _, f := range files {
			bytes += f.Size
		}
		total += len(files)
		rows = append(rows, fmt.Sprintf("SELECT 8, 'new input', %s", lit(fmt.Sprintf("source %s: %d files, %d bytes not yet read", src, len(files), bytes))))
	}
	would := "nothing: no new input"
	if total > 0 {
		would = "the new input's rows, appended as new files in their partitions, committed with the input position"
	}
	rows = append(rows, fmt.Sprintf("SELECT 9, 'would write', %s", lit(would)))
	return "SELECT item, detail FROM (\n" + strings.Join(rows, "\nUNION ALL ") + "\n) ORDER BY o, detail", nil
}

// explainHead is the part of EXPLAIN REFRESH that views and pipelines share:
// the object, its query, inputs, partition columns, constraints and options,
// as rows (o, item, detail) of a UNION ALL.
func explainHead(kind string, ref catalog.Ref, query string, partitionBy []string, constraints []catalog.Constraint, options map[string]string) []string {
	lit := sql.QuoteLiteral
	parts := "(none)"
	if len(partitionBy) > 0 {
		parts = strings.Join(partitionBy, ", ")
	}
	rows := []string{
		fmt.Sprintf("SELECT 1 AS o, %s AS item, %s AS detail", lit(kind), lit(ref.String())),
		fmt.Sprintf("SELECT 2, 'query', %s", lit(strings.TrimSpace(query))),
		fmt.Sprintf(`SELECT 3, 'input', depends_on_kind || ' ' || depends_on_schema || '.' || depends_on
			FROM sluice.dependencies WHERE object_schema = %s AND object = %s`, lit(ref.Schema), lit(ref.Name)),
		fmt.Sprintf("SELECT 4, 'partition by', %s", lit(parts)),
	}
	for _, c := range constraints {
		rows = append(rows, fmt.Sprintf("SELECT 5, 'constraint', %s", lit(fmt.Sprintf("%s EXPECT (%s) ON VIOLATION %s", c.Name, c.Predicate, c.Action))))
	}
	for k, val := range options {
		rows = append(rows, fmt.Sprintf("SELECT 6, 'option', %s", lit(k+" = "+val)))
	}
	return rows
}

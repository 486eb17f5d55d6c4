// Package ddl runs Sluice's own statements on its objects: CREATE, ALTER,
// DROP and REFRESH of sources, materialized views and pipelines, EXPLAIN
// REFRESH, and the checks plain DDL passes before it may touch them. It
// drives the catalog and the materializer; the session only dispatches.
package ddl

import (
	"context"
	"log/slog"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/sql"
)

// Options configure an Executor.
type Options struct {
	Catalog      *catalog.Store
	Materializer *materialize.Materializer
	Scheduler    *materialize.Scheduler
	Sources      *materialize.Sources
	// Storage is the object storage of s3:// FILES sources and output
	// locations; nil = none.
	Storage materialize.Storage
	// BaseDir resolves relative FILES paths.
	BaseDir string
	Logger  *slog.Logger
	// EncryptionKeys are the names of the configured encryption keys, the
	// values an encryption_key option may take (encryption.go).
	EncryptionKeys []string
}

// Actor is who runs a statement: the session's role, the privilege checks
// over the current snapshot, and how the session's names resolve.
type Actor = access.Actor

// Executor runs object statements.
type Executor struct {
	cat     *catalog.Store
	mat     *materialize.Materializer
	sched   *materialize.Scheduler
	sources *materialize.Sources
	remote  files.Remote
	storage bool
	baseDir string
	log     *slog.Logger
	keys    map[string]bool

	// actor runs the statement; set on the copy Exec makes per statement.
	actor Actor
}

// New returns an Executor.
func New(opts Options) *Executor {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	x := &Executor{cat: opts.Catalog, mat: opts.Materializer, sched: opts.Scheduler, sources: opts.Sources,
		baseDir: opts.BaseDir, log: log}
	if opts.Storage != nil {
		x.remote, x.storage = opts.Storage.Files(), true
	}
	x.keys = keyNames(opts.EncryptionKeys)
	return x
}

// Result is how an object statement completed: its command tag and the
// notices to send before it.
type Result struct {
	Tag     string
	Notices []*pgerr.Error
}

func done(tag string, notices ...*pgerr.Error) Result { return Result{Tag: tag, Notices: notices} }

// Exec runs one object statement as a: its privileges are checked here
// (privileges.go). progress receives the progress of the refreshes it runs
// (sent to the client as notices).
func (x0 *Executor) Exec(ctx context.Context, st sql.Statement, a Actor, progress func(string)) (Result, error) {
	x := x0.as(a)
	if err := refuseSecretRefs(st); err != nil { // secrets.go
		return Result{}, err
	}
	switch st := st.(type) {
	case *sql.CreateSecret, *sql.AlterSecret, *sql.DropSecret:
		return x.execSecret(ctx, st) // secrets.go
	case *sql.CreateSource:
		return x.createSource(ctx, st)
	case *sql.CreateMaterializedView:
		return x.createView(ctx, st, progress)
	case *sql.CreatePipeline:
		return x.createPipeline(ctx, st, progress) // pipeline.go
	case *sql.Refresh:
		if st.Kind == sql.KindPipeline {
			return x.refreshPipeline(ctx, st, progress) // pipeline.go
		}
		return x.refresh(ctx, st, progress)
	case *sql.Drop:
		return x.drop(ctx, st)
	case *sql.AlterSource:
		return Result{}, pgerr.Unsupported("ALTER SOURCE is not supported yet; DROP and CREATE the source")
	case *sql.AlterObject:
		return x.alterObject(ctx, st)
	}
	return Result{}, pgerr.Unsupported("statement %T is not an object statement", st)
}

// as returns a copy of the executor acting for a.
func (x *Executor) as(a Actor) *Executor {
	c := *x
	c.actor = a
	return &c
}

// GuardDDL refuses plain DDL (passed through to DuckDB) that would break
// Sluice's objects; see guardDDL.
func (x *Executor) GuardDDL(ctx context.Context, text string) error { return x.guardDDL(ctx, text) }

// Resolve names an object: unqualified names are in schema public.
func Resolve(n sql.Name) catalog.Ref { return resolve(n) }

// checkLocation refuses a location option when no object storage is
// configured, and to roles that may not write server files: the output is
// written with the gateway's own storage credentials, where it could
// replace what other objects or other systems keep there.
//
// A location may not be another object's, nor hold or lie inside one:
// each object replaces and removes the files under its own prefix.
func (x *Executor) checkLocation(ctx context.Context, self catalog.Ref, opts map[string]string) error {
	loc := opts["location"]
	if loc == "" {
		return nil
	}
	if !x.storage {
		return pgerr.Unsupported("location %s: object storage is not configured (set s3_endpoint and its credentials; see docs/storage.md)", loc)
	}
	if x.snap() != nil {
		if err := x.actor.Check.WriteFile(x.actor.Role, "a location", loc); err != nil {
			return err
		}
	}
	taken, err := x.cat.Locations(ctx)
	if err != nil {
		return err
	}
	for _, t := range taken {
		if t.Ref != self && locationsOverlap(loc, t.Location) {
			e := pgerr.New(pgerrcode.DuplicateObject, "location %s overlaps the location of %s %s (%s)", loc, t.Kind, sql.QuoteIdent(t.Ref.Name), t.Location)
			e.Hint = "Give each materialized view and pipeline a prefix of its own."
			return e
		}
	}
	return nil
}

// locationsOverlap reports whether one location is the other or lies
// inside it.
func locationsOverlap(a, b string) bool {
	a, b = strings.TrimRight(a, "/")+"/", strings.TrimRight(b, "/")+"/"
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

func runeCount(s string) int { return len([]rune(s)) }

// Package gateway is Sluice's glue: it opens the engine, the catalog and
// the materializer, and gives each client connection a session that
// dispatches its statements (to DuckDB, to ddl for Sluice's objects, to
// access for roles), keeps its transaction state, its prepared statements
// and its kept plans.
package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/ddl"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/internal/settings"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/pgcatalog"
	"github.com/sluice-db/sluice/wire"
)

// Options configure a Gateway.
type Options struct {
	DataDir     string // default "./sluice-data"
	MemoryLimit string // DuckDB memory_limit, "" = DuckDB's default
	Threads     int    // DuckDB threads, 0 = DuckDB's default
	TempDir     string // spill directory, "" = DataDir/tmp
	// MaxTempDirSize bounds what queries spill to TempDir ("" = DuckDB's
	// default: 90 % of the free disk space).
	MaxTempDirSize string
	// BlockAllocatorMemory is how much of DuckDB's freed buffer memory the
	// process keeps between statements (engine.Config; "" = DuckDB's
	// default, none).
	BlockAllocatorMemory string
	Logger               *slog.Logger
	// BaseDir resolves relative FILES paths; "" = the working directory.
	BaseDir string
	// PollInterval is how often ON CHANGE views' file sources are listed
	// (default 1s).
	PollInterval time.Duration

	// TLS enables SSLRequest; nil answers 'N'.
	TLS *tls.Config
	// RequireTLS refuses plaintext clients (FATAL 28000).
	RequireTLS bool
	// Authenticator checks credentials; nil trusts every client.
	Authenticator wire.Authenticator
	// ConfigUsers are the users of the configuration file, with their
	// superuser attribute (SQL roles are in the catalog).
	ConfigUsers []access.ConfigUser
	// FileRoots are the directories user SQL may read and write files in
	// (file functions, COPY, FILES sources); nil = BaseDir. The data
	// directory is never one: only Sluice's objects read it.
	FileRoots []string
	// MaxConnections bounds concurrent clients (53300 beyond); 0 = none.
	MaxConnections int
	// MaxMessageSize bounds a frontend message's length (FATAL 08P01
	// beyond); 0 = wire.DefaultMaxMessageSize (1 GB, PostgreSQL's).
	MaxMessageSize int
	// SessionDefaults replace the defaults of PostgreSQL-only session
	// settings (idle_session_timeout, ...), as postgresql.conf does.
	SessionDefaults map[string]string

	// Connectors are the source connectors besides FILES (built in
	// cmd/gateway); nil = none.
	Connectors *connectors.Registry
	// SourceParallelism bounds the splits of one connector-source read
	// that are read at once (Kafka partitions, PostgreSQL ranges); 0 = 8.
	SourceParallelism int
	// ObjectStorage holds s3:// sources and output locations
	// (connectors/s3.Store, opened in cmd/gateway); nil = none.
	ObjectStorage materialize.Storage

	// SecretsKey encrypts secrets (CREATE SECRET) and the credentials
	// stored with sources: catalog.KeySize bytes; nil = none, and CREATE
	// SECRET is refused (0A000).
	SecretsKey []byte
	// ProtectedFiles are files no source's _file option may read (the
	// secrets key file, the TLS key, the configuration file).
	ProtectedFiles []string
	// EncryptionKeys are the keys objects WITH (encryption_key = 'name')
	// encrypt their Parquet files with: name -> 32-byte AES-256 key, from
	// the configuration (never from SQL). Never logged.
	EncryptionKeys map[string][]byte

	// Observer receives what the wire server and the refreshes measure
	// (internal/metrics); nil = nothing is recorded.
	Observer Observer
}

// Observer is every measurement the gateway's parts report.
type Observer interface {
	wire.Observer
	materialize.Observer
}

// DatabaseName is the database clients connect to (and the only one).
const DatabaseName = catalog.DatabaseName

// databaseFile is DuckDB's file inside the data directory. Its name must
// differ from the schema "sluice" of the system tables: DuckDB refuses
// references that could name either a database or a schema.
const databaseFile = "warehouse.duckdb" // DuckDB names the database "warehouse"

// sessionInit runs on every DuckDB connection: user objects live in schema
// public, as PostgreSQL clients expect, and pg_sluice holds the catalog
// overlays that make psql and BI tools see Sluice's objects.
// (The schemas are created here too: DuckDB refuses a search_path naming a
// schema that does not exist, and this runs on the very first connection.)
var sessionInit = []string{
	"CREATE SCHEMA IF NOT EXISTS public",
	"CREATE SCHEMA IF NOT EXISTS pg_sluice",
	"SET search_path = 'public,pg_sluice'",
}

// Gateway is a running Sluice instance.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	db      *engine.DB
	cat     *catalog.Store
	mat     *materialize.Materializer
	srv     *wire.Server
	sched   *materialize.Scheduler
	sources *materialize.Sources
	objects objectStatements // Sluice's object statements (ddl)
	roles   roleStatements   // role statements (access)
	access  *access.Cache    // privileges and the file sandbox
	// engineSettings are DuckDB's settings' names (lower case): SET of
	// one is refused, of another name unknown.
	engineSettings map[string]bool
	// consistentBuiltins are DuckDB's built-in functions that always give
	// the same answer for the same arguments (catalogreads.go).
	consistentBuiltins map[string]bool
	// writes counts the statements that may have changed a table's rows
	// (INSERT, COPY FROM, DDL, the end of a transaction block: every
	// statement but a read), moved when each ends; kept catalog answers
	// depend on it (answers.go).
	writes    atomic.Uint64
	userNames userNames // catalogreads.go
	// shared holds catalog reads' answers, and sharedAllowed the queries
	// allowed, for sessions started alike (answers.go, authorize.go).
	shared         sharedAnswers
	sharedAllowed  genSet
	sharedVerdicts genSet // catalogreads.go
	baseDir        string

	stopSched context.CancelFunc
	schedDone chan struct{}
}

// Open opens (or creates) the data directory and everything in it, and
// brings it back to a consistent state after a crash.
func Open(ctx context.Context, opts Options) (*Gateway, error) {
	if opts.DataDir == "" {
		opts.DataDir = "./sluice-data"
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	opts.DataDir = dataDir
	for name, v := range opts.SessionDefaults {
		if _, ok := settings.Defaults[name]; !ok {
			return nil, fmt.Errorf("session default %s: not a PostgreSQL-only setting", name)
		}
		if err := settings.Check(name, v); err != nil {
			return nil, fmt.Errorf("session default %s: %w", name, err)
		}
	}
	if opts.TempDir == "" {
		opts.TempDir = filepath.Join(dataDir, "tmp")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := opts.BaseDir
	if base == "" {
		if base, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{dataDir, opts.TempDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	roots, allowed, err := sandbox(opts, base)
	if err != nil {
		return nil, err
	}
	db, err := engine.Open(ctx, engine.Config{
		Path:                 filepath.Join(dataDir, databaseFile),
		MemoryLimit:          opts.MemoryLimit,
		Threads:              opts.Threads,
		TempDir:              opts.TempDir,
		MaxTempDirSize:       opts.MaxTempDirSize,
		BlockAllocatorMemory: opts.BlockAllocatorMemory,
		ConnInit:             sessionInit,
		Sandbox:              &engine.Sandbox{AllowedDirectories: allowed},
		EncryptionKeys:       opts.EncryptionKeys,
	})
	if err != nil {
		return nil, err
	}
	g := &Gateway{opts: opts, log: log, db: db, baseDir: base}
	g.access = access.NewCache(nil, opts.ConfigUsers, roots, g.analyze)
	if err := g.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	g.srv = wire.NewServer(wire.Config{
		Handler:        g,
		Logger:         log,
		TLS:            opts.TLS,
		RequireTLS:     opts.RequireTLS,
		Authenticator:  opts.Authenticator,
		MaxConnections: opts.MaxConnections,
		MaxMessageSize: opts.MaxMessageSize,
		Observer:       wireObserver(opts.Observer),
	})
	log.Info("gateway ready", "data_dir", dataDir)
	return g, nil
}

func (g *Gateway) init(ctx context.Context) error {
	cat, err := catalog.Open(ctx, g.db.SQL())
	if err != nil {
		return err
	}
	g.cat = cat
	g.access.SetCatalog(cat)
	if g.engineSettings, err = engineSettingNames(ctx, g.db); err != nil {
		return err
	}
	if g.consistentBuiltins, err = consistentBuiltinNames(ctx, g.db); err != nil {
		return err
	}
	g.sources = materialize.NewSources(g.opts.Connectors, cat, g.log)
	if err := g.useSecrets(); err != nil {
		return err
	}
	if err := materialize.RegisterScan(ctx, g.db, g.sources, g.opts.SourceParallelism); err != nil {
		return err
	}
	if err := materialize.RegisterObjectFiles(ctx, g.db, g.opts.ObjectStorage); err != nil {
		return err
	}
	snap, err := g.access.Snapshot(ctx)
	if err != nil {
		return err
	}
	if err := cat.SetStaticRoles(ctx, snap.StaticRoles()); err != nil {
		return err
	}
	// Another role's privileges, for has_*_privilege(role, ...).
	if err := g.db.RegisterPredicate(ctx, pgcatalog.PrivilegeFunction, 4, func(ctx context.Context, args []string) (bool, error) {
		snap, err := g.access.Snapshot(ctx)
		if err != nil {
			return false, err
		}
		return snap.HasPrivilege(args[0], args[1], args[2], args[3]), nil
	}); err != nil {
		return err
	}
	if err := pgcatalog.Install(ctx, g.db.SQL()); err != nil {
		return fmt.Errorf("pg_catalog overlays: %w", err)
	}
	g.mat = materialize.New(materialize.Options{
		DB: g.db.SQL(), Catalog: cat, DataDir: g.opts.DataDir, Logger: g.log,
		// A pooled connection forgets the owner the last run acted as.
		ConnInit: append(sessionInit[:len(sessionInit):len(sessionInit)],
			"RESET VARIABLE sluice_user", "RESET VARIABLE sluice_all", "RESET VARIABLE sluice_superuser", "RESET VARIABLE sluice_privileges"),
		Translate: engine.Translate, Sources: g.sources, Storage: g.opts.ObjectStorage,
		Authorize:      g.authorizeRun,
		EncryptionKeys: g.opts.EncryptionKeys,
		Observer:       runObserver(g.opts.Observer),
	})
	if err := g.mat.Recover(ctx); err != nil {
		return err
	}
	g.sched = materialize.NewScheduler(materialize.SchedulerOptions{
		Materializer: g.mat, Catalog: cat, DB: g.db.SQL(), Logger: g.log, PollInterval: g.opts.PollInterval,
	})
	g.objects = ddl.New(ddl.Options{
		Catalog: cat, Materializer: g.mat, Scheduler: g.sched, Sources: g.sources,
		Storage: g.opts.ObjectStorage, BaseDir: g.baseDir, Logger: g.log,
		EncryptionKeys: keyNames(g.opts.EncryptionKeys),
	})
	g.roles = access.NewStatements(cat, g.configUser)
	return nil
}

// authorizeRun is materialize's check at the start of every refresh and
// pipeline run: the object's owner must still read what its query reads,
// and the run's connection acts as the owner.
func (g *Gateway) authorizeRun(ctx context.Context, ref catalog.Ref, query string) (string, error) {
	c, err := g.access.Checker(ctx)
	if err != nil {
		return "", err
	}
	snap := c.Snapshot()
	owner := snap.Owner(catalog.RelationObject(ref))
	if !snap.Superuser(owner) {
		a, err := c.Analyze(ctx, query)
		if err == nil {
			if err := c.Query(ctx, owner, a, access.Scope{SearchPath: searchPath}); err != nil {
				e := pgerr.As(err)
				e.Detail = fmt.Sprintf("%s runs as its owner, %s.", ref, owner)
				return "", e
			}
		}
	}
	return snap.SessionVariables(owner), nil
}

// engineSettingNames lists DuckDB's settings.
func engineSettingNames(ctx context.Context, db *engine.DB) (map[string]bool, error) {
	return nameSet(ctx, db, `SELECT DISTINCT lower(name) FROM duckdb_settings()`)
}

// genSet is a bounded set of keys, each valid in one catalog generation.
type genSet struct {
	mu sync.Mutex
	m  map[string]uint64
}

const maxGenSet = 1024

func (v *genSet) has(key string, gen uint64) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	g, ok := v.m[key]
	return ok && g == gen
}

func (v *genSet) put(key string, gen uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= maxGenSet {
		v.m = make(map[string]uint64)
	}
	v.m[key] = gen
}

// nameSet runs a query of one text column and returns its values as a set.
func nameSet(ctx context.Context, db *engine.DB, query string) (map[string]bool, error) {
	rows, err := db.SQL().QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names[n] = true
	}
	return names, rows.Err()
}

// sandbox returns the file roots user SQL may reach and the directories
// DuckDB may: the roots plus the data directory, the spill directory and
// the object storage cache, which only Sluice's own objects read.
func sandbox(opts Options, base string) (*access.Roots, []string, error) {
	fileRoots := opts.FileRoots
	if len(fileRoots) == 0 {
		fileRoots = []string{base}
	}
	protected := []string{opts.DataDir, opts.TempDir}
	if opts.ObjectStorage != nil {
		protected = append(protected, opts.ObjectStorage.CacheDir())
	}
	cwd, err := os.Getwd() // DuckDB resolves relative paths against it
	if err != nil {
		return nil, nil, err
	}
	roots := access.NewRoots(cwd, fileRoots, protected)
	allowed := append(append([]string{}, roots.Allowed...), access.NewRoots(cwd, protected, nil).Allowed...)
	return roots, allowed, nil
}

// useSecrets gives the sources the secrets key, if one is configured.
func (g *Gateway) useSecrets() error {
	var k *catalog.Keyring
	if g.opts.SecretsKey != nil {
		var err error
		if k, err = catalog.NewKeyring(g.opts.SecretsKey); err != nil {
			return fmt.Errorf("secrets key: %w", err)
		}
	}
	g.sources.UseSecrets(k, g.opts.ProtectedFiles)
	return nil
}

// keyNames are the names of the configured encryption keys.
func keyNames(keys map[string][]byte) []string {
	names := make([]string, 0, len(keys))
	for n := range keys {
		names = append(names, n)
	}
	return names
}

// configUser reports whether name is a user of the configuration file
// (an optional power of the Authenticator).
func (g *Gateway) configUser(name string) bool {
	u, ok := g.opts.Authenticator.(interface{ HasUser(string) bool })
	return ok && u.HasUser(name)
}

// LookupRole implements wire.RoleSource over the catalog's roles.
func (g *Gateway) LookupRole(ctx context.Context, name string) (wire.StoredRole, bool, error) {
	r, ok, err := g.cat.Role(ctx, name)
	if err != nil || !ok {
		return wire.StoredRole{}, false, err
	}
	return wire.StoredRole{Verifier: r.Verifier, Login: r.Login}, true, nil
}

// Serve accepts connections on l until Shutdown. It returns
// wire.ErrServerClosed after Shutdown.
func (g *Gateway) Serve(l net.Listener) error {
	g.log.Info("listening", "addr", l.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	g.stopSched, g.schedDone = cancel, make(chan struct{})
	go func() {
		defer close(g.schedDone)
		_ = g.sched.Run(ctx)
	}()
	return g.srv.Serve(l)
}

// Shutdown stops accepting connections, lets running statements finish
// until ctx ends, then closes DuckDB cleanly.
func (g *Gateway) Shutdown(ctx context.Context) error {
	if g.stopSched != nil {
		g.stopSched() // running refreshes are cancelled; their runs are recorded as failed
		<-g.schedDone
	}
	err := g.srv.Shutdown(ctx)
	g.sources.Close()
	g.mat.Wait() // retired versions still being removed
	if cerr := g.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close releases the gateway without serving (for callers that never Serve).
func (g *Gateway) Close() error {
	if g.sources != nil {
		g.sources.Close()
	}
	if g.mat != nil {
		g.mat.Wait()
	}
	return g.db.Close()
}

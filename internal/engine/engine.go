//go:build duckdb_arrow

// Package engine runs SQL on DuckDB. It is the only importer of duckdb-go:
// it opens the database, gives each client session a dedicated connection
// whose results stream as Arrow record batches, describes prepared
// statements with PostgreSQL types (through pgcodec) and translates DuckDB
// errors into SQLSTATEs.
//
// Build with -tags duckdb_arrow.
package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Config configures the DuckDB instance.
type Config struct {
	Path        string // database file; "" = in-memory
	MemoryLimit string // DuckDB memory_limit ("" = default)
	Threads     int    // 0 = default
	TempDir     string // temp_directory for spilling ("" = default)
	// MaxTempDirSize bounds the bytes spilled to TempDir
	// (max_temp_directory_size; "" = DuckDB's default, 90 % of the free
	// disk space).
	MaxTempDirSize string
	// BlockAllocatorMemory is DuckDB's block_allocator_memory: the memory
	// of its buffer blocks (up to this size) that stays with the process
	// between statements instead of going back to the system ("" =
	// DuckDB's default, "0B": every freed block is returned). DuckDB built on
	// glibc returns all freed memory (malloc_trim) once its threads have
	// idled 0.5 s, and the next large statement faults it in again, page
	// by page: a partitioned COPY of 10,000,000 rows after idle time spent
	// 0.3 to 0.5 s of CPU on that.
	BlockAllocatorMemory string
	// ConnInit runs on every new DuckDB connection (session settings such
	// as search_path, which DuckDB cannot set globally).
	ConnInit []string
	// Sandbox, when set, confines DuckDB's file access to its directories
	// and freezes every setting (Sandbox).
	Sandbox *Sandbox
	// EncryptionKeys are registered with PRAGMA add_parquet_key when the
	// database opens (name -> the raw 32-byte AES-256 key). DuckDB keeps
	// them in memory for the whole instance, so every connection reads
	// Parquet with encryption_config = {footer_key: 'name'}. Key material
	// never appears in an error or a log line.
	EncryptionKeys map[string][]byte
}

// Sandbox is DuckDB's own file sandbox, as DuckDB 1.5.6 provides it:
// allowed_directories lists the directories any file access must be in
// (DuckDB adds the database file, its WAL and temp_directory itself);
// enable_external_access = false then applies it to every reader, writer,
// COPY, ATTACH, glob and to INSTALL and LOAD (no new extension can be
// loaded: those the gateway needs are loaded before); lock_configuration
// = true freezes every setting but schema and search_path, so no session
// can lift it (DuckDB also refuses to re-enable external access or to
// change allowed_directories once it is off). disabled_filesystems is not
// used: Sluice reads local files only, through the allowed directories.
type Sandbox struct {
	AllowedDirectories []string
}

// EncryptionKeySize is the only key size accepted: DuckDB 1.5 takes a key
// string of 16, 24 or 32 characters as the key itself and decodes only
// other lengths as base64, so the base64 of a 16- or 24-byte key (24 or 32
// characters) would silently become another key. The base64 of 32 bytes
// (44 characters) is always decoded.
const EncryptionKeySize = 32

// ValidKeyName reports whether name can name an encryption key: a lower
// case identifier of at most 63 bytes (it is written into view definitions
// and the catalog as it is).
func ValidKeyName(name string) bool {
	if name == "" || len(name) > 63 || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Validate checks what can be checked before DuckDB sees the values; DuckDB
// checks the rest when Open applies them.
func (c Config) Validate() error {
	if c.Threads < 0 {
		return pgerr.InvalidParameter("engine: threads must be >= 0, got %d", c.Threads)
	}
	if c.TempDir != "" {
		if fi, err := os.Stat(c.TempDir); err == nil && !fi.IsDir() {
			return pgerr.InvalidParameter("engine: temp_directory %q is not a directory", c.TempDir)
		}
	}
	for name, key := range c.EncryptionKeys {
		if !ValidKeyName(name) {
			return pgerr.InvalidParameter("engine: encryption key name %q is not a lower case identifier", name)
		}
		if len(key) != EncryptionKeySize {
			return pgerr.InvalidParameter("engine: encryption key %q has %d bytes, want %d", name, len(key), EncryptionKeySize)
		}
	}
	return nil
}

// startupOptions are set in the DuckDB configuration before the database
// opens (DSN options of duckdb-go's connector). With arrow_lossless_conversion, UUID and JSON arrive as the
// arrow.uuid and arrow.json extensions, HUGEINT exactly, BOOLEAN as bool8.
var startupOptions = [][2]string{
	{"autoinstall_known_extensions", "false"},
	{"autoload_known_extensions", "false"},
	{"arrow_lossless_conversion", "true"},
}

// extensions are loaded explicitly; they are linked into the binary.
var extensions = []string{"parquet", "json", "icu", "core_functions"}

// DB is an open DuckDB instance.
type DB struct {
	sqlDB *sql.DB
}

// Open opens (or creates) the database and applies cfg. A bad setting is an
// error naming the setting's key.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, o := range startupOptions {
		q.Set(o[0], o[1])
	}
	connector, err := duckdb.NewConnector(cfg.Path+"?"+q.Encode(), connInit(cfg.ConnInit))
	if err != nil {
		return nil, pgerr.Wrap(pgerrcode.IOError, fmt.Errorf("engine: open %q: %w", cfg.Path, err))
	}
	db := &DB{sqlDB: sql.OpenDB(connector)}
	if err := db.apply(ctx, cfg); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// apply sets the configured settings and loads the extensions.
func (db *DB) apply(ctx context.Context, cfg Config) error {
	c, err := db.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	set := func(key, value string) error {
		if _, err := c.Exec(ctx, fmt.Sprintf("SET GLOBAL %s = '%s'", key, strings.ReplaceAll(value, "'", "''"))); err != nil {
			e := pgerr.As(err)
			return &pgerr.Error{Code: pgerrcode.InvalidParameterValue, Message: fmt.Sprintf("engine: invalid %s %q: %s", key, value, e.Message), Cause: err}
		}
		return nil
	}
	if cfg.MemoryLimit != "" {
		if err := set("memory_limit", cfg.MemoryLimit); err != nil {
			return err
		}
	}
	if cfg.Threads > 0 {
		if err := set("threads", fmt.Sprint(cfg.Threads)); err != nil {
			return err
		}
	}
	if cfg.TempDir != "" {
		if err := set("temp_directory", cfg.TempDir); err != nil {
			return err
		}
	}
	if cfg.MaxTempDirSize != "" {
		if err := set("max_temp_directory_size", cfg.MaxTempDirSize); err != nil {
			return err
		}
	}
	if cfg.BlockAllocatorMemory != "" {
		if err := set("block_allocator_memory", cfg.BlockAllocatorMemory); err != nil {
			return err
		}
	}
	for _, ext := range extensions {
		if _, err := c.Exec(ctx, "LOAD "+ext); err != nil {
			return fmt.Errorf("engine: load %s: %w", ext, err)
		}
	}
	if err := addParquetKeys(ctx, c, cfg.EncryptionKeys); err != nil {
		return err
	}
	// Timestamps with time zone are rendered in UTC (+00); make input agree.
	if err := set("TimeZone", "UTC"); err != nil {
		return err
	}
	// A partitioned COPY keeps about one file per partition open instead
	// of flushing one per thread and batch (materialize's refreshes).
	if err := set("partitioned_write_max_open_files", "1000000"); err != nil {
		return err
	}
	if cfg.Sandbox != nil {
		return applySandbox(ctx, c, cfg.Sandbox)
	}
	return nil
}

// applySandbox turns DuckDB's sandbox on, then reads the settings back to
// verify that it holds.
func applySandbox(ctx context.Context, c *Conn, sb *Sandbox) error {
	dirs := make([]string, len(sb.AllowedDirectories))
	for i, d := range sb.AllowedDirectories {
		dirs[i] = "'" + strings.ReplaceAll(strings.TrimSuffix(d, "/")+"/", "'", "''") + "'"
	}
	for _, stmt := range []string{
		// DuckDB's own secret manager is not used (Sluice keeps secrets
		// itself): none is persisted in a home directory.
		"SET GLOBAL allow_persistent_secrets = false",
		"SET GLOBAL allowed_directories = [" + strings.Join(dirs, ", ") + "]::VARCHAR[]",
		"SET GLOBAL enable_external_access = false",
		"SET GLOBAL lock_configuration = true",
	} {
		if _, err := c.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("engine: sandbox: %s: %w", stmt, err)
		}
	}
	rows, err := c.Query(ctx, "SELECT current_setting('enable_external_access')::VARCHAR, current_setting('lock_configuration')::VARCHAR")
	if err != nil {
		return fmt.Errorf("engine: sandbox: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return fmt.Errorf("engine: sandbox: settings not readable: %v", rows.Err())
	}
	b := rows.Batch()
	if ext, lock := b.Column(0).ValueStr(0), b.Column(1).ValueStr(0); ext != "false" || lock != "true" {
		return fmt.Errorf("engine: sandbox did not take: enable_external_access=%s lock_configuration=%s", ext, lock)
	}
	return nil
}

// addParquetKeys registers the encryption keys (after LOAD parquet, which
// defines the pragma). The statement holds the key, so neither it nor
// DuckDB's message (which could quote it) goes into the error.
func addParquetKeys(ctx context.Context, c *Conn, keys map[string][]byte) error {
	names := make([]string, 0, len(keys))
	for name := range keys {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b64 := base64.StdEncoding.EncodeToString(keys[name])
		if _, err := c.Exec(ctx, "PRAGMA add_parquet_key('"+name+"', '"+b64+"')"); err != nil {
			code := pgerr.Code(err)
			return pgerr.New(code, "engine: DuckDB refused encryption key %q (SQLSTATE %s)", name, code)
		}
	}
	return nil
}

// connInit returns duckdb-go's per-connection hook running stmts.
func connInit(stmts []string) func(driver.ExecerContext) error {
	if len(stmts) == 0 {
		return nil
	}
	return func(ex driver.ExecerContext) error {
		for _, s := range stmts {
			if _, err := ex.ExecContext(context.Background(), s, nil); err != nil {
				return fmt.Errorf("engine: connection init %q: %w", s, err)
			}
		}
		return nil
	}
}

// Close closes the database. Close every Conn first.
func (db *DB) Close() error { return db.sqlDB.Close() }

// SQL returns a database/sql handle on the same DuckDB instance, for small
// catalog queries and transactions.
func (db *DB) SQL() *sql.DB { return db.sqlDB }

// Connect opens a dedicated connection for one client session. It is a
// database/sql connection held for the session's life (database/sql never
// hands a held *sql.Conn to anyone else), driven through DuckDB's C API for
// streaming results.
func (db *DB) Connect(ctx context.Context) (*Conn, error) {
	sc, err := db.sqlDB.Conn(ctx)
	if err != nil {
		return nil, Translate(err)
	}
	c := &Conn{sc: sc, stmt: &statementContext{}}
	err = sc.Raw(func(dc any) error {
		if c.conn, err = nativeConn(dc); err != nil {
			return err
		}
		c.ctxs, err = contextStore(dc)
		return err
	})
	if err != nil {
		sc.Close()
		return nil, err
	}
	return c, nil
}

// nativeConn returns the DuckDB connection handle inside duckdb-go's
// driver connection. duckdb-go executes statements only as materialized
// results (duckdb_pending_prepared); streaming needs the handle, which it
// keeps unexported. The field is checked by name and type, so a duckdb-go
// upgrade that changes it fails here (and in the tests), not at random.
func nativeConn(dc any) (mapping.Connection, error) {
	v := reflect.ValueOf(dc)
	if _, ok := dc.(*duckdb.Conn); !ok || v.IsNil() {
		return mapping.Connection{}, pgerr.New(pgerrcode.InternalError, "engine: %T is not a DuckDB connection", dc)
	}
	f := v.Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeFor[mapping.Connection]() {
		return mapping.Connection{}, pgerr.New(pgerrcode.InternalError, "engine: unsupported duckdb-go version: no conn field")
	}
	return *(*mapping.Connection)(unsafe.Pointer(f.UnsafeAddr())), nil
}

package materialize

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sqlplan"
)

// ScanFunction is the engine table function connector sources are read
// through: sluice_source(id, from, to), with positions as text (” = the
// start, and up to the latest). A source's view is a call of it
// (sqlplan.SourceScanSQL).
const ScanFunction = "sluice_source"

// Sources keeps the connector sources (KAFKA, POSTGRES, HTTP) open, by
// catalog id: opened at CREATE SOURCE, or on first use after a restart from
// the catalog record, whose fixed schema the connector reuses.
type Sources struct {
	reg   *connectors.Registry
	cat   *catalog.Store
	log   *slog.Logger
	alloc memory.Allocator

	// The secrets key and the files no credential may be read from
	// (UseSecrets).
	keyring   *catalog.Keyring
	protected []string

	mu   sync.Mutex
	open map[int64]connectors.Source
}

// UseSecrets sets the key that opens secrets and stored credentials (nil:
// none is configured) and the files a credential's _file form may never
// name (the gateway's own keys). Call it before the sources are used.
func (s *Sources) UseSecrets(k *catalog.Keyring, protectedFiles []string) {
	s.keyring, s.protected = k, protectedFiles
}

// Keyring is the secrets key, nil when none is configured.
func (s *Sources) Keyring() *catalog.Keyring { return s.keyring }

// Credential resolves a credential of source id to its plain value: a
// secret's decrypted value, the gateway's environment variable, a file's
// contents, or the stored value. The caller keeps it in memory only.
func (s *Sources) Credential(ctx context.Context, id int64, c catalog.Credential) (string, error) {
	switch c.Form {
	case catalog.CredentialSecret:
		v, err := s.cat.SecretValue(ctx, s.keyring, c.Secret)
		return string(v), err
	case catalog.CredentialEnv:
		return connectors.EnvCredential(c.Option+"_env", c.Ref)
	case catalog.CredentialFile:
		return connectors.FileCredential(c.Option+"_file", c.Ref, s.protected)
	case catalog.CredentialPlain:
		return c.Plain(s.keyring, id)
	}
	return "", fmt.Errorf("source %d: option %q has an unknown credential form %q", id, c.Option, c.Form)
}

// NewSources returns an empty set over reg (nil: no connectors).
func NewSources(reg *connectors.Registry, cat *catalog.Store, log *slog.Logger) *Sources {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sources{reg: reg, cat: cat, log: log, alloc: memory.NewGoAllocator(), open: map[int64]connectors.Source{}}
}

// Registry is the connectors the sources are opened with.
func (s *Sources) Registry() *connectors.Registry { return s.reg }

func (s *Sources) config(location string, options map[string]string) connectors.Config {
	return connectors.Config{Location: location, Options: options, Allocator: s.alloc, Logger: s.log}
}

// Create opens a new source for CREATE SOURCE: the connector validates the
// options and reaches the endpoint. The caller records it in the catalog
// with the returned schema text and then calls Put.
func (s *Sources) Create(ctx context.Context, connector, location string, options map[string]string) (connectors.Source, string, error) {
	c, ok := s.reg.Lookup(connector)
	if !ok {
		return nil, "", pgerr.Unsupported("CREATE SOURCE ... FROM %s: no such connector (available: FILES %v)", connector, s.reg.Names())
	}
	src, err := c.Open(ctx, s.config(location, options))
	if err != nil {
		return nil, "", err
	}
	text, err := connectors.EncodeSchema(src.Schema())
	if err != nil {
		src.Close()
		return nil, "", err
	}
	return src, text, nil
}

// Put keeps src open as source id.
func (s *Sources) Put(id int64, src connectors.Source) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.open[id]; ok {
		old.Close()
	}
	s.open[id] = src
}

// Get returns source id, opening it from the catalog if needed, with its
// credentials resolved at this open.
func (s *Sources) Get(ctx context.Context, id int64) (connectors.Source, error) {
	s.mu.Lock()
	src, ok := s.open[id]
	s.mu.Unlock()
	if ok {
		return src, nil
	}
	rec, err := s.cat.SourceByID(ctx, id)
	if err != nil {
		return nil, err
	}
	c, ok := s.reg.Lookup(rec.Connector)
	if !ok {
		return nil, pgerr.New(pgerrcode.FeatureNotSupported, "source %s uses connector %s, which this gateway does not have", rec.Ref.Name, rec.Connector)
	}
	// rec.Options shows credentials as references: resolve them again, now.
	creds, err := s.cat.Credentials(ctx, id)
	if err != nil {
		return nil, err
	}
	options := make(map[string]string, len(rec.Options))
	for k, v := range rec.Options {
		options[k] = v
	}
	for _, c := range creds {
		if options[c.Option], err = s.Credential(ctx, id, c); err != nil {
			return nil, fmt.Errorf("opening source %s: %w", rec.Ref.Name, err)
		}
	}
	cfg := s.config(rec.Location, options)
	if rec.Schema != "" {
		if cfg.Schema, err = connectors.DecodeSchema(rec.Schema); err != nil {
			return nil, err
		}
	}
	src, err = c.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening source %s: %w", rec.Ref.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.open[id]; ok { // opened meanwhile
		src.Close()
		return cur, nil
	}
	s.open[id] = src
	return src, nil
}

// Forget closes source id (DROP SOURCE).
func (s *Sources) Forget(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if src, ok := s.open[id]; ok {
		src.Close()
		delete(s.open, id)
	}
}

// Close closes every open source.
func (s *Sources) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, src := range s.open {
		src.Close()
		delete(s.open, id)
	}
}

// Bind resolves a call of ScanFunction: the source, and the range to read.
func (s *Sources) Bind(ctx context.Context, args []string) (connectors.Source, connectors.Position, connectors.Position, error) {
	if len(args) != 3 {
		return nil, "", "", pgerr.New(pgerrcode.UndefinedFunction, "%s takes (id, from, to)", ScanFunction)
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return nil, "", "", pgerr.New(pgerrcode.InvalidParameterValue, "%s: bad source id %q", ScanFunction, args[0])
	}
	src, err := s.Get(ctx, id)
	if err != nil {
		return nil, "", "", err
	}
	return src, connectors.Position(args[1]), connectors.Position(args[2]), nil
}

// ViewSQL is the definition of connector source rec's view.
func ViewSQL(id int64, src connectors.Source) string {
	return sqlplan.SourceScanSQL(ScanFunction, id, src.Schema(), "", "")
}

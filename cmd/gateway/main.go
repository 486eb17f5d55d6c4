// Command gateway is the Sluice server: a PostgreSQL-wire SQL pipeline
// gateway over DuckDB.
//
//	gateway [serve] [--listen ADDR] [--data-dir DIR] [--config FILE] ...
//	gateway status [--url URL | -h HOST -p PORT -U USER -d DBNAME]
//	gateway password [--iterations N] [--md5-user NAME] < password
//	gateway cert [--host H[,H...]] [--out DIR] [--days N]
//	gateway keygen [--out FILE]
//	gateway plan DIR [--prune] [--exit-code] [connection flags]
//	gateway apply DIR [--prune] [connection flags]
//	gateway version
//
// main only loads the configuration, builds the logger, wires the gateway
// and runs it until SIGINT or SIGTERM; everything else lives in packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sluice-db/sluice/admin"
	"github.com/sluice-db/sluice/admin/status"

	"github.com/spf13/pflag"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/connectors/httpsource"
	"github.com/sluice-db/sluice/connectors/kafka"
	"github.com/sluice-db/sluice/connectors/postgres"
	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/internal/metrics"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/wire"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the gateway could not start or stopped with an error
	exitUsage  = 2 // bad command line or configuration
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stderr)
	case "password":
		return passwordCmd(args, os.Stdin, stdout, stderr)
	case "status":
		return statusCmd(args, stdout, stderr)
	case "cert":
		return certCmd(args, stdout, stderr)
	case "keygen":
		return keygenCmd(args, stdout, stderr)
	case "plan":
		return planCmd(args, stdout, stderr) // deploy.go
	case "apply":
		return applyCmd(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "sluice-gateway", versionString())
		return exitOK
	case "connectors":
		fmt.Fprint(stdout, connectorDocs())
		return exitOK
	case "help":
		fmt.Fprintln(stdout, "usage: gateway [serve] [flags] | gateway status | gateway password | gateway cert | gateway keygen | gateway plan DIR | gateway apply DIR | gateway connectors | gateway version")
		newServeFlags(stdout).PrintDefaults()
		return exitOK
	default:
		fmt.Fprintf(stderr, "gateway: unknown command %q (want serve, status, password, cert, keygen, plan, apply, connectors or version)\n", cmd)
		return exitUsage
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "devel"
}

func serve(args []string, stderr io.Writer) int {
	fs := newServeFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gateway serve: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	cfg, err := LoadConfig(fs)
	if err != nil {
		fmt.Fprintf(stderr, "gateway: bad configuration: %v\n", err)
		return exitUsage
	}
	logger := cfg.NewLogger(stderr)
	tlsConfig, err := cfg.TLSConfig()
	if err != nil {
		fmt.Fprintf(stderr, "gateway: bad configuration: %v\n", err)
		return exitUsage
	}
	auth, err := cfg.Authenticator()
	if err != nil {
		fmt.Fprintf(stderr, "gateway: bad configuration: %v\n", err)
		return exitUsage
	}
	keys, err := cfg.LoadEncryptionKeys()
	if err != nil {
		fmt.Fprintf(stderr, "gateway: bad configuration: %v\n", err)
		return exitUsage
	}

	secretsKey, err := cfg.SecretsKey()
	if err != nil {
		fmt.Fprintf(stderr, "gateway: bad configuration: %v\n", err)
		return exitUsage
	}
	if cfg.Secrets.KeyEnv != "" {
		os.Unsetenv(cfg.Secrets.KeyEnv) // read once: no source's _env option can reach it
	}

	ctx := context.Background()
	storage, err := objectStorage(cfg, logger)
	if err != nil {
		logger.Error("cannot open object storage", "endpoint", cfg.ObjectStorage.Endpoint, "err", err)
		return exitFailed
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		logger.Error("cannot listen", "listen", cfg.Listen, "err", err)
		return exitFailed
	}
	var adminL net.Listener
	if cfg.AdminListen != "" {
		if adminL, err = net.Listen("tcp", cfg.AdminListen); err != nil {
			l.Close()
			logger.Error("cannot listen", "admin_listen", cfg.AdminListen, "err", err)
			return exitFailed
		}
	}
	// Metrics are recorded only when the admin listener can serve them.
	var reg *prometheus.Registry
	var obs *metrics.Metrics
	if adminL != nil {
		reg = newMetricsRegistry()
		obs = metrics.New(reg)
	}
	g, err := gateway.Open(ctx, gateway.Options{
		DataDir:              cfg.DataDir,
		MemoryLimit:          cfg.MemoryLimit,
		Threads:              cfg.Threads,
		TempDir:              cfg.TempDir,
		MaxTempDirSize:       cfg.MaxTempDirSize,
		BlockAllocatorMemory: cfg.BlockAllocatorMemory,
		Logger:               logger,
		PollInterval:         cfg.PollInterval,

		TLS:             tlsConfig,
		RequireTLS:      cfg.RequireTLS,
		Authenticator:   auth,
		MaxConnections:  cfg.MaxConnections,
		MaxMessageSize:  cfg.MaxMessageSize,
		SessionDefaults: cfg.SessionDefaults(),

		ConfigUsers:       configUsers(cfg),
		FileRoots:         cfg.FileRoots,
		Connectors:        newRegistry(),
		SourceParallelism: cfg.SourceParallelism,
		ObjectStorage:     storage,

		SecretsKey:     secretsKey,
		ProtectedFiles: cfg.protectedFiles(configFileName(fs)),
		EncryptionKeys: keys,
		Observer:       gatewayObserver(obs),
	})
	if err != nil {
		l.Close()
		if adminL != nil {
			adminL.Close()
		}
		logger.Error("cannot open the gateway", "data_dir", cfg.DataDir, "err", err)
		return exitFailed
	}
	if obs != nil {
		obs.Inspect(g, objectCache(storage))
	}
	// Roles made with CREATE ROLE log in too, after the configured users.
	if pa, ok := auth.(*wire.PasswordAuth); ok {
		pa.UseRoles(g)
	}
	logger.Info("sluice gateway listening", "listen", l.Addr().String(), "admin_listen", cfg.AdminListen, "data_dir", cfg.DataDir, "version", versionString(),
		"tls", tlsConfig != nil, "require_tls", cfg.RequireTLS, "auth", cfg.Auth, "users", len(cfg.Users), "max_connections", cfg.MaxConnections,
		"secrets_key", secretsKey != nil,
		"encryption_keys", len(keys))

	var rg runGroup
	var shutdownErr error
	var page *status.Handler // the admin listener's status page
	if adminL != nil {
		page = newStatusPage(g, auth, cfg, logger)
	}
	{
		// The server: Serve until Shutdown, which lets running statements
		// finish until the timeout, then closes DuckDB.
		rg.add(func() error {
			if err := g.Serve(l); err != nil && !errors.Is(err, wire.ErrServerClosed) {
				return fmt.Errorf("serve: %w", err)
			}
			return nil
		}, func(error) {
			sctx, cancel := context.WithTimeout(ctx, cfg.ShutdownTimeout)
			defer cancel()
			logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
			if page != nil {
				page.Close() // refreshes started from the page are cancelled, as the scheduler's are
			}
			shutdownErr = g.Shutdown(sctx)
		})
	}
	if adminL != nil {
		// The admin listener: health, readiness, metrics, the status page.
		srv := admin.New(admin.Options{
			Logger:  logger,
			Ready:   g.Ready,
			Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
			Status:  statusHandler(page),
		})
		rg.add(func() error {
			if err := srv.Serve(adminL); err != nil && !errors.Is(err, admin.ErrServerClosed) {
				return fmt.Errorf("admin: %w", err)
			}
			return nil
		}, func(error) {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		})
	}
	{
		// Signals: SIGINT or SIGTERM end the group. Once one has arrived the
		// handler is removed, so a second one kills the process at once.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		done := make(chan struct{})
		rg.add(func() error {
			defer signal.Stop(sigs)
			select {
			case s := <-sigs:
				logger.Info("received signal", "signal", s.String())
			case <-done:
			}
			return nil
		}, func(error) {
			close(done)
		})
	}
	err = rg.run()
	if err != nil {
		logger.Error("gateway stopped", "err", err)
		return exitFailed
	}
	if shutdownErr != nil {
		logger.Error("shutdown did not complete", "err", shutdownErr)
		return exitFailed
	}
	logger.Info("gateway stopped")
	return exitOK
}

// runGroup runs actors until the first one returns, then interrupts all of
// them and waits for every one to return (prometheus's oklog/run idiom).
// Every goroutine it starts has ended when run returns.
type runGroup struct {
	actors []actor
}

type actor struct {
	execute   func() error
	interrupt func(error)
}

func (g *runGroup) add(execute func() error, interrupt func(error)) {
	g.actors = append(g.actors, actor{execute, interrupt})
}

// run returns the error of the first actor to return.
func (g *runGroup) run() error {
	if len(g.actors) == 0 {
		return nil
	}
	errs := make(chan error, len(g.actors))
	for _, a := range g.actors {
		go func(a actor) { errs <- a.execute() }(a)
	}
	err := <-errs
	for _, a := range g.actors {
		a.interrupt(err)
	}
	for i := 1; i < len(g.actors); i++ {
		<-errs
	}
	return err
}

// configUsers are the configuration file's users as privileges see them.
func configUsers(cfg Config) []access.ConfigUser {
	out := make([]access.ConfigUser, len(cfg.Users))
	for i, u := range cfg.Users {
		out[i] = access.ConfigUser{Name: u.Name, Superuser: u.IsSuperuser()}
	}
	return out
}

// objectStorage opens the object store, nil when no endpoint is set; the
// cache defaults to DATA_DIR/cache.
func objectStorage(cfg Config, log *slog.Logger) (materialize.Storage, error) {
	if cfg.ObjectStorage.Endpoint == "" {
		return nil, nil
	}
	o := cfg.ObjectStorage
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(cfg.DataDir, "cache")
	}
	st, err := s3.New(o, log)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// newRegistry is the source connectors besides FILES, registered
// explicitly: adding one is a line here.
func newRegistry() *connectors.Registry {
	return connectors.NewRegistry(kafka.Connector{}, postgres.Connector{}, httpsource.Connector{})
}

// connectorDocs is every connector's options as Markdown tables, the
// reference part of docs/connectors.md (`gateway connectors` prints it).
func connectorDocs() string {
	var b strings.Builder
	b.WriteString("### FILES\n\n" + files.Options.Markdown())
	reg := newRegistry()
	for _, name := range reg.Names() {
		c, _ := reg.Lookup(name)
		b.WriteString("\n### " + name + "\n\n" + c.Options().Markdown())
	}
	return b.String()
}

// newMetricsRegistry returns the registry /metrics serves, with the Go
// runtime's and the process's collectors.
func newMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

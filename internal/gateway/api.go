// Package gateway wires Sluice together: it opens the engine and the catalog,
// recovers from a crash, and serves sessions that dispatch parsed statements
// to DuckDB, the catalog and the materializer.
package gateway

// API contract used by cmd/gateway, tests and benchmarks:
//
//	type Options struct {
//		DataDir     string        // default "./sluice-data"
//		MemoryLimit string        // DuckDB memory_limit, "" = DuckDB default
//		Threads     int           // DuckDB threads, 0 = DuckDB default
//		TempDir     string        // spill directory, "" = DataDir/tmp
//		Logger      *slog.Logger  // nil = discard
//	}
//
//	func Open(ctx context.Context, opts Options) (*Gateway, error)
//	func (g *Gateway) Serve(l net.Listener) error       // blocks; returns wire.ErrServerClosed after Shutdown
//	func (g *Gateway) Shutdown(ctx context.Context) error // stop accepting, let running statements finish until ctx ends, then close DuckDB

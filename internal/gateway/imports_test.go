package gateway

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules holds the house rules of ../shared/STYLE.md: dependencies
// point one way, and only internal/engine imports DuckDB.
func TestImportRules(t *testing.T) {
	const mod = "github.com/sluice-db/sluice/"
	forbidden := map[string][]string{
		"wire": {"internal/engine", "sql", "sqlplan", "catalog", "materialize", "internal/gateway", "connectors",
			"ddl", "access", "pgcatalog", "internal/settings", "internal/pgcopy"},
		// The catalog emulation reads DuckDB's catalog and the system
		// tables, never the materializer or Sluice's statements.
		"pgcatalog":         {"materialize", "internal/gateway", "ddl", "catalog", "connectors", "wire", "internal/engine"},
		"ddl":               {"wire", "internal/gateway"},
		"access":            {"internal/gateway", "materialize", "ddl", "connectors/files", "connectors/kafka", "connectors/postgres", "connectors/httpsource", "connectors/s3"},
		"internal/settings": {"internal/engine", "wire", "catalog", "materialize"},
		"internal/pgcopy":   {"internal/engine", "wire", "catalog", "materialize"},
		"sql":               {"internal/engine", "catalog", "wire", "sqlplan", "materialize"},
		"sqlplan":           {"internal/engine", "catalog", "wire", "materialize", "sql"},
		"catalog":           {"wire", "materialize", "internal/gateway", "sql"},
		"materialize":       {"wire", "internal/gateway", "sql"},
		"connectors/files":  {"wire", "internal/gateway", "internal/engine"},
		// Connectors feed DuckDB through the engine's scan, never directly,
		// and know nothing of the catalog or the wire.
		"connectors":            {"wire", "internal/gateway", "internal/engine", "catalog", "materialize", "sql"},
		"connectors/kafka":      {"wire", "internal/gateway", "internal/engine", "catalog", "materialize", "sql"},
		"connectors/postgres":   {"wire", "internal/gateway", "internal/engine", "catalog", "materialize", "sql"},
		"connectors/httpsource": {"wire", "internal/gateway", "internal/engine", "catalog", "materialize", "sql"},
		"connectors/s3":         {"wire", "internal/gateway", "internal/engine", "catalog", "materialize", "sql"},
		"internal/pgcodec":      {"internal/engine", "wire"},
		"internal/pgerr":        {"internal/engine", "wire"},
		"internal/scram":        {"internal/engine", "wire", "catalog"},
		// The admin listener knows the gateway only through the handlers
		// and the readiness check cmd/gateway gives it.
		"admin": {"internal/engine", "internal/gateway", "wire", "catalog", "materialize", "ddl", "access", "sql", "connectors"},
		// The status page knows the gateway only through its own Backend
		// and Authenticator interfaces (cmd/gateway adapts them).
		"admin/status": {"internal/engine", "internal/gateway", "wire", "catalog", "materialize", "ddl", "access", "sql", "sqlplan",
			"connectors", "pgcatalog", "internal/scram", "internal/settings"},
		// plan / apply are a client of the gateway, over the wire only.
		"deploy": {"internal/engine", "internal/gateway", "wire", "catalog", "materialize", "ddl", "access", "pgcatalog", "connectors/files", "connectors/kafka", "connectors/postgres", "connectors/httpsource", "connectors/s3"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-tags", "duckdb_arrow", "-deps", mod+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if dep == mod+b {
					t.Errorf("%s imports %s (directly or not), against the house rules", pkg, dep)
				}
			}
		}
	}
	// Only internal/metrics and cmd/gateway know Prometheus: the parts
	// that record speak to it through observers they define.
	for _, pkg := range []string{"wire", "materialize", "catalog", "internal/gateway", "connectors/s3", "connectors/kafka"} {
		out, err := exec.Command("go", "list", "-tags", "duckdb_arrow", "-deps", mod+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/prometheus/") || dep == mod+"internal/metrics" {
				t.Errorf("%s imports %s (directly or not): only internal/metrics and cmd/gateway may", pkg, dep)
			}
		}
	}
	// The session glue dispatches to ddl and access; it imports no
	// connector itself (cmd/gateway wires them).
	out, err := exec.Command("go", "list", "-tags", "duckdb_arrow", "-f", "{{join .Imports \" \"}}", mod+"internal/gateway").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, imp := range strings.Fields(string(out)) {
		if strings.HasPrefix(imp, mod+"connectors/") {
			t.Errorf("internal/gateway imports %s: the session never imports a connector", imp)
		}
	}
	// Test harnesses (internal/testing/...) are for tests only: no runtime
	// package reaches them.
	out, err = exec.Command("go", "list", "-tags", "duckdb_arrow", "-deps", mod+"cmd/gateway").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, mod+"internal/testing/") {
			t.Errorf("the gateway binary depends on %s, a test harness", dep)
		}
	}
	// Only internal/engine imports duckdb-go itself.
	out, err = exec.Command("go", "list", "-tags", "duckdb_arrow", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, "github.com/duckdb/") && f[0] != mod+"internal/engine" {
				t.Errorf("%s imports %s: only internal/engine may", f[0], imp)
			}
		}
	}
}

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
	const duckdb = "github.com/duckdb/duckdb-go"
	forbidden := map[string][]string{
		"wire":             {mod + "internal/engine", mod + "sql", mod + "sqlplan", mod + "catalog", mod + "materialize", mod + "internal/gateway", duckdb},
		"sql":              {mod + "internal/engine", mod + "catalog", mod + "wire", duckdb},
		"sqlplan":          {mod + "internal/engine", mod + "catalog", mod + "wire", mod + "materialize", duckdb},
		"catalog":          {mod + "wire", mod + "materialize", mod + "internal/gateway", duckdb},
		"materialize":      {mod + "wire", mod + "internal/gateway", duckdb},
		"connectors/files": {mod + "wire", mod + "internal/gateway", duckdb},
		"internal/pgcodec": {mod + "internal/engine", mod + "wire", duckdb},
		"internal/pgerr":   {mod + "internal/engine", mod + "wire", duckdb},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-tags", "duckdb_arrow", "-deps", mod+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if dep == b || strings.HasPrefix(dep, b+"/") {
					t.Errorf("%s imports %s (directly or not), against the house rules", pkg, dep)
				}
			}
		}
	}
}

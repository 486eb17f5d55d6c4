package main

import (
	"os"
	"strings"
	"testing"
)

// TestConnectorDocs keeps docs/connectors.md in step with the connectors'
// option declarations: the page holds `gateway connectors`'s tables
// verbatim.
func TestConnectorDocs(t *testing.T) {
	page, err := os.ReadFile("../../docs/connectors.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := connectorDocs(); !strings.Contains(string(page), want) {
		t.Fatalf("docs/connectors.md does not hold the current option tables; paste the output of `go run -tags duckdb_arrow ./cmd/gateway connectors`:\n%s", want)
	}
}

// TestConfigDocs: every configuration key has its row in the README's
// table (a family such as object_storage.* may share one).
func TestConfigDocs(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range configKeys {
		if strings.Contains(string(readme), "`"+k.name+"`") {
			continue
		}
		if i := strings.Index(k.name, "."); i > 0 && strings.Contains(string(readme), "`"+k.name[:i]+".*`") {
			continue
		}
		t.Errorf("README.md has no row for the configuration key %s", k.name)
	}
}

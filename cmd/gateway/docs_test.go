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

package settings

import (
	"testing"
	"time"

	"github.com/sluice-db/sluice/internal/pgerr"
)

func TestLocalSettingEndsWithTransaction(t *testing.T) {
	v := New(map[string]string{"application_name": "psql", "user": "x"})
	if got, _ := v.Get("application_name"); got != "psql" {
		t.Fatalf("application_name = %q", got)
	}
	if _, err := v.Change("statement_timeout", "2s", false, true); err != nil {
		t.Fatal(err)
	}
	if v.StatementTimeout() != 2*time.Second {
		t.Fatalf("statement timeout %v", v.StatementTimeout())
	}
	stmt, ok := v.Pending()
	if !ok || stmt != "SET VARIABLE sluice_settings = MAP {'application_name': 'psql', 'statement_timeout': '2s'}" {
		t.Fatalf("pending %q %v", stmt, ok)
	}
	v.Synced(stmt)
	if _, ok := v.Pending(); ok {
		t.Fatal("pending after synced")
	}
	if err := v.EndTransaction(); err != nil {
		t.Fatal(err)
	}
	if v.StatementTimeout() != 0 {
		t.Fatalf("SET LOCAL outlived its transaction: %v", v.StatementTimeout())
	}
	if got, ok := v.Get("statement_timeout"); !ok || got != "0" {
		t.Fatalf("statement_timeout = %q", got)
	}
}

func TestCheck(t *testing.T) {
	if pgerr.Code(Check("server_version", "16")) != "55P02" {
		t.Error("server_version should be read-only")
	}
	if pgerr.Code(Check("statement_timeout", "soon")) != "22023" {
		t.Error("bad timeout accepted")
	}
	if !Keeps("myapp.user") || Keeps("threads") || !Keeps("datestyle") {
		t.Error("Keeps")
	}
}

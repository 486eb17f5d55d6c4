package sql

import "testing"

func TestNormalize(t *testing.T) {
	a := Normalize("SELECT zone,  -- the zone\n  count(*) AS \"N\" FROM trips /* all */ WHERE x = E'it''s'")
	b := Normalize("select ZONE, count( * ) as \"N\" from Trips where X = 'it''s'")
	if a != b {
		t.Errorf("formatting counted:\n%s\n%s", a, b)
	}
	if Normalize(`SELECT "N"`) == Normalize(`SELECT "n"`) {
		t.Error("quoted identifiers must keep their case")
	}
	if Normalize(`SELECT 'a'`) == Normalize(`SELECT 'A'`) {
		t.Error("strings must keep their case")
	}
}

func TestViewDefinition(t *testing.T) {
	tests := []struct {
		stmt, name, cols, query string
		ok                      bool
	}{
		{"CREATE VIEW s.v AS SELECT 1;", "s.v", "", "SELECT 1", true},
		{"create or replace view \"V\" (a, b) as select 1, 2", "V", "(a, b)", "select 1, 2", true},
		{"CREATE VIEW IF NOT EXISTS v AS WITH x AS (SELECT 1) SELECT * FROM x", "v", "", "WITH x AS (SELECT 1) SELECT * FROM x", true},
		{"CREATE TEMP VIEW v AS SELECT 1", "", "", "", false},
		{"CREATE TABLE v AS SELECT 1", "", "", "", false},
		{"CREATE VIEW v", "", "", "", false},
	}
	for _, tt := range tests {
		n, cols, q, ok := ViewDefinition(tt.stmt)
		if ok != tt.ok || ok && (n.String() != tt.name || cols != tt.cols || q != tt.query) {
			t.Errorf("ViewDefinition(%q) = %q %q %q %v", tt.stmt, n, cols, q, ok)
		}
	}
}

func TestOrReplace(t *testing.T) {
	tests := []struct{ in, out string }{
		{"CREATE MATERIALIZED VIEW v AS SELECT 1", "CREATE OR REPLACE MATERIALIZED VIEW v AS SELECT 1"},
		{"create materialized view if not exists v\n  as select 1", "create OR REPLACE materialized view v\n  as select 1"},
		{"CREATE VIEW IF NOT EXISTS v AS SELECT 'if not exists'", "CREATE OR REPLACE VIEW v AS SELECT 'if not exists'"},
		{"CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE OR REPLACE VIEW v AS SELECT 1"},
		{"SELECT 1", "SELECT 1"},
	}
	for _, tt := range tests {
		if got := OrReplace(tt.in); got != tt.out {
			t.Errorf("OrReplace(%q) = %q, want %q", tt.in, got, tt.out)
		}
	}
}

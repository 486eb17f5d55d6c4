package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The connection of `gateway status`: flags, then PG* variables, then the
// gateway's defaults; a URL alone says everything it says.
func TestStatusConnConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := statusConnConfig("", map[string]string{}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "127.0.0.1" || cfg.Port != 5433 || cfg.User != "sluice" || cfg.Database != "sluice" {
		t.Fatalf("defaults: %s:%d %s %s", cfg.Host, cfg.Port, cfg.User, cfg.Database)
	}
	// pgx reads the real environment for what the string leaves out.
	t.Setenv("PGHOST", "gw.example")
	t.Setenv("PGPORT", "6543")
	t.Setenv("PGUSER", "ops")
	cfg, err = statusConnConfig("", map[string]string{"user": `o'dd\name`}, env(map[string]string{"PGHOST": "gw.example", "PGPORT": "6543", "PGUSER": "ops"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "gw.example" || cfg.Port != 6543 || cfg.User != `o'dd\name` || cfg.Database != "sluice" {
		t.Fatalf("env and flags: %s:%d %q %s", cfg.Host, cfg.Port, cfg.User, cfg.Database)
	}
	cfg, err = statusConnConfig("postgres://a@h:1/db", nil, env(nil))
	if err != nil || cfg.Host != "h" || cfg.Port != 1 || cfg.User != "a" || cfg.Database != "db" {
		t.Fatalf("url: %+v %v", cfg, err)
	}
}

func TestPrintStatus(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	s := func(v string) *string { return &v }
	ms := func(d time.Duration) *string { return s(strconv.FormatInt(now.Add(d).UnixMilli(), 10)) }
	rows := [][]*string{
		{s("materialized view"), s("public"), s("a"), s("EVERY '1 hour'"), s("fresh"), s("f"), s("65.2"), ms(-65 * time.Second), ms(10 * time.Minute), nil, nil, nil},
		{s("pipeline"), s("public"), s("b"), s("MANUAL"), s("failed"), s("t"), nil, nil, nil, s("23514"), s("violates\nconstraint"), ms(-time.Hour)},
	}
	var out bytes.Buffer
	printStatus(&out, rows, now)
	want := []string{
		"public.a  materialized view  EVERY '1 hour'  fresh              1m5s       1m5s ago      in 10m0s  -",
		"public.b  pipeline           MANUAL          failed, suspended  -          never         -         23514 violates constraint (1h0m0s ago)",
		"2 objects, 1 failed, 1 suspended",
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != 4 || !strings.HasPrefix(got[0], "OBJECT") {
		t.Fatalf("got\n%s", out.String())
	}
	for i, w := range want {
		if strings.TrimRight(got[i+1], " ") != w {
			t.Errorf("line %d:\n got %q\nwant %q", i+1, got[i+1], w)
		}
	}
}

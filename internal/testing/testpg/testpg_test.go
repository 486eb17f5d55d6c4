package testpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/testing/testtls"
)

func TestStartStop(t *testing.T) {
	if reason := Missing(); reason != "" {
		t.Skip(reason)
	}
	dir, err := os.MkdirTemp("", "sluice-testpg-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // user postgres enters it as root
		t.Fatal(err)
	}
	s, err := Start(dir, "work_mem=8MB")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := pgconn.Connect(ctx, s.URL)
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	res, err := c.Exec(ctx, "SHOW work_mem").ReadAll()
	c.Close(ctx)
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	if got := string(res[0].Rows[0][0]); got != "8MB" {
		t.Errorf("work_mem = %q, want the extra option's 8MB", got)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if c, err := pgconn.Connect(ctx, s.URL); err == nil {
		c.Close(ctx)
		t.Fatal("the server still answers after Stop")
	}
}

// TestTLS: a server started with TLS.Only serves verify-full against its
// CA, for both of the certificate's names, and refuses sslmode=disable.
func TestTLS(t *testing.T) {
	if reason := Missing(); reason != "" {
		t.Skip(reason)
	}
	dir, err := os.MkdirTemp("", "sluice-testpg-tls-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ca := testtls.NewCA(t, "testpg CA")
	leaf := ca.Server(t, "127.0.0.1", "localhost")
	s, err := StartWith(filepath.Join(dir, "pg"), Options{TLS: &TLS{CertPEM: leaf.CertPEM, KeyPEM: leaf.KeyPEM, Only: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	caFile := ca.WriteCert(t, t.TempDir())
	ctx := context.Background()
	for _, host := range []string{"127.0.0.1", "localhost"} {
		url := fmt.Sprintf("postgres://postgres@%s:%d/postgres?sslmode=verify-full&sslrootcert=%s", host, s.Port, caFile)
		c, err := pgconn.Connect(ctx, url)
		if err != nil {
			t.Fatalf("verify-full to %s: %v", host, err)
		}
		res, err := c.Exec(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").ReadAll()
		c.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(res[0].Rows[0][0]); got != "t" {
			t.Errorf("pg_stat_ssl.ssl = %q over verify-full to %s", got, host)
		}
	}
	if c, err := pgconn.Connect(ctx, s.URL); err != nil { // sslmode=require
		t.Errorf("the server's own URL: %v", err)
	} else {
		c.Close(ctx)
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
	c, err := pgconn.Connect(ctx, url)
	if err == nil {
		c.Close(ctx)
		t.Fatal("sslmode=disable connected to a hostssl-only server")
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28000" {
		t.Errorf("sslmode=disable: %v, want the server's 28000", err)
	}
}

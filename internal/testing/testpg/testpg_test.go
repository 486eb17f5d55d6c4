package testpg

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
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

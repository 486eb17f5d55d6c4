// Package testpg starts a throwaway PostgreSQL cluster for tests and
// benchmarks: initdb into a directory, a server on a free 127.0.0.1 port
// with trust authentication, stopped by Stop. The binaries come from
// /usr/lib/postgresql/15/bin, or from $SLUICE_BENCH_PG_BIN.
//
// As root, initdb refuses to run, so the cluster runs as user postgres
// (through runuser): the directory is handed to that user, and every
// directory above it must be searchable by it.
package testpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultBin is where Debian's postgresql-15 package puts the server.
const DefaultBin = "/usr/lib/postgresql/15/bin"

// Bin is the directory holding initdb, pg_ctl and postgres:
// $SLUICE_BENCH_PG_BIN, or DefaultBin.
func Bin() string {
	if b := os.Getenv("SLUICE_BENCH_PG_BIN"); b != "" {
		return b
	}
	return DefaultBin
}

// Missing says why PostgreSQL cannot be started here, or "" when it can.
func Missing() string {
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(Bin(), b)); err != nil {
			return fmt.Sprintf("PostgreSQL binaries not found in %s (install postgresql-15 or set SLUICE_BENCH_PG_BIN): %v", Bin(), err)
		}
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return "running as root and there is no postgres user to run initdb as"
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			return "running as root and runuser is missing"
		}
	}
	return ""
}

// Server is a running cluster.
type Server struct {
	// URL connects as superuser postgres to database postgres over TCP.
	URL string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Dir holds the cluster: data/ (PGDATA), server.log and the socket.
	Dir string

	bin  string
	runs []string // command prefix that runs as the cluster's owner
}

// Start creates a cluster in dir (made if missing) and starts it. Each of
// extraOpts is a server setting "name=value" (shared_buffers=1GB), given
// to postgres as -c after the defaults, which favour speed over
// durability: fsync, synchronous_commit and full_page_writes are off.
// The caller stops the server, then removes dir.
func Start(dir string, extraOpts ...string) (*Server, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Server{bin: Bin(), Dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 { // initdb refuses root
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := searchable(filepath.Dir(dir)); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		s.runs = []string{"runuser", "-u", "postgres", "--"}
	}
	pgdata := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", pgdata, "--auth=trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		return nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", s.Port, dir)
	for _, o := range extraOpts {
		opts += " -c " + o
	}
	if out, err := s.run("pg_ctl", "-D", pgdata, "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
	if err := waitConnect(s.URL, 30*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop stops the server (fast shutdown) and waits for it to exit.
func (s *Server) Stop() error {
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.Dir, "data"), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

func (s *Server) run(prog string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, s.runs...), filepath.Join(s.bin, prog)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.Dir
	return cmd.CombinedOutput()
}

// searchable checks that a user other than root can reach dir: every
// directory from / down to it must be searchable by others.
func searchable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("testpg: user postgres cannot enter %s (mode %v); make it searchable (chmod o+x) or start the cluster elsewhere", d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitConnect retries a connection until the server answers or the
// deadline passes.
func waitConnect(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgconn.Connect(ctx, url)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.Join(errors.New("testpg: the server did not accept connections"), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

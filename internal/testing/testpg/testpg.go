// Package testpg starts a throwaway PostgreSQL cluster for tests and
// benchmarks: initdb into a directory, a server on a free 127.0.0.1 port
// with trust authentication, stopped by Stop. The binaries come from
// /usr/lib/postgresql/15/bin, or from $SLUICE_BENCH_PG_BIN. StartWith can
// turn TLS on with a given certificate (internal/testing/testtls makes one), accept
// TCP over TLS only, and require client certificates.
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

	bin   string
	runs  []string // command prefix that runs as the cluster's owner
	opts  string   // pg_ctl -o: the port, socket directory and settings
	probe string   // the connection string that tells the server is up
}

// Start creates a cluster in dir (made if missing) and starts it. Each of
// extraOpts is a server setting "name=value" (shared_buffers=1GB), given
// to postgres as -c after the defaults, which favour speed over
// durability: fsync, synchronous_commit and full_page_writes are off.
// The caller stops the server, then removes dir.
func Start(dir string, extraOpts ...string) (*Server, error) {
	return StartWith(dir, Options{Settings: extraOpts})
}

// Options are StartWith's.
type Options struct {
	// Settings are server settings "name=value", as Start's extraOpts.
	Settings []string
	// TLS, when set, starts the server with ssl=on.
	TLS *TLS
}

// TLS is the server side of TLS. The files are written into the cluster's
// directory, readable only by the server's user, as PostgreSQL demands of
// a key.
type TLS struct {
	// CertPEM and KeyPEM are the server's certificate (chain) and key:
	// ssl_cert_file and ssl_key_file.
	CertPEM, KeyPEM []byte
	// ClientCAPEM, when set, is ssl_ca_file: the CAs that client
	// certificates must chain to.
	ClientCAPEM []byte
	// Only makes pg_hba.conf accept TCP connections over TLS only
	// (hostssl), so sslmode=disable is refused with 28000. Local socket
	// connections stay trusted.
	Only bool
	// ClientCerts makes TCP connections authenticate with a client
	// certificate whose common name is the user (pg_hba method cert, over
	// TLS only); it needs ClientCAPEM.
	ClientCerts bool
}

// StartWith is Start with options. With o.TLS the server's URL asks for
// sslmode=require (encryption, no verification: tests that verify build
// their own connection string).
func StartWith(dir string, o Options) (*Server, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Server{bin: Bin(), Dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// owner hands a file to the cluster's owner.
	owner := func(string) error { return nil }
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
		owner = func(path string) error { return os.Chown(path, uid, gid) }
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
	sslmode := "disable"
	probe := "" // the connection string that tells the server is up: s.URL unless TCP needs a client certificate
	if o.TLS != nil {
		settings, err := s.setupTLS(pgdata, o.TLS, owner)
		if err != nil {
			return nil, err
		}
		for _, set := range settings {
			opts += " -c " + set
		}
		sslmode = "require"
		if o.TLS.ClientCerts {
			probe = fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", dir, s.Port)
		}
	}
	for _, set := range o.Settings {
		opts += " -c " + set
	}
	if out, err := s.run("pg_ctl", "-D", pgdata, "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=%s", s.Port, sslmode)
	if probe == "" {
		probe = s.URL
	}
	s.opts, s.probe = opts, probe
	if err := waitConnect(probe, 30*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// setupTLS writes the certificate files into pgdata, rewrites pg_hba.conf
// when TCP must use TLS, and returns the server settings that turn TLS on.
func (s *Server) setupTLS(pgdata string, t *TLS, owner func(string) error) ([]string, error) {
	if len(t.CertPEM) == 0 || len(t.KeyPEM) == 0 {
		return nil, errors.New("testpg: TLS needs CertPEM and KeyPEM")
	}
	if t.ClientCerts && len(t.ClientCAPEM) == 0 {
		return nil, errors.New("testpg: TLS.ClientCerts needs ClientCAPEM")
	}
	write := func(name string, data []byte) (string, error) {
		path := filepath.Join(pgdata, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return "", err
		}
		return path, owner(path)
	}
	cert, err := write("server.crt", t.CertPEM)
	if err != nil {
		return nil, err
	}
	key, err := write("server.key", t.KeyPEM)
	if err != nil {
		return nil, err
	}
	settings := []string{"ssl=on", "ssl_cert_file=" + cert, "ssl_key_file=" + key}
	if len(t.ClientCAPEM) > 0 {
		ca, err := write("client-ca.crt", t.ClientCAPEM)
		if err != nil {
			return nil, err
		}
		settings = append(settings, "ssl_ca_file="+ca)
	}
	if t.Only || t.ClientCerts {
		method := "trust"
		if t.ClientCerts {
			method = "cert"
		}
		hba := "# testpg: TCP over TLS only\n" +
			"local all all trust\n" +
			"hostssl all all 127.0.0.1/32 " + method + "\n" +
			"hostssl all all ::1/128 " + method + "\n"
		if _, err := write("pg_hba.conf", []byte(hba)); err != nil {
			return nil, err
		}
	}
	return settings, nil
}

// Stop stops the server (fast shutdown) and waits for it to exit.
func (s *Server) Stop() error {
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.Dir, "data"), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

// Crash stops the server the way a crash would (pg_ctl stop -m
// immediate): every backend quits at once, connections break, nothing is
// checkpointed, and the next start recovers from the WAL.
func (s *Server) Crash() error {
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.Dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop -m immediate: %v\n%s", err, out)
	}
	return nil
}

// Restart starts a stopped server again on the same directory, port and
// settings, and waits until it accepts connections.
func (s *Server) Restart() error {
	log := filepath.Join(s.Dir, "server.log")
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.Dir, "data"), "-l", log, "-o", s.opts, "-w", "start"); err != nil {
		text, _ := os.ReadFile(log)
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, text)
	}
	return waitConnect(s.probe, 30*time.Second)
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

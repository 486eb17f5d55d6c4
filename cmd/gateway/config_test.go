package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-db/sluice/internal/testing/testtls"
	"github.com/sluice-db/sluice/wire"
)

// clearEnv unsets every SLUICE_ variable for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, envPrefix+"_") {
			t.Setenv(name, "") // restores the value after the test
			os.Unsetenv(name)
		}
	}
}

func load(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	var out bytes.Buffer
	fs := newServeFlags(&out)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v (%s)", args, err, out.String())
	}
	return LoadConfig(fs)
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	clearEnv(t)
	cfg, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, DefaultConfig) {
		t.Fatalf("got %+v, want the defaults %+v", cfg, DefaultConfig)
	}
	if cfg.Listen != "127.0.0.1:5433" || cfg.DataDir != "./sluice-data" || cfg.ShutdownTimeout != 30*time.Second {
		t.Fatalf("unexpected embedded defaults: %+v", cfg)
	}
}

func TestPrecedence(t *testing.T) {
	file := `
listen: 127.0.0.1:7001
data_dir: /file/data
log_format: json
log_level: debug
memory_limit: 1GB
threads: 3
temp_dir: /file/tmp
shutdown_timeout: 5s
auth: md5
max_connections: 50
users:
  - name: alice
    password: ` + testVerifier + `
`
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want func(c *Config)
	}{
		{
			name: "file over default",
			want: func(c *Config) {},
		},
		{
			name: "env over file",
			env: map[string]string{
				"SLUICE_LISTEN":           "127.0.0.1:7002",
				"SLUICE_DATA_DIR":         "/env/data",
				"SLUICE_THREADS":          "4",
				"SLUICE_SHUTDOWN_TIMEOUT": "7s",
				"SLUICE_MEMORY_LIMIT":     "2GB",
				"SLUICE_LOG_FORMAT":       "text",
				"SLUICE_LOG_LEVEL":        "warn",
				"SLUICE_TEMP_DIR":         "/env/tmp",
				"SLUICE_AUTH":             "scram-sha-256",
				"SLUICE_MAX_CONNECTIONS":  "60",
			},
			want: func(c *Config) {
				c.Listen = "127.0.0.1:7002"
				c.DataDir = "/env/data"
				c.Threads = 4
				c.ShutdownTimeout = 7 * time.Second
				c.MemoryLimit = "2GB"
				c.LogFormat = "text"
				c.LogLevel = "warn"
				c.TempDir = "/env/tmp"
				c.Auth = "scram-sha-256"
				c.MaxConnections = 60
			},
		},
		{
			name: "flag over env over file",
			env: map[string]string{
				"SLUICE_LISTEN":   "127.0.0.1:7002",
				"SLUICE_DATA_DIR": "/env/data",
				"SLUICE_THREADS":  "4",
			},
			args: []string{"--listen", "127.0.0.1:7003", "--threads=6", "--shutdown-timeout", "1m", "--max-connections", "7", "--auth", "trust"},
			want: func(c *Config) {
				c.MaxConnections = 7
				c.Auth = "trust"
				c.Listen = "127.0.0.1:7003"
				c.DataDir = "/env/data" // env, no flag
				c.Threads = 6
				c.ShutdownTimeout = time.Minute
			},
		},
		{
			name: "flag equal to its default still wins",
			env:  map[string]string{"SLUICE_DATA_DIR": "/env/data"},
			args: []string{"--data-dir", "./sluice-data"},
			want: func(c *Config) { c.DataDir = "./sluice-data" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			path := writeFile(t, file)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := load(t, append([]string{"--config", path}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			want := Config{
				Listen: "127.0.0.1:7001", AdminListen: "127.0.0.1:9187", DataDir: "/file/data", LogFormat: "json", LogLevel: "debug",
				MemoryLimit: "1GB", Threads: 3, TempDir: "/file/tmp", ShutdownTimeout: 5 * time.Second, PollInterval: time.Second,
				Auth: "md5", MaxConnections: 50, SourceParallelism: 8, Users: []User{{Name: "alice", Password: testVerifier}},
				MaxMessageSize: wire.DefaultMaxMessageSize, BlockAllocatorMemory: "1GB",
			}
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestLimitKeys: max_message_size and the idle timeouts from the file,
// the environment and flags, and the session defaults they become.
func TestLimitKeys(t *testing.T) {
	clearEnv(t)
	path := writeFile(t, "max_message_size: 65536\nidle_session_timeout: 90s\n")
	t.Setenv("SLUICE_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "1500ms")
	got, err := load(t, "--config", path)
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxMessageSize != 65536 || got.IdleSessionTimeout != 90*time.Second || got.IdleInTransactionSessionTimeout != 1500*time.Millisecond {
		t.Fatalf("got %d %s %s", got.MaxMessageSize, got.IdleSessionTimeout, got.IdleInTransactionSessionTimeout)
	}
	want := map[string]string{"idle_session_timeout": "90000", "idle_in_transaction_session_timeout": "1500"}
	if d := got.SessionDefaults(); !reflect.DeepEqual(d, want) {
		t.Errorf("session defaults %v, want %v", d, want)
	}
	got, err = load(t, "--config", path, "--max-message-size", "1048576", "--idle-session-timeout", "0")
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxMessageSize != 1<<20 || len(got.SessionDefaults()) != 1 {
		t.Errorf("flags: %d %v", got.MaxMessageSize, got.SessionDefaults())
	}
}

func TestConfigFromEnvVariable(t *testing.T) {
	clearEnv(t)
	t.Setenv("SLUICE_CONFIG", writeFile(t, "threads: 2\n"))
	cfg, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Threads != 2 {
		t.Fatalf("threads = %d, want 2 from the file named by SLUICE_CONFIG", cfg.Threads)
	}
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		args    []string
		wantKey string
	}{
		{name: "unknown key in file", file: "listen: 127.0.0.1:1\nthreadz: 4\n", wantKey: "threadz"},
		{name: "nested unknown key", file: "engine:\n  threads: 4\n", wantKey: "engine.threads"},
		{name: "bad listen address", args: []string{"--listen", "localhost"}, wantKey: "listen"},
		{name: "bad listen port", env: map[string]string{"SLUICE_LISTEN": "127.0.0.1:99999"}, wantKey: "listen"},
		{name: "bad admin address", args: []string{"--admin-listen", "localhost"}, wantKey: "admin_listen"},
		{name: "bad admin port", file: "admin_listen: 127.0.0.1:http\n", wantKey: "admin_listen"},
		{name: "bad log format", file: "log_format: xml\n", wantKey: "log_format"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantKey: "log_level"},
		{name: "negative threads", args: []string{"--threads", "-1"}, wantKey: "threads"},
		{name: "threads not a number", env: map[string]string{"SLUICE_THREADS": "many"}, wantKey: "threads"},
		{name: "threads not a number in file", file: "threads: many\n", wantKey: "threads"},
		{name: "bad memory limit", file: "memory_limit: lots\n", wantKey: "memory_limit"},
		{name: "bad block allocator memory", args: []string{"--block-allocator-memory", "10%"}, wantKey: "block_allocator_memory"},
		{name: "bad shutdown timeout", env: map[string]string{"SLUICE_SHUTDOWN_TIMEOUT": "soon"}, wantKey: "shutdown_timeout"},
		{name: "negative shutdown timeout", file: "shutdown_timeout: -1s\n", wantKey: "shutdown_timeout"},
		{name: "too small poll interval", args: []string{"--poll-interval", "1ms"}, wantKey: "poll_interval"},
		{name: "empty data dir", args: []string{"--data-dir", ""}, wantKey: "data_dir"},
		{name: "too small max message size", args: []string{"--max-message-size", "100"}, wantKey: "max_message_size"},
		{name: "too large max message size", file: "max_message_size: 4294967296\n", wantKey: "max_message_size"},
		{name: "negative idle session timeout", env: map[string]string{"SLUICE_IDLE_SESSION_TIMEOUT": "-1s"}, wantKey: "idle_session_timeout"},
		{name: "bad idle in transaction timeout", file: "idle_in_transaction_session_timeout: soon\n", wantKey: "idle_in_transaction_session_timeout"},
		{name: "bad auth", env: map[string]string{"SLUICE_AUTH": "password"}, wantKey: "auth"},
		{name: "scram without users", args: []string{"--auth", "scram-sha-256"}, wantKey: "users"},
		{name: "plain password", file: "auth: scram-sha-256\nusers:\n  - name: alice\n    password: secret123\n", wantKey: "users[0].password"},
		{name: "md5 hash without auth md5", file: "users:\n  - name: bob\n    password: md5" + strings.Repeat("ab", 16) + "\n", wantKey: "users[0].password"},
		{name: "user without name", file: "users:\n  - password: " + testVerifier + "\n", wantKey: "users[0].name"},
		{name: "user twice", file: "users:\n  - {name: a, password: \"" + testVerifier + "\"}\n  - {name: a, password: \"" + testVerifier + "\"}\n", wantKey: "users[1].name"},
		{name: "unknown user field", file: "users:\n  - {name: a, pasword: x}\n", wantKey: "users[0]"},
		{name: "users from the environment", env: map[string]string{"SLUICE_USERS": "x"}, args: []string{"--auth", "scram-sha-256"}, wantKey: "users"},
		{name: "zero max connections", args: []string{"--max-connections", "0"}, wantKey: "max_connections"},
		{name: "max connections not a number", env: map[string]string{"SLUICE_MAX_CONNECTIONS": "lots"}, wantKey: "max_connections"},
		{name: "cert without key", args: []string{"--tls-cert-file", "/x.crt"}, wantKey: "tls_key_file"},
		{name: "key without cert", args: []string{"--tls-key-file", "/x.key"}, wantKey: "tls_cert_file"},
		{name: "require tls without cert", env: map[string]string{"SLUICE_REQUIRE_TLS": "true"}, wantKey: "require_tls"},
		{name: "missing cert files", args: []string{"--tls-cert-file", "/nonexistent.crt", "--tls-key-file", "/nonexistent.key"}, wantKey: "tls_cert_file"},
		{name: "missing object storage CA file", file: "object_storage:\n  endpoint: https://127.0.0.1:9000\n  ca_file: /nonexistent/ca.pem\n", wantKey: "object_storage.ca_file"},
		{name: "object storage CA file not PEM", args: []string{"--object-storage-endpoint", "https://127.0.0.1:9000", "--object-storage-ca-file", "config_test.go"}, wantKey: "object_storage.ca_file"},
		{name: "object storage CA file with http", env: map[string]string{"SLUICE_OBJECT_STORAGE_ENDPOINT": "http://127.0.0.1:9000", "SLUICE_OBJECT_STORAGE_CA_FILE": "config_test.go"}, wantKey: "object_storage.ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			_, err := load(t, args...)
			if err == nil {
				t.Fatal("no error")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			if ce.Key != tt.wantKey || !strings.Contains(err.Error(), tt.wantKey) {
				t.Fatalf("error %q names key %q, want %q", err, ce.Key, tt.wantKey)
			}
		})
	}
}

func TestMissingConfigFile(t *testing.T) {
	clearEnv(t)
	_, err := load(t, "--config", filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("got %v, want an error naming the file", err)
	}
}

func TestValidMemoryLimits(t *testing.T) {
	for _, m := range []string{"", "4GB", "512MiB", "50%", "1.5 GB", "100000"} {
		c := DefaultConfig
		c.MemoryLimit = m
		if err := c.Validate(); err != nil {
			t.Errorf("memory_limit %q: %v", m, err)
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	clearEnv(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != exitOK || !strings.HasPrefix(out.String(), "sluice-gateway ") {
		t.Fatalf("version: code %d, out %q", code, out.String())
	}
	errOut.Reset()
	if code := run([]string{"serve", "--log-format", "xml"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "log_format") {
		t.Fatalf("bad config: code %d, stderr %q; want %d naming log_format", code, errOut.String(), exitUsage)
	}
	errOut.Reset()
	if code := run([]string{"--threads", "-2"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "threads") {
		t.Fatalf("bad config (default command): code %d, stderr %q", code, errOut.String())
	}
	if code := run([]string{"--no-such-flag"}, &out, &errOut); code != exitUsage {
		t.Fatalf("bad flag: code %d", code)
	}
	if code := run([]string{"frobnicate"}, &out, &errOut); code != exitUsage {
		t.Fatalf("bad command: code %d", code)
	}
}

func TestRunGroupEndsAllActors(t *testing.T) {
	var rg runGroup
	stop := make(chan struct{})
	interrupted := 0
	rg.add(func() error { <-stop; return nil }, func(error) { interrupted++; close(stop) })
	boom := errors.New("boom")
	rg.add(func() error { return boom }, func(error) { interrupted++ })
	if err := rg.run(); !errors.Is(err, boom) {
		t.Fatalf("run = %v, want boom", err)
	}
	if interrupted != 2 {
		t.Fatalf("interrupted %d actors, want 2", interrupted)
	}
}

// testVerifier is a SCRAM-SHA-256 verifier (of "pencil").
const testVerifier = "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

func TestTLSConfigFromGeneratedCert(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run([]string{"cert", "--host", "127.0.0.1,db.example", "--out", dir}, &out, &errOut); code != exitOK {
		t.Fatalf("cert: code %d: %s", code, errOut.String())
	}
	if code := run([]string{"cert", "--out", dir}, &out, &errOut); code != exitFailed {
		t.Fatalf("cert over existing files: code %d, want %d", code, exitFailed)
	}
	if fi, err := os.Stat(filepath.Join(dir, "server.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("server.key: %v %v, want mode 0600", fi, err)
	}
	cfg, err := load(t, "--tls-cert-file", filepath.Join(dir, "server.crt"), "--tls-key-file", filepath.Join(dir, "server.key"), "--require-tls")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cfg.TLSConfig()
	if err != nil || tc == nil || len(tc.Certificates) != 1 {
		t.Fatalf("TLSConfig: %v %v", tc, err)
	}
	if !cfg.RequireTLS {
		t.Fatal("require_tls not set by --require-tls")
	}
}

func TestPasswordCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := passwordCmd(nil, strings.NewReader("pencil\n"), &out, &errOut); code != exitOK {
		t.Fatalf("code %d: %s", code, errOut.String())
	}
	verifier := strings.TrimSpace(out.String())
	if err := wire.CheckSecret(wire.AuthSCRAM, verifier); err != nil {
		t.Fatalf("%q: %v", verifier, err)
	}
	if strings.Contains(out.String()+errOut.String(), "pencil") {
		t.Fatal("the password was printed")
	}
	out.Reset()
	if code := passwordCmd([]string{"--md5-user", "bob"}, strings.NewReader("hunter2"), &out, &errOut); code != exitOK {
		t.Fatalf("md5: code %d", code)
	}
	if got := strings.TrimSpace(out.String()); got != wire.MD5Secret("bob", "hunter2") {
		t.Fatalf("md5: %q", got)
	}
	if code := passwordCmd(nil, strings.NewReader("\n"), &out, &errOut); code != exitUsage {
		t.Fatalf("empty password: code %d", code)
	}
	if code := passwordCmd([]string{"pencil"}, strings.NewReader(""), &out, &errOut); code != exitUsage {
		t.Fatalf("password as an argument: code %d", code)
	}
}

// TestObjectStorageCAFile: object_storage.ca_file is read from the file,
// the environment or a flag, and checked at start.
func TestObjectStorageCAFile(t *testing.T) {
	clearEnv(t)
	ca := testtls.NewCA(t, "object storage CA").WriteCert(t, t.TempDir())
	cfg, err := load(t, "--config", writeFile(t, "object_storage:\n  endpoint: https://s3.internal:9000\n  ca_file: "+ca+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ObjectStorage.CAFile != ca {
		t.Errorf("object_storage.ca_file from the file = %q, want %q", cfg.ObjectStorage.CAFile, ca)
	}
	t.Setenv("SLUICE_OBJECT_STORAGE_ENDPOINT", "s3.internal:9000")
	t.Setenv("SLUICE_OBJECT_STORAGE_USE_SSL", "true")
	t.Setenv("SLUICE_OBJECT_STORAGE_CA_FILE", ca)
	if cfg, err = load(t); err != nil || cfg.ObjectStorage.CAFile != ca {
		t.Errorf("object_storage.ca_file from the environment: %q, %v", cfg.ObjectStorage.CAFile, err)
	}
	_, err = load(t, "--object-storage-ca-file", filepath.Join(t.TempDir(), "gone.pem"))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "object_storage.ca_file" || !strings.Contains(err.Error(), "gone.pem") {
		t.Errorf("a missing ca_file: %v, want a config error naming object_storage.ca_file and the file", err)
	}
}

func TestEncryptionKeys(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	keyFile := filepath.Join(dir, "k1.key")
	if code := run([]string{"keygen", "--out", keyFile}, &out, &errOut); code != exitOK {
		t.Fatalf("keygen: code %d: %s", code, errOut.String())
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	if code := run([]string{"keygen", "--out", keyFile}, &out, &errOut); code != exitFailed {
		t.Fatalf("keygen over an existing file: code %d", code)
	}
	out.Reset()
	if code := run([]string{"keygen"}, &out, &errOut); code != exitOK {
		t.Fatalf("keygen to stdout: code %d", code)
	}
	envKey := strings.TrimSpace(out.String())
	t.Setenv("TEST_SLUICE_K2", envKey)
	cfg, err := load(t, "--config", writeFile(t, "encryption_keys:\n  - {name: k1, key_file: "+keyFile+"}\n  - {name: k2, key_env: TEST_SLUICE_K2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := cfg.LoadEncryptionKeys()
	if err != nil || len(keys) != 2 || len(keys["k1"]) != 32 || len(keys["k2"]) != 32 {
		t.Fatalf("keys: %d %v", len(keys), err)
	}
	file, _ := os.ReadFile(keyFile)
	if want, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(file))); !bytes.Equal(keys["k1"], want) {
		t.Fatal("k1 is not the key of its file")
	}
}

func TestBadEncryptionKeys(t *testing.T) {
	dir := t.TempDir()
	put := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	short := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	unreadable := filepath.Join(dir, "missing.key")
	tests := []struct {
		name, file, wantKey string
		env                 map[string]string
	}{
		{name: "unreadable file", file: "encryption_keys:\n  - {name: k, key_file: " + unreadable + "}\n", wantKey: "encryption_keys[0].key_file"},
		{name: "not base64", file: "encryption_keys:\n  - {name: k, key_file: " + put("bad.key", "not base64 at all!") + "}\n", wantKey: "encryption_keys[0].key_file"},
		{name: "128-bit key", file: "encryption_keys:\n  - {name: k, key_file: " + put("short.key", short) + "}\n", wantKey: "encryption_keys[0].key_file"},
		{name: "empty env", env: map[string]string{"TEST_SLUICE_EMPTY": ""}, file: "encryption_keys:\n  - {name: k, key_env: TEST_SLUICE_EMPTY}\n", wantKey: "encryption_keys[0].key_env"},
		{name: "unset env", file: "encryption_keys:\n  - {name: ok, key_env: TEST_SLUICE_GOOD}\n  - {name: k, key_env: TEST_SLUICE_UNSET}\n", wantKey: "encryption_keys[1].key_env",
			env: map[string]string{"TEST_SLUICE_GOOD": secret}},
		{name: "both sources", file: "encryption_keys:\n  - {name: k, key_env: X, key_file: /x}\n", wantKey: "encryption_keys[0].key_file"},
		{name: "no source", file: "encryption_keys:\n  - {name: k}\n", wantKey: "encryption_keys[0].key_file"},
		{name: "inline key refused", file: "encryption_keys:\n  - {name: k, key: " + secret + "}\n", wantKey: "encryption_keys[0]"},
		{name: "bad name", file: "encryption_keys:\n  - {name: My-Key, key_env: TEST_SLUICE_GOOD}\n", wantKey: "encryption_keys[0].name", env: map[string]string{"TEST_SLUICE_GOOD": secret}},
		{name: "twice", file: "encryption_keys:\n  - {name: k, key_env: TEST_SLUICE_GOOD}\n  - {name: k, key_env: TEST_SLUICE_GOOD}\n", wantKey: "encryption_keys[1].name",
			env: map[string]string{"TEST_SLUICE_GOOD": secret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			os.Unsetenv("TEST_SLUICE_UNSET")
			_, err := load(t, "--config", writeFile(t, tt.file))
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tt.wantKey {
				t.Fatalf("error %v, want a ConfigError naming %s", err, tt.wantKey)
			}
			for _, s := range []string{secret, short, "0123456789abcdef"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("the error shows key material: %v", err)
				}
			}
			// And the gateway refuses to start with exit code 2.
			var out, errOut bytes.Buffer
			if code := run([]string{"--config", writeFile(t, tt.file)}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), tt.wantKey) {
				t.Fatalf("serve: code %d, stderr %q", code, errOut.String())
			}
		})
	}
}

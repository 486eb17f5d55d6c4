package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	if cfg != DefaultConfig {
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
			},
		},
		{
			name: "flag over env over file",
			env: map[string]string{
				"SLUICE_LISTEN":   "127.0.0.1:7002",
				"SLUICE_DATA_DIR": "/env/data",
				"SLUICE_THREADS":  "4",
			},
			args: []string{"--listen", "127.0.0.1:7003", "--threads=6", "--shutdown-timeout", "1m"},
			want: func(c *Config) {
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
				Listen: "127.0.0.1:7001", DataDir: "/file/data", LogFormat: "json", LogLevel: "debug",
				MemoryLimit: "1GB", Threads: 3, TempDir: "/file/tmp", ShutdownTimeout: 5 * time.Second,
			}
			tt.want(&want)
			if got != want {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
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
		{name: "bad log format", file: "log_format: xml\n", wantKey: "log_format"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantKey: "log_level"},
		{name: "negative threads", args: []string{"--threads", "-1"}, wantKey: "threads"},
		{name: "threads not a number", env: map[string]string{"SLUICE_THREADS": "many"}, wantKey: "threads"},
		{name: "threads not a number in file", file: "threads: many\n", wantKey: "threads"},
		{name: "bad memory limit", file: "memory_limit: lots\n", wantKey: "memory_limit"},
		{name: "bad shutdown timeout", env: map[string]string{"SLUICE_SHUTDOWN_TIMEOUT": "soon"}, wantKey: "shutdown_timeout"},
		{name: "negative shutdown timeout", file: "shutdown_timeout: -1s\n", wantKey: "shutdown_timeout"},
		{name: "empty data dir", args: []string{"--data-dir", ""}, wantKey: "data_dir"},
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

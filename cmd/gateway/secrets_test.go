package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func randomKey(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestSecretsKey(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	good := randomKey(t, 32)
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want, _ := base64.StdEncoding.DecodeString(good)

	cfg, err := load(t, "--secrets-key-file", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if key, err := cfg.SecretsKey(); err != nil || !bytes.Equal(key, want) {
		t.Fatalf("key file: %x, %v", key, err)
	}
	t.Setenv("TEST_SLUICE_KEY", strings.TrimRight(good, "=")) // unpadded is fine too
	cfg, err = load(t, "--config", writeFile(t, "secrets:\n  key_env: TEST_SLUICE_KEY\n"))
	if err != nil {
		t.Fatal(err)
	}
	if key, err := cfg.SecretsKey(); err != nil || !bytes.Equal(key, want) {
		t.Fatalf("key env: %x, %v", key, err)
	}
	if cfg, err := load(t); err != nil || cfg.Secrets != (SecretsConfig{}) {
		t.Fatalf("no key: %+v, %v", cfg.Secrets, err)
	} else if key, err := cfg.SecretsKey(); key != nil || err != nil {
		t.Fatalf("no key: %x, %v", key, err)
	}

	short := randomKey(t, 16)
	shortFile := filepath.Join(dir, "short")
	os.WriteFile(shortFile, []byte(short), 0o600)
	notB64 := filepath.Join(dir, "text")
	os.WriteFile(notB64, []byte("not a key, but a secret phrase!"), 0o600)
	t.Setenv("TEST_SLUICE_SHORT", short)
	for _, tt := range []struct {
		args []string
		key  string
		msg  string
	}{
		{[]string{"--secrets-key-file", shortFile}, "secrets.key_file", "decodes to 16 bytes"},
		{[]string{"--secrets-key-file", notB64}, "secrets.key_file", "does not hold base64 text"},
		{[]string{"--secrets-key-file", filepath.Join(dir, "missing")}, "secrets.key_file", "no such file"},
		{[]string{"--secrets-key-env", "TEST_SLUICE_SHORT"}, "secrets.key_env", "decodes to 16 bytes"},
		{[]string{"--secrets-key-env", "TEST_SLUICE_UNSET"}, "secrets.key_env", "is not set"},
		{[]string{"--secrets-key-env", "TEST_SLUICE_KEY", "--secrets-key-file", keyFile}, "secrets.key_env", "only one of"},
	} {
		_, err := load(t, tt.args...)
		var ce *ConfigError
		if err == nil || !errors.As(err, &ce) || ce.Key != tt.key || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%v: got %v, want key %s and %q", tt.args, err, tt.key, tt.msg)
			continue
		}
		for _, material := range []string{short, good, "secret phrase"} {
			if strings.Contains(err.Error(), material) {
				t.Errorf("%v: the error shows key material: %v", tt.args, err)
			}
		}
	}

	cfg = Config{TLSKeyFile: "/tls.key", Secrets: SecretsConfig{KeyFile: "/k"}}
	if got := strings.Join(cfg.protectedFiles("/etc/sluice.yaml"), " "); got != "/k /tls.key /etc/sluice.yaml" {
		t.Errorf("protectedFiles = %s", got)
	}
}

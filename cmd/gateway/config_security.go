package main

// The security part of the configuration: encryption keys, the checks of
// TLS, users and auth together, and the TLS config and authenticator they
// make.

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/sqlplan"
	"github.com/sluice-db/sluice/wire"
)

// LoadEncryptionKeys reads each encryption_keys entry's material: name ->
// the 32-byte key. An unreadable file, an unset or empty variable, bad
// base64 or a key of another size is an error naming the entry's key; no
// message quotes the material.
func (c Config) LoadEncryptionKeys() (map[string][]byte, error) {
	if len(c.EncryptionKeys) == 0 {
		return nil, nil
	}
	keys := make(map[string][]byte, len(c.EncryptionKeys))
	for i, k := range c.EncryptionKeys {
		at := func(field string) string { return fmt.Sprintf("encryption_keys[%d].%s", i, field) }
		if !sqlplan.ValidKeyName(k.Name) {
			return nil, &ConfigError{Key: at("name"), Err: fmt.Errorf("%q is not a lower case identifier (letters a-z, digits, _; at most 63)", k.Name)}
		}
		if _, dup := keys[k.Name]; dup {
			return nil, &ConfigError{Key: at("name"), Err: fmt.Errorf("key %q is listed twice", k.Name)}
		}
		var text, field string
		switch {
		case k.KeyFile != "" && k.KeyEnv != "":
			return nil, &ConfigError{Key: at("key_file"), Err: fmt.Errorf("key %q: set key_file or key_env, not both", k.Name)}
		case k.KeyFile != "":
			field = "key_file"
			b, err := os.ReadFile(k.KeyFile)
			if err != nil {
				return nil, &ConfigError{Key: at(field), Err: fmt.Errorf("key %q: %w", k.Name, err)}
			}
			text = string(b)
		case k.KeyEnv != "":
			field = "key_env"
			text = os.Getenv(k.KeyEnv)
			if strings.TrimSpace(text) == "" {
				return nil, &ConfigError{Key: at(field), Err: fmt.Errorf("key %q: environment variable %s is unset or empty", k.Name, k.KeyEnv)}
			}
		default:
			return nil, &ConfigError{Key: at("key_file"), Err: fmt.Errorf("key %q: set key_file or key_env (the key itself is never in this file)", k.Name)}
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
		if err != nil {
			return nil, &ConfigError{Key: at(field), Err: fmt.Errorf("key %q is not base64 (make one with `sluice-gateway keygen`)", k.Name)}
		}
		if len(key) != engine.EncryptionKeySize {
			return nil, &ConfigError{Key: at(field), Err: fmt.Errorf("key %q has %d bytes, want %d (AES-256; DuckDB 1.5 would take the base64 text of a 16- or 24-byte key as the key itself)",
				k.Name, len(key), engine.EncryptionKeySize)}
		}
		keys[k.Name] = key
	}
	return keys, nil
}

// objectStorageKey is the object_storage key an s3.Config error names.
func objectStorageKey(err error) string {
	for _, k := range configKeys {
		if strings.HasPrefix(k.name, s3.KeyPrefix+".") && strings.Contains(err.Error(), `"`+k.name+`"`) {
			return k.name
		}
	}
	return s3.KeyPrefix
}

// validateSecurity checks the TLS, authentication and limit keys. Its
// messages never quote a password or a verifier.
func (c Config) validateSecurity() error {
	switch {
	case c.TLSCertFile != "" && c.TLSKeyFile == "":
		return &ConfigError{Key: "tls_key_file", Err: errors.New("must be set with tls_cert_file")}
	case c.TLSCertFile == "" && c.TLSKeyFile != "":
		return &ConfigError{Key: "tls_cert_file", Err: errors.New("must be set with tls_key_file")}
	case c.RequireTLS && c.TLSCertFile == "":
		return &ConfigError{Key: "require_tls", Err: errors.New("needs tls_cert_file and tls_key_file")}
	}
	if _, err := c.TLSConfig(); err != nil {
		return err
	}
	switch c.Auth {
	case wire.AuthTrust, wire.AuthSCRAM, wire.AuthMD5:
	default:
		return &ConfigError{Key: "auth", Err: fmt.Errorf("%q is not trust, scram-sha-256 or md5", c.Auth)}
	}
	if c.Auth != wire.AuthTrust && len(c.Users) == 0 {
		return &ConfigError{Key: "users", Err: fmt.Errorf("auth %s needs at least one user", c.Auth)}
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		if u.Name == "" {
			return &ConfigError{Key: fmt.Sprintf("users[%d].name", i), Err: errors.New("must not be empty")}
		}
		if seen[u.Name] {
			return &ConfigError{Key: fmt.Sprintf("users[%d].name", i), Err: fmt.Errorf("user %q is listed twice", u.Name)}
		}
		seen[u.Name] = true
		if err := wire.CheckSecret(c.Auth, u.Password); err != nil {
			return &ConfigError{Key: fmt.Sprintf("users[%d].password", i), Err: fmt.Errorf("user %q: %w", u.Name, err)}
		}
	}
	if c.MaxConnections < 1 {
		return &ConfigError{Key: "max_connections", Err: fmt.Errorf("must be at least 1, got %d", c.MaxConnections)}
	}
	return nil
}

// TLSConfig loads the certificate and key; nil when TLS is not configured.
func (c Config) TLSConfig() (*tls.Config, error) {
	if c.TLSCertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
	if err != nil {
		return nil, &ConfigError{Key: "tls_cert_file", Err: fmt.Errorf("loading %s and %s: %w", c.TLSCertFile, c.TLSKeyFile, err)}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Authenticator returns the authenticator of the auth and users keys.
func (c Config) Authenticator() (wire.Authenticator, error) {
	users := make(map[string]string, len(c.Users))
	for _, u := range c.Users {
		users[u.Name] = u.Password
	}
	a, err := wire.NewPasswordAuth(c.Auth, users)
	if err != nil {
		return nil, &ConfigError{Key: "users", Err: err}
	}
	return a, nil
}

package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sluice-db/sluice/catalog"
)

// SecretsConfig is where the secrets key comes from: the key that encrypts
// secrets (CREATE SECRET) and the credentials stored with sources. The key
// is the base64 of 32 random bytes (openssl rand -base64 32), in a file or
// in an environment variable; neither: no key, and CREATE SECRET is
// refused.
type SecretsConfig struct {
	KeyFile string `mapstructure:"key_file"`
	KeyEnv  string `mapstructure:"key_env"`
}

// maxKeyFile bounds the secrets key file (a key is 44 characters).
const maxKeyFile = 4 << 10

// SecretsKey reads and decodes the secrets key, nil when none is
// configured. Its errors name the config key and never show key material.
func (c Config) SecretsKey() ([]byte, error) {
	s := c.Secrets
	switch {
	case s.KeyFile != "" && s.KeyEnv != "":
		return nil, &ConfigError{Key: "secrets.key_env", Err: errors.New("set only one of secrets.key_file and secrets.key_env")}
	case s.KeyFile != "":
		f, err := os.Open(s.KeyFile)
		if err != nil {
			return nil, &ConfigError{Key: "secrets.key_file", Err: err}
		}
		defer f.Close()
		text, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
		if err != nil {
			return nil, &ConfigError{Key: "secrets.key_file", Err: err}
		}
		if len(text) > maxKeyFile {
			return nil, &ConfigError{Key: "secrets.key_file", Err: fmt.Errorf("%s is larger than a key file can be", s.KeyFile)}
		}
		key, err := decodeKey(string(text))
		if err != nil {
			return nil, &ConfigError{Key: "secrets.key_file", Err: fmt.Errorf("%s %w", s.KeyFile, err)}
		}
		return key, nil
	case s.KeyEnv != "":
		text, ok := os.LookupEnv(s.KeyEnv)
		if !ok {
			return nil, &ConfigError{Key: "secrets.key_env", Err: fmt.Errorf("environment variable %s is not set", s.KeyEnv)}
		}
		key, err := decodeKey(text)
		if err != nil {
			return nil, &ConfigError{Key: "secrets.key_env", Err: fmt.Errorf("environment variable %s %w", s.KeyEnv, err)}
		}
		return key, nil
	}
	return nil, nil
}

// decodeKey decodes the base64 of a key (padded or not); its errors
// complete "<where> ..." and never quote the text.
func decodeKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	key, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		if key, err = base64.RawStdEncoding.DecodeString(text); err != nil {
			return nil, errors.New("does not hold base64 text (make a key with: openssl rand -base64 32)")
		}
	}
	if len(key) != catalog.KeySize {
		return nil, fmt.Errorf("does not hold the base64 of %d bytes: it decodes to %d bytes (make a key with: openssl rand -base64 32)", catalog.KeySize, len(key))
	}
	return key, nil
}

// protectedFiles are the files no source's _file option may read: the
// gateway's own key files and its configuration file.
func (c Config) protectedFiles(configFile string) []string {
	var out []string
	for _, f := range []string{c.Secrets.KeyFile, c.TLSKeyFile, configFile} {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// configFileName is the configuration file LoadConfig read, "" if none.
func configFileName(fs *pflag.FlagSet) string {
	file, _ := fs.GetString("config")
	if !fs.Changed("config") {
		if env, ok := os.LookupEnv(envName("config")); ok {
			file = env
		}
	}
	return file
}

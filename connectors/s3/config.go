// Package s3 moves bytes between S3-compatible object storage and the local
// disk for the gateway. DuckDB cannot read s3:// itself here, so sources
// FROM FILES 's3://bucket/prefix/**/*.parquet' are listed and downloaded
// into a bounded local cache that DuckDB scans as local files, and finished
// outputs of views and pipelines are uploaded before a version is published.
//
// Every error carries a SQLSTATE (internal/pgerr): 22023 for a bad
// configuration or URL (naming the key or the URL), 08001 when the endpoint
// cannot be reached, 57014 when the caller's context ends, 53100 when the
// cache cannot hold what one query needs, and 58030 for any other storage
// failure. Errors and logs never contain the secret key.
package s3

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// KeyPrefix is the section of the gateway configuration that holds Config:
// object_storage.endpoint, object_storage.cache_size, ...
const KeyPrefix = "object_storage"

// Defaults of the keys left at zero.
const (
	DefaultCacheSize = 10 << 30 // 10 GiB
	DefaultParallel  = 8
	DefaultPartSize  = 16 << 20 // 16 MiB
	DefaultTimeout   = 10 * time.Second
	DefaultRetries   = 3

	// MinPartSize is S3's smallest part of a multipart upload (but the last).
	MinPartSize = 5 << 20
	// maxParts is S3's largest number of parts in one multipart upload.
	maxParts = 10000
)

// Config configures the object store. Each field is one key of the
// gateway's object_storage section (the mapstructure tag). Zero values mean
// the default, so a Config decoded from a file that omits a key is valid.
type Config struct {
	// Endpoint is host:port, or a URL http(s)://host[:port] whose scheme
	// sets UseSSL. Required.
	Endpoint string `mapstructure:"endpoint"`
	// Region is the signing region; empty asks the server per bucket.
	Region string `mapstructure:"region"`
	// AccessKey and SecretKey are the static credentials; both empty means
	// AWS's credential chain (aws.go), anonymous requests when it finds
	// none. SecretKey is never logged nor put in an error.
	AccessKey string `mapstructure:"access_key"`
	SecretKey string `mapstructure:"secret_key"`
	// InstanceMetadata lets the credential chain ask EC2's instance
	// metadata service last (off by default: off EC2 it only waits).
	InstanceMetadata bool `mapstructure:"instance_metadata"`
	// UseSSL selects https for a host:port endpoint.
	UseSSL bool `mapstructure:"use_ssl"`
	// CAFile, when set, is a PEM file of CA certificates that replace the
	// system's roots in verifying an https endpoint (a private CA). The
	// endpoint's certificate and host name are always verified.
	CAFile string `mapstructure:"ca_file"`
	// CacheDir holds downloaded objects as CacheDir/<bucket>/<key>; Sluice
	// owns it. Required.
	CacheDir string `mapstructure:"cache_dir"`
	// CacheSize bounds the bytes of the cache (default 10 GiB).
	CacheSize int64 `mapstructure:"cache_size"`
	// Parallel bounds the range GETs and part uploads in flight over the
	// whole store (default 8).
	Parallel int `mapstructure:"parallel"`
	// PartSize is the size of a download range and of an upload part; larger
	// objects are split (default 16 MiB, at least 5 MiB).
	PartSize int64 `mapstructure:"part_size"`
	// Timeout bounds connecting, waiting for a response and any stall of a
	// transfer (default 10 s).
	Timeout time.Duration `mapstructure:"timeout"`
	// Retries is how often a failed request or range read is retried, with
	// exponential backoff (default 3).
	Retries int `mapstructure:"retries"`

	// WrapTransport, when set, wraps the HTTP transport the store builds
	// (tests count requests with it). Not a configuration key.
	WrapTransport func(http.RoundTripper) http.RoundTripper `mapstructure:"-" json:"-"`
}

// withDefaults returns c with zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Parallel == 0 {
		c.Parallel = DefaultParallel
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	return c
}

// configError is a 22023 error naming the key object_storage.<key>.
func configError(key, format string, args ...any) error {
	return pgerr.New(pgerrcode.InvalidParameterValue, "config key %q: %s", KeyPrefix+"."+key, fmt.Sprintf(format, args...))
}

// Validate checks every key and returns the first problem as a 22023 error
// naming the key (object_storage.endpoint, ...). It never quotes a secret.
func (c Config) Validate() error {
	if _, _, err := c.endpoint(); err != nil {
		return err
	}
	if _, err := c.rootCAs(); err != nil {
		return err
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		if c.AccessKey == "" {
			return configError("access_key", "must be set when secret_key is set")
		}
		return configError("secret_key", "must be set when access_key is set")
	}
	if strings.TrimSpace(c.CacheDir) == "" {
		return configError("cache_dir", "must not be empty")
	}
	if c.CacheSize < 0 {
		return configError("cache_size", "must not be negative, got %d", c.CacheSize)
	}
	if c.Parallel < 0 || c.Parallel > 1024 {
		return configError("parallel", "must be between 1 and 1024 (0: the default, %d), got %d", DefaultParallel, c.Parallel)
	}
	if c.PartSize != 0 && (c.PartSize < MinPartSize || c.PartSize > 5<<30) {
		return configError("part_size", "must be between 5 MiB (%d) and 5 GiB, got %d", MinPartSize, c.PartSize)
	}
	if c.Timeout < 0 {
		return configError("timeout", "must not be negative, got %s", c.Timeout)
	}
	if c.Retries < 0 || c.Retries > 100 {
		return configError("retries", "must be between 1 and 100 (0: the default, %d), got %d", DefaultRetries, c.Retries)
	}
	return nil
}

// rootCAs is the CAFile's certificates; nil without one (the system's
// roots). A file that cannot be read or holds no PEM certificate is a
// 22023 error naming object_storage.ca_file, as is one with an http
// endpoint.
func (c Config) rootCAs() (*x509.CertPool, error) {
	if c.CAFile == "" {
		return nil, nil
	}
	if _, secure, err := c.endpoint(); err != nil {
		return nil, err
	} else if !secure {
		return nil, configError("ca_file", "is set but the endpoint is not https (use https://host:port or use_ssl)")
	}
	b, err := os.ReadFile(c.CAFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once
		}
		return nil, configError("ca_file", "cannot read %s: %v", c.CAFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, configError("ca_file", "%s holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")", c.CAFile)
	}
	return pool, nil
}

// endpoint returns the host:port to dial and whether to use TLS.
func (c Config) endpoint() (host string, secure bool, err error) {
	e := strings.TrimSpace(c.Endpoint)
	if e == "" {
		return "", false, configError("endpoint", "must not be empty (host:port or http(s)://host:port)")
	}
	secure = c.UseSSL
	if strings.Contains(e, "://") {
		u, perr := url.Parse(e)
		if perr != nil {
			// url's message quotes the text, which might hold a password.
			return "", false, configError("endpoint", "is not a valid URL")
		}
		if u.User != nil {
			return "", false, configError("endpoint", "must not contain credentials; set access_key and secret_key")
		}
		switch strings.ToLower(u.Scheme) {
		case "https":
			secure = true
		case "http":
			if c.UseSSL {
				return "", false, configError("use_ssl", "is true but endpoint %q uses http://", e)
			}
			secure = false
		default:
			return "", false, configError("endpoint", "scheme %q is not http or https", u.Scheme)
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
			return "", false, configError("endpoint", "%q must not have a path or query (buckets are named in s3:// URLs)", e)
		}
		e = u.Host
	} else if strings.ContainsAny(e, "/@?# ") {
		return "", false, configError("endpoint", "must be host:port or http(s)://host:port")
	}
	if e == "" {
		return "", false, configError("endpoint", "has no host")
	}
	if h, p, serr := net.SplitHostPort(e); serr == nil {
		if h == "" {
			return "", false, configError("endpoint", "%q has no host", e)
		}
		if p == "" {
			return "", false, configError("endpoint", "%q has an empty port", e)
		}
	}
	return e, secure, nil
}

// String describes the configuration without the secret key.
func (c Config) String() string {
	host, secure, err := c.endpoint()
	if err != nil {
		host = "(invalid)"
	}
	return fmt.Sprintf("s3.Config{endpoint: %s, ssl: %t, ca_file: %q, region: %q, access_key: %s, secret_key: %s, cache_dir: %q, cache_size: %d, parallel: %d, part_size: %d, timeout: %s, retries: %d}",
		host, secure, c.CAFile, c.Region, maskAccessKey(c.AccessKey), maskSecret(c.SecretKey), c.CacheDir, c.CacheSize, c.Parallel, c.PartSize, c.Timeout, c.Retries)
}

// GoString is String, so %#v does not print the secret either.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration without the secret key.
func (c Config) LogValue() slog.Value {
	host, secure, err := c.endpoint()
	if err != nil {
		host = "(invalid)"
	}
	return slog.GroupValue(
		slog.String("endpoint", host),
		slog.Bool("ssl", secure),
		slog.String("ca_file", c.CAFile),
		slog.String("region", c.Region),
		slog.String("access_key", maskAccessKey(c.AccessKey)),
		slog.String("secret_key", maskSecret(c.SecretKey)),
		slog.String("cache_dir", c.CacheDir),
		slog.Int64("cache_size", c.CacheSize),
		slog.Int("parallel", c.Parallel),
		slog.Int64("part_size", c.PartSize),
		slog.Duration("timeout", c.Timeout),
		slog.Int("retries", c.Retries),
	)
}

// maskAccessKey keeps the first four characters of an access key, enough
// to tell keys apart in a log.
func maskAccessKey(k string) string {
	if k == "" {
		return ""
	}
	r := []rune(k)
	if len(r) <= 4 {
		return "****"
	}
	return string(r[:4]) + "****"
}

func maskSecret(s string) string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

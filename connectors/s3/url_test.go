package s3_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/internal/pgerr"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, bucket, pattern, err string
	}{
		{url: "s3://bucket/prefix/**/*.parquet", bucket: "bucket", pattern: "prefix/**/*.parquet"},
		{url: "S3://my.bucket-1/a.csv", bucket: "my.bucket-1", pattern: "a.csv"},
		{url: "s3://bucket", bucket: "bucket", pattern: "**"},
		{url: "s3://bucket/", bucket: "bucket", pattern: "**"},
		{url: "s3://bucket/data/", bucket: "bucket", pattern: "data/**"},
		{url: "s3://bucket/year=2024/*/[a-c]?.parquet", bucket: "bucket", pattern: "year=2024/*/[a-c]?.parquet"},
		{url: "https://bucket/x", err: "must start with s3://"},
		{url: "/local/path", err: "must start with s3://"},
		{url: "s3://Bucket/x", err: "invalid bucket name"},
		{url: "s3://ab/x", err: "3 to 63"},
		{url: "s3:///x", err: "invalid bucket name"},
		{url: "s3://bucket/a//b", err: "empty path segment"},
		{url: "s3://bucket/[a-", err: "bad segment"},
		{url: "s3://AKIAXXX:topsecret@bucket/x", err: "must not contain credentials"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			b, p, err := s3.ParseURL(tc.url)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseURL(%q) = %q, %q, %v; want error containing %q", tc.url, b, p, err, tc.err)
				}
				if code := pgerr.Code(err); code != "22023" {
					t.Errorf("code %s, want 22023", code)
				}
				if strings.Contains(err.Error(), "topsecret") {
					t.Errorf("error quotes the secret: %v", err)
				}
				return
			}
			if err != nil || b != tc.bucket || p != tc.pattern {
				t.Fatalf("ParseURL(%q) = %q, %q, %v; want %q, %q", tc.url, b, p, err, tc.bucket, tc.pattern)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, key string
		want         bool
	}{
		{"a.parquet", "a.parquet", true},
		{"a.parquet", "b.parquet", false},
		{"*.parquet", "a.parquet", true},
		{"*.parquet", "dir/a.parquet", false}, // * stays in one segment
		{"dir/*.parquet", "dir/a.parquet", true},
		{"**/*.parquet", "a.parquet", true}, // ** matches zero segments
		{"**/*.parquet", "x/y/z/a.parquet", true},
		{"**/*.parquet", "x/y/z/a.csv", false},
		{"prefix/**/*.parquet", "prefix/a.parquet", true},
		{"prefix/**/*.parquet", "prefix/year=2024/month=01/a.parquet", true},
		{"prefix/**/*.parquet", "prefixed/a.parquet", false},
		{"prefix/**", "prefix/a", true},
		{"prefix/**", "prefix/a/b/c", true},
		{"prefix/**", "prefix", false},
		{"a/**/b/**/c", "a/b/c", true},
		{"a/**/b/**/c", "a/x/b/y/z/c", true},
		{"a/**/b/**/c", "a/x/y/c", false},
		{"a/**/**/c", "a/c", true},
		{"year=202?/*", "year=2024/f", true},
		{"year=202?/*", "year=20245/f", false},
		{"[a-c]*.csv", "b1.csv", true},
		{"[a-c]*.csv", "d1.csv", false},
		{"[^a-c]*.csv", "d1.csv", true}, // path.Match negates with ^
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"*", "", true},
		{"d/*", "d/", true},
	} {
		got, err := s3.Match(tc.pattern, tc.key)
		if err != nil || got != tc.want {
			t.Errorf("Match(%q, %q) = %v, %v; want %v", tc.pattern, tc.key, got, err, tc.want)
		}
	}
	if _, err := s3.Match("[a-", "a"); err == nil {
		t.Error("Match with a bad pattern: no error")
	}
}

func TestLiteralPrefix(t *testing.T) {
	for pattern, want := range map[string]string{
		"prefix/**/*.parquet":      "prefix/",
		"data/year=202*/x.parquet": "data/year=202",
		"a/b/c.csv":                "a/b/c.csv",
		"**":                       "",
		"x/[ab]/y":                 "x/",
		`x\*y`:                     "x",
		"a?b":                      "a",
	} {
		if got := s3.LiteralPrefix(pattern); got != want {
			t.Errorf("LiteralPrefix(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := s3.Config{Endpoint: "127.0.0.1:9000", CacheDir: "/tmp/c", AccessKey: "AKIAEXAMPLE", SecretKey: "s3cr3t-value"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*s3.Config)
		key  string
	}{
		{"no endpoint", func(c *s3.Config) { c.Endpoint = "" }, "object_storage.endpoint"},
		{"bad scheme", func(c *s3.Config) { c.Endpoint = "ftp://host:21" }, "object_storage.endpoint"},
		{"path", func(c *s3.Config) { c.Endpoint = "http://host:9000/bucket" }, "object_storage.endpoint"},
		{"creds in endpoint", func(c *s3.Config) { c.Endpoint = "http://user:s3cr3t-value@host:9000" }, "object_storage.endpoint"},
		{"http with ssl", func(c *s3.Config) { c.Endpoint = "http://host:9000"; c.UseSSL = true }, "object_storage.use_ssl"},
		{"secret only", func(c *s3.Config) { c.AccessKey = "" }, "object_storage.access_key"},
		{"access only", func(c *s3.Config) { c.SecretKey = "" }, "object_storage.secret_key"},
		{"no cache dir", func(c *s3.Config) { c.CacheDir = " " }, "object_storage.cache_dir"},
		{"cache size", func(c *s3.Config) { c.CacheSize = -1 }, "object_storage.cache_size"},
		{"parallel", func(c *s3.Config) { c.Parallel = -2 }, "object_storage.parallel"},
		{"part size", func(c *s3.Config) { c.PartSize = 1 << 20 }, "object_storage.part_size"},
		{"timeout", func(c *s3.Config) { c.Timeout = -time.Second }, "object_storage.timeout"},
		{"retries", func(c *s3.Config) { c.Retries = -1 }, "object_storage.retries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), `"`+tc.key+`"`) {
				t.Errorf("error %q does not name %s", err, tc.key)
			}
			if pgerr.Code(err) != "22023" {
				t.Errorf("code %s, want 22023", pgerr.Code(err))
			}
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Errorf("error quotes the secret: %v", err)
			}
		})
	}
	for _, e := range []string{"https://s3.amazonaws.com", "http://127.0.0.1:9000/", "minio:9000", "[::1]:9000"} {
		c := ok
		c.Endpoint = e
		if err := c.Validate(); err != nil {
			t.Errorf("endpoint %q: %v", e, err)
		}
	}
}

func TestConfigRedactsSecret(t *testing.T) {
	c := s3.Config{Endpoint: "https://s3.example.com", AccessKey: "AKIAEXAMPLE", SecretKey: "s3cr3t-value", CacheDir: "/c"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "object_storage", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "object_storage", c)
	for _, s := range []string{buf.String(), c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprint(&c)} {
		if strings.Contains(s, "s3cr3t-value") {
			t.Errorf("secret shown: %s", s)
		}
		if strings.Contains(s, "AKIAEXAMPLE") {
			t.Errorf("access key shown in full: %s", s)
		}
	}
	if !strings.Contains(buf.String(), "s3.example.com") || !strings.Contains(buf.String(), "[REDACTED]") {
		t.Errorf("log lacks the endpoint or the redaction marker: %s", buf.String())
	}
}

package httpsource

// Validating a source's URL and options into its settings.

import (
	"crypto/x509"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// settings are a source's validated options.
type settings struct {
	url      *url.URL
	display  string // the URL without user info nor query, for errors and logs
	format   string
	header   bool
	delim    rune
	headers  http.Header
	retries  int
	timeout  time.Duration
	maxBytes int64
	rootCAs  *x509.CertPool // ca_file's certificates; nil = the system's roots
	caFile   string
}

func parseConfig(cfg connectors.Config) (settings, error) {
	var st settings
	u, err := url.Parse(strings.TrimSpace(cfg.Location))
	if err != nil || cfg.Location == "" {
		return st, pgerr.InvalidParameter("invalid url for HTTP sources: it must be an absolute http or https URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return st, pgerr.InvalidParameter("invalid url for HTTP sources: scheme %q is not supported (use http or https)", u.Scheme)
	}
	if u.Host == "" {
		return st, pgerr.InvalidParameter("invalid url for HTTP sources: it names no host")
	}
	st.url = u
	st.display = strings.ToLower(u.Scheme) + "://" + u.Host + u.EscapedPath()

	opts, err := Options.Validate("HTTP", cfg.Options)
	if err != nil {
		return st, err
	}
	ext := strings.ToLower(path.Ext(u.Path))
	st.format = opts["format"]
	if st.format == "" {
		switch ext {
		case ".json", ".ndjson", ".jsonl":
			st.format = "json"
		case ".csv", ".tsv":
			st.format = "csv"
		case ".parquet":
			st.format = "parquet"
		default:
			return st, pgerr.InvalidParameter("cannot infer the format of %s from its extension; set option format = 'json' | 'csv' | 'parquet'", st.display)
		}
	}
	if st.format == "parquet" && !parquetSupported {
		return st, errParquet()
	}
	if st.format != "csv" {
		for _, k := range []string{"header", "delimiter"} {
			if _, ok := opts[k]; ok {
				return st, pgerr.InvalidParameter("option %q applies only to csv content", k)
			}
		}
	}
	st.header = opts["header"] != "false"
	st.delim = ','
	if ext == ".tsv" {
		st.delim = '\t'
	}
	if d, ok := opts["delimiter"]; ok {
		r := []rune(d)
		if len(r) != 1 || r[0] == '"' || r[0] == '\r' || r[0] == '\n' || r[0] == 0xFFFD {
			return st, pgerr.InvalidParameter(`invalid value for option "delimiter": must be one character other than a quote or a line break`)
		}
		st.delim = r[0]
	}
	st.retries = 3
	if v, ok := opts["retries"]; ok {
		n, _ := strconv.Atoi(v)
		if n < 0 || n > maxRetries {
			return st, pgerr.InvalidParameter(`invalid value for option "retries": %s is not between 0 and %d`, v, maxRetries)
		}
		st.retries = n
	}
	st.timeout = cfg.TimeoutOrDefault()
	if v, ok := opts["timeout"]; ok {
		if st.timeout, err = parseTimeout(v); err != nil {
			return st, err
		}
	}
	st.maxBytes = 4 << 30
	if v, ok := opts["max_bytes"]; ok {
		n, _ := strconv.ParseInt(v, 10, 64)
		if n <= 0 {
			return st, pgerr.InvalidParameter(`invalid value for option "max_bytes": must be positive`)
		}
		if st.format != "parquet" {
			return st, pgerr.InvalidParameter(`option "max_bytes" applies only to parquet content (json and csv are streamed)`)
		}
		st.maxBytes = n
	}
	st.headers = http.Header{}
	if v, ok := opts["headers"]; ok {
		if st.headers, err = parseHeaders(v); err != nil {
			return st, err
		}
	}
	if v, ok := opts["ca_file"]; ok {
		if !strings.EqualFold(u.Scheme, "https") {
			return st, pgerr.InvalidParameter(`option "ca_file" applies only to https URLs`)
		}
		if st.rootCAs, err = loadRoots(v); err != nil {
			return st, err
		}
		st.caFile = v
	}
	if tok, ok := opts["bearer_token"]; ok {
		switch {
		case st.headers.Get("Authorization") != "":
			return st, pgerr.InvalidParameter(`option "bearer_token" and an Authorization header in option "headers": give one`)
		case tok == "" || !validValue(tok):
			return st, pgerr.InvalidParameter(`invalid value for option "bearer_token": it is empty or holds control characters`)
		}
		st.headers.Set("Authorization", "Bearer "+tok)
	}
	return st, nil
}

// parseTimeout reads seconds ("30") or a Go duration ("1m30s").
func parseTimeout(v string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > int64(maxTimeout/time.Second) {
			n = int64(maxTimeout/time.Second) + 1
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, pgerr.InvalidParameter(`invalid value for option "timeout": %q is neither seconds nor a duration like '30s'`, v)
	}
	if d <= 0 || d > maxTimeout {
		return 0, pgerr.InvalidParameter(`invalid value for option "timeout": must be more than 0 and at most %v`, maxTimeout)
	}
	return d, nil
}

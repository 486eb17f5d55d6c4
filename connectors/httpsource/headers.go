package httpsource

// The headers option: parsed and checked (names, values, the headers the
// connector sets itself) without ever quoting a value, and its display.

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// DisplayHeaders is the headers option as a source's options show it: the
// header names, every value ********; text that is not a JSON object of
// strings is shown as ******** whole.
func DisplayHeaders(v string) string {
	dec := json.NewDecoder(strings.NewReader(v))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return connectors.Masked
	}
	var parts []string
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		var val string
		if err != nil || !ok || dec.Decode(&val) != nil {
			return connectors.Masked
		}
		key, _ := json.Marshal(name)
		parts = append(parts, string(key)+": "+`"`+connectors.Masked+`"`)
	}
	if _, err := dec.Token(); err != nil {
		return connectors.Masked
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// reserved are the headers the connector sets itself.
var reserved = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Te": true, "Upgrade": true, "Trailer": true, "Keep-Alive": true, "Accept-Encoding": true,
	"Range": true, "If-None-Match": true, "If-Modified-Since": true, "If-Match": true,
	"If-Unmodified-Since": true, "If-Range": true,
}

// parseHeaders reads the headers option, a JSON object of names to string
// values. Its errors name headers, never their values, which may be secrets.
func parseHeaders(v string) (http.Header, error) {
	bad := func(format string, args ...any) error {
		return pgerr.InvalidParameter(`invalid value for option "headers": `+format, args...)
	}
	dec := json.NewDecoder(strings.NewReader(v))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, bad(`must be a JSON object of header names to values, like '{"Authorization": "Bearer ..."}'`)
	}
	h := http.Header{}
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return nil, bad("must be a JSON object of header names to values")
		}
		var val string
		if err := dec.Decode(&val); err != nil {
			return nil, bad("the value of header %q must be a JSON string", name)
		}
		if !validName(name) {
			return nil, bad("%q is not a valid header name", name)
		}
		key := http.CanonicalHeaderKey(name)
		if reserved[key] {
			return nil, bad("header %q is set by the connector", key)
		}
		if _, dup := h[key]; dup {
			return nil, bad("header %q is given twice", key)
		}
		if !validValue(val) {
			return nil, bad("the value of header %q holds control characters", key)
		}
		h.Set(key, val)
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad("must be a JSON object of header names to values")
	}
	if _, err := dec.Token(); err == nil {
		return nil, bad("holds text after the JSON object")
	}
	return h, nil
}

// validName reports whether name is an RFC 9110 token.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validValue(v string) bool {
	for _, c := range []byte(v) {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

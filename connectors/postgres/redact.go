package postgres

// The passwords in a dsn: found to be cleaned from messages (RedactDSN,
// redactor) and masked where options are shown (DisplayDSN).

import (
	"net/url"
	"slices"
	"strings"

	"github.com/sluice-db/sluice/connectors"
)

// RedactDSN is dsn with every password in it replaced by xxxxx, as error
// messages show it.
func RedactDSN(dsn string) string {
	return secretsOf(dsn)[1:].clean(dsn)
}

// DisplayDSN is dsn as a source's options show it (sluice.sources, SHOW
// SOURCES): the passwords in it (the URL's user info, any parameter whose
// name holds "password") replaced by ********, the rest as written. A
// string it cannot read is shown as ******** whole: the display never
// guesses where a password ends.
func DisplayDSN(dsn string) string {
	if rest, ok := strings.CutPrefix(dsn, "postgres://"); ok {
		return "postgres://" + displayURL(rest)
	}
	if rest, ok := strings.CutPrefix(dsn, "postgresql://"); ok {
		return "postgresql://" + displayURL(rest)
	}
	out, ok := displayKeywords(dsn)
	if !ok {
		return connectors.Masked
	}
	return out
}

// displayURL masks the password of a URL's user info (everything between
// the first ':' and the last '@', as the most lenient reader would take
// it: an '@' in the query masks more, never less) and the values of its
// password parameters.
func displayURL(rest string) string {
	user := ""
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		user, rest = rest[:at+1], rest[at+1:]
		if name, _, ok := strings.Cut(user, ":"); ok {
			user = name + ":" + connectors.Masked + "@"
		}
	}
	head, query, hasQuery := strings.Cut(rest, "?")
	head = user + head
	if !hasQuery {
		return head
	}
	params := strings.Split(query, "&")
	for i, kv := range params {
		if k, _, ok := strings.Cut(kv, "="); ok && strings.Contains(strings.ToLower(k), "password") {
			params[i] = k + "=" + connectors.Masked
		}
	}
	return head + "?" + strings.Join(params, "&")
}

// displayKeywords masks the password values of a key=value connection
// string (libpq's: values bare or in single quotes with backslash
// escapes); ok is false when the string is not of that form.
func displayKeywords(dsn string) (string, bool) {
	var parts []string
	i := 0
	skip := func() {
		for i < len(dsn) && (dsn[i] == ' ' || dsn[i] == '\t' || dsn[i] == '\n' || dsn[i] == '\r') {
			i++
		}
	}
	for {
		skip()
		if i >= len(dsn) {
			return strings.Join(parts, " "), true
		}
		start := i
		for i < len(dsn) && dsn[i] != '=' && dsn[i] != ' ' && dsn[i] != '\t' {
			i++
		}
		key := dsn[start:i]
		skip()
		if key == "" || i >= len(dsn) || dsn[i] != '=' {
			return "", false
		}
		i++
		skip()
		vstart := i
		if i < len(dsn) && dsn[i] == '\'' {
			for i++; ; i++ {
				if i >= len(dsn) {
					return "", false // unterminated: where the value ends is anyone's guess
				}
				if dsn[i] == '\\' {
					i++
					continue
				}
				if dsn[i] == '\'' {
					i++
					break
				}
			}
		} else {
			for i < len(dsn) && dsn[i] != ' ' && dsn[i] != '\t' && dsn[i] != '\n' && dsn[i] != '\r' {
				i++
			}
		}
		value := dsn[vstart:i]
		if strings.Contains(strings.ToLower(key), "password") {
			value = connectors.Masked
		}
		parts = append(parts, key+"="+value)
	}
}

// redactor holds the secrets no message may show.
type redactor []string

// secretsOf finds the passwords in a connection string the way a lenient
// reader would, so that even a string pgx refuses cannot leak one. The
// first secret is the whole string.
func secretsOf(dsn string) redactor {
	r := redactor{dsn}
	if rest, ok := strings.CutPrefix(dsn, "postgres://"); ok || strings.HasPrefix(dsn, "postgresql://") {
		if !ok {
			rest = strings.TrimPrefix(dsn, "postgresql://")
		}
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				r = append(r, pw)
				if u, err := url.PathUnescape(pw); err == nil {
					r = append(r, u)
				}
			}
		}
		if _, q, ok := strings.Cut(rest, "?"); ok {
			for _, kv := range strings.Split(q, "&") {
				k, v, _ := strings.Cut(kv, "=")
				if strings.Contains(strings.ToLower(k), "password") {
					r = append(r, v)
					if u, err := url.QueryUnescape(v); err == nil {
						r = append(r, u)
					}
				}
			}
		}
		return r
	}
	for _, f := range strings.Fields(dsn) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.Contains(strings.ToLower(k), "password") && !strings.HasPrefix(v, "'") {
			r = append(r, v)
		}
	}
	// A quoted value may hold spaces: password='a b'.
	for i := 0; ; {
		j := strings.Index(dsn[i:], "password")
		if j < 0 {
			break
		}
		i += j + len("password")
		v := strings.TrimLeft(dsn[i:], " =")
		if strings.HasPrefix(v, "'") {
			if end := strings.IndexByte(v[1:], '\''); end >= 0 {
				r = append(r, v[1:1+end])
			}
		}
	}
	return r
}

// clean replaces every secret in msg, longest first (one may hold another).
func (r redactor) clean(msg string) string {
	r = slices.Clone(r)
	slices.SortFunc(r, func(a, b string) int { return len(b) - len(a) })
	for _, s := range r {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

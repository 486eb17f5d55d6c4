//go:build duckdb_arrow

package status_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-db/sluice/admin/status"
	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

// backend is the gateway as the page sees it (cmd/gateway has the same).
type backend struct{ g *gateway.Gateway }

func (b backend) QueryAs(ctx context.Context, role, query string) (*status.Result, error) {
	res, err := b.g.QueryAs(ctx, role, query)
	if err != nil {
		return nil, err
	}
	return &status.Result{Columns: res.Columns, Rows: res.Rows}, nil
}

func (b backend) Running() []status.Progress {
	var out []status.Progress
	for _, r := range b.g.Running() {
		out = append(out, status.Progress{RunID: r.RunID, Phase: r.Phase, Rows: r.Rows, Files: r.Files, Bytes: r.Bytes})
	}
	return out
}

// site is a status page over a real gateway (in-process, no listener:
// requests go straight to the handler, with the remote address a test
// chooses).
type site struct {
	t *testing.T
	h *status.Handler
	g *gateway.Gateway
}

func newSite(t *testing.T, method string, users map[string]string, requireTLS bool) *site {
	t.Helper()
	auth, err := wire.NewPasswordAuth(method, users)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.Open(t.Context(), gateway.Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Authenticator: auth})
	if err != nil {
		t.Fatal(err)
	}
	auth.UseRoles(g)
	h := status.New(status.Options{Backend: backend{g}, Auth: auth, RequireTLS: requireTLS})
	t.Cleanup(func() {
		h.Close()
		g.Close()
	})
	return &site{t: t, h: h, g: g}
}

func (s *site) sql(q string) {
	s.t.Helper()
	if _, err := s.g.QueryAs(s.t.Context(), "sluice", q); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
}

// client is a browser: cookies by name, from one remote address.
type client struct {
	s       *site
	remote  string
	cookies map[string]*http.Cookie
	origin  string
}

func (s *site) client(remote string) *client {
	return &client{s: s, remote: remote, cookies: map[string]*http.Cookie{}}
}

func (c *client) do(method, path string, form url.Values) (*http.Response, string) {
	c.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, "http://admin.test"+path, body)
	req.RemoteAddr = c.remote
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	c.s.h.ServeHTTP(w, req)
	resp := w.Result()
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, html string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no CSRF field in\n%s", html)
	}
	return m[1]
}

// login logs in and returns the session's CSRF token; want is the status
// of the POST (303 on success).
func (c *client) login(user, password string, want int) (string, string) {
	c.s.t.Helper()
	_, form := c.do("GET", "/login", nil)
	resp, body := c.do("POST", "/login", url.Values{"csrf": {csrfOf(c.s.t, form)}, "user": {user}, "password": {password}})
	if resp.StatusCode != want {
		c.s.t.Fatalf("login %s: %d, want %d\n%s", user, resp.StatusCode, want, body)
	}
	if want != http.StatusSeeOther {
		return "", body
	}
	_, page := c.do("GET", "/", nil)
	return csrfOf(c.s.t, page), page
}

// TestSessionsAndCSRF: the session cookie's attributes, the CSRF token on
// every POST (logout too), the Origin check, logout, and the answers
// without a session.
func TestSessionsAndCSRF(t *testing.T) {
	s := newSite(t, wire.AuthSCRAM, nil, false)
	s.sql("CREATE ROLE etl LOGIN PASSWORD 'etl pw'")
	s.sql("GRANT CREATE ON SCHEMA public TO etl")
	if _, err := s.g.QueryAs(t.Context(), "etl", "CREATE MATERIALIZED VIEW m AS SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}

	c := s.client("10.1.2.3:4000")
	if resp, _ := c.do("GET", "/", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("GET / without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := c.do("GET", "/running?fragment=1", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a fragment without a session: %d", resp.StatusCode)
	}
	// The login form itself needs its token.
	_, form := c.do("GET", "/login", nil)
	if lc := c.cookies["sluice_login"]; lc == nil || !lc.HttpOnly || lc.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login cookie %+v", lc)
	}
	if resp, _ := c.do("POST", "/login", url.Values{"csrf": {"forged"}, "user": {"etl"}, "password": {"etl pw"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login with a forged token: %d", resp.StatusCode)
	}
	_ = form

	csrf, page := c.login("etl", "etl pw", http.StatusSeeOther)
	sc := c.cookies["sluice_session"]
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Secure || sc.Path != "/" || len(sc.Value) < 43 {
		t.Fatalf("session cookie %+v", sc)
	}
	if !strings.Contains(page, `data-object="public.m"`) || !strings.Contains(page, `data-action="refresh"`) {
		t.Fatalf("the owner's page lacks its view or its buttons:\n%s", page)
	}
	if csrf == sc.Value {
		t.Fatal("the CSRF token is the session token")
	}

	runs := func() int {
		res, err := s.g.QueryAs(t.Context(), "sluice", "SELECT count(*) FROM sluice.runs WHERE object = 'm'")
		if err != nil {
			t.Fatal(err)
		}
		return int(parseInt(*res.Rows[0][0]))
	}
	before := runs()
	// The token with its last character changed (to one it is not).
	last := "A"
	if strings.HasSuffix(csrf, last) {
		last = "B"
	}
	for _, bad := range []url.Values{{}, {"csrf": {""}}, {"csrf": {csrf[:len(csrf)-1] + last}}, {"csrf": {sc.Value}}} {
		if resp, _ := c.do("POST", "/objects/public/m/refresh", bad); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("refresh with csrf %v: %d", bad, resp.StatusCode)
		}
	}
	c.origin = "http://evil.test"
	if resp, _ := c.do("POST", "/objects/public/m/refresh", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refresh from another origin: %d", resp.StatusCode)
	}
	c.origin = "http://admin.test"
	if runs() != before {
		t.Fatal("a refused POST refreshed")
	}
	resp, _ := c.do("POST", "/objects/public/m/refresh", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || runs() != before+1 {
		t.Fatalf("refresh: %d, runs %d -> %d", resp.StatusCode, before, runs())
	}
	if _, page := c.do("GET", resp.Header.Get("Location"), nil); !strings.Contains(page, "Refreshed public.m.") {
		t.Fatalf("no notice after the refresh:\n%s", page)
	}

	// Logout needs the token too, then the session is over.
	if resp, _ := c.do("POST", "/logout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without the token: %d", resp.StatusCode)
	}
	old := *sc
	if resp, _ := c.do("POST", "/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther || c.cookies["sluice_session"] != nil {
		t.Fatalf("logout: %d, cookie %v", resp.StatusCode, c.cookies["sluice_session"])
	}
	c.cookies["sluice_session"] = &old // a replayed cookie is dead
	if resp, _ := c.do("GET", "/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the old cookie still works: %d", resp.StatusCode)
	}
	if resp, _ := c.do("POST", "/objects/public/m/refresh", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST with the old cookie: %d", resp.StatusCode)
	}
}

func parseInt(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

// TestLoginRules: the wire's rules for a form. An unknown user and a wrong
// password get the same answer; NOLOGIN and a role without CONNECT are
// refused; failures are rate-limited per address; under trust a loopback
// client logs in by name only, a remote one never does; require_tls keeps
// passwords off plain HTTP from other hosts.
func TestLoginRules(t *testing.T) {
	s := newSite(t, wire.AuthSCRAM, nil, false)
	s.sql("CREATE ROLE app LOGIN PASSWORD 'app pw'")
	s.sql("CREATE ROLE idle NOLOGIN PASSWORD 'idle pw'")
	s.sql("CREATE ROLE shut LOGIN PASSWORD 'shut pw'")
	s.sql("REVOKE CONNECT ON DATABASE sluice FROM PUBLIC")
	s.sql("GRANT CONNECT ON DATABASE sluice TO app")

	c := s.client("10.0.0.1:1000")
	_, wrong := c.login("app", "nope", http.StatusUnauthorized)
	_, unknown := c.login("nobody", "nope", http.StatusUnauthorized)
	for _, body := range []string{wrong, unknown} {
		if !strings.Contains(body, "password authentication failed for user") || !strings.Contains(body, "28P01") {
			t.Fatalf("failure page:\n%s", body)
		}
	}
	msg := regexp.MustCompile(`id="login-error">[^<]*`)
	if strings.ReplaceAll(msg.FindString(wrong), "app", "X") != strings.ReplaceAll(msg.FindString(unknown), "nobody", "X") {
		t.Fatalf("an unknown user and a wrong password differ:\n%s\n%s", msg.FindString(wrong), msg.FindString(unknown))
	}
	c2 := s.client("10.0.0.2:1000")
	if _, body := c2.login("idle", "idle pw", http.StatusUnauthorized); !strings.Contains(body, "not permitted to log in") || !strings.Contains(body, "28000") {
		t.Fatalf("NOLOGIN:\n%s", body)
	}
	if _, body := c2.login("shut", "shut pw", http.StatusUnauthorized); !strings.Contains(body, "permission denied for database") || !strings.Contains(body, "42501") {
		t.Fatalf("without CONNECT:\n%s", body)
	}
	c3 := s.client("10.0.0.3:1000")
	if _, page := c3.login("app", "app pw", http.StatusSeeOther); !strings.Contains(page, `class="who"`) {
		t.Fatalf("app's page:\n%s", page)
	}

	// Rate limit: c has failed twice, c2 twice. Three more failures from
	// c's address empty its bucket; the right password is refused too.
	for range 3 {
		c.login("app", "nope", http.StatusUnauthorized)
	}
	_, body := c.login("app", "app pw", http.StatusTooManyRequests)
	if !strings.Contains(body, "Too many failed logins") {
		t.Fatalf("rate limit page:\n%s", body)
	}
	s.client("10.0.0.9:1000").login("app", "app pw", http.StatusSeeOther) // another address is not affected

	t.Run("trust", func(t *testing.T) {
		s := newSite(t, wire.AuthTrust, nil, false)
		s.sql("CREATE ROLE viewer LOGIN")
		s.client("127.0.0.1:5000").login("viewer", "", http.StatusSeeOther)
		s.client("[::1]:5000").login("sluice", "whatever", http.StatusSeeOther)
		if _, body := s.client("127.0.0.1:5000").login("ghost", "", http.StatusUnauthorized); !strings.Contains(body, "does not exist") {
			t.Fatalf("trust, unknown role:\n%s", body)
		}
		if _, body := s.client("10.0.0.1:5000").login("viewer", "", http.StatusUnauthorized); !strings.Contains(body, "loopback clients only") {
			t.Fatalf("trust from another host:\n%s", body)
		}
	})
	t.Run("require_tls", func(t *testing.T) {
		s := newSite(t, wire.AuthSCRAM, nil, true)
		s.sql("CREATE ROLE app LOGIN PASSWORD 'app pw'")
		if _, body := s.client("10.0.0.1:5000").login("app", "app pw", http.StatusForbidden); !strings.Contains(body, "requires TLS") {
			t.Fatalf("plain HTTP from another host:\n%s", body)
		}
		s.client("127.0.0.1:5000").login("app", "app pw", http.StatusSeeOther)
	})
}

// TestOddNames: names that need quoting in SQL, in a URL and in HTML are
// read, linked and acted on as themselves, and never interpreted.
func TestOddNames(t *testing.T) {
	s := newSite(t, wire.AuthTrust, nil, false)
	const name = `it's <b>"odd"</b>/x`
	s.sql(`CREATE MATERIALIZED VIEW "it's <b>""odd""</b>/x" AS SELECT 1 AS x`)
	c := s.client("127.0.0.1:5000")
	csrf, page := c.login("sluice", "", http.StatusSeeOther)
	if strings.Contains(page, "<b>") {
		t.Fatalf("a name reached the page as HTML:\n%s", page)
	}
	path := "/objects/public/" + url.PathEscape(name)
	if !strings.Contains(page, `href="`+strings.ReplaceAll(path, "'", "&#39;")+`"`) {
		t.Fatalf("no link to %s in\n%s", path, page)
	}
	resp, body := c.do("GET", path, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "public.it&#39;s &lt;b&gt;&#34;odd&#34;&lt;/b&gt;/x") {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	resp, _ = c.do("POST", path+"/refresh", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("refresh: %d", resp.StatusCode)
	}
	res, err := s.g.QueryAs(t.Context(), "sluice", `SELECT count(*) FROM sluice.runs WHERE object = 'it''s <b>"odd"</b>/x' AND trigger = 'manual'`)
	if err != nil || *res.Rows[0][0] != "1" {
		t.Fatalf("the refresh of the odd name: %v %v", res, err)
	}
	if resp, _ := c.do("GET", "/objects/public/"+url.PathEscape("x' OR '1'='1"), nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a quote in the path: %d", resp.StatusCode)
	}
}

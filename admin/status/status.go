// Package status is the gateway's web status page, served by the admin
// listener: the objects as a dependency graph with their state, the run
// history with a timeline per object, the refreshes running now with what
// they have written so far, and for those with the privilege the actions
// refresh, suspend and resume.
//
// Pages are rendered on the server (html/template, assets embedded); a few
// lines of JavaScript refresh the page's content every few seconds, and
// every page reads the same without them. Users log in with a form, as the
// roles they are over the wire (the password is checked by the same rules);
// every read and every action runs as that role through Backend.QueryAs,
// so a role sees and may do exactly what it may over the wire.
//
// The package knows the gateway only through Backend and Authenticator.
package status

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Backend is what the page needs of the gateway.
type Backend interface {
	// QueryAs runs query (the simple protocol) as role, with that role's
	// privileges and row filters, and returns the rows of its last
	// statement in PostgreSQL's text format. Errors carry a SQLSTATE
	// (*pgerr.Error). A role that does not exist, may not log in or lacks
	// CONNECT on the database is refused as it is over the wire.
	QueryAs(ctx context.Context, role, query string) (*Result, error)
	// Running is the progress of every run in flight, whoever may see it:
	// the page shows a run's progress only when the role reads its
	// running row in sluice.runs.
	Running() []Progress
}

// Result is a statement's rows as text; a nil value is SQL NULL.
type Result struct {
	Columns []string
	Rows    [][]*string
}

// Progress is what a run in flight has done so far.
type Progress struct {
	RunID int64
	Phase string // its last progress message
	// Rows written, -1 until the write is over; Files and Bytes so far.
	Rows, Files, Bytes int64
}

// Authenticator checks a password typed into the login form.
type Authenticator interface {
	// CheckPassword reports whether user may log in with password from
	// remote, by the rules of the wire protocol's authentication (under
	// trust, loopback clients need no password). The error carries a
	// SQLSTATE; an unknown user and a wrong password get the same one.
	CheckPassword(ctx context.Context, user, password string, remote net.Addr) error
}

// Options configure a Handler.
type Options struct {
	Backend Backend
	Auth    Authenticator
	Logger  *slog.Logger
	// RequireTLS refuses password logins over plain HTTP except from
	// loopback clients (the gateway's require_tls: passwords do not cross
	// the network in clear).
	RequireTLS bool
	// SessionIdle ends a session unused this long (0: 30 minutes);
	// SessionMax ends it this long after login (0: 12 hours).
	SessionIdle, SessionMax time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Bounds.
const (
	maxSessions     = 10000
	maxTrackedAddrs = 10000
	// Failed logins per remote address: a burst of loginBurst, then
	// loginPerMinute a minute.
	loginBurst     = 5
	loginPerMinute = 5
	maxFormBytes   = 16 << 10
	maxUserLen     = 256
	maxPasswordLen = 1024
	// An action that takes longer than actionWait goes on in the
	// background; the page says so and shows it under Running.
	actionWait   = 3 * time.Second
	runsShown    = 200
	objectRuns   = 50
	liveInterval = 4 // seconds between refreshes of a page's content
)

const (
	sessionCookie = "sluice_session"
	loginCookie   = "sluice_login" // the login form's CSRF token
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the status page.
type Handler struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	mux      *http.ServeMux
	sessions *sessionStore
	limiter  *limiter
	pages    map[string]*template.Template

	// Actions that outlast their request run on under bg until Close.
	bg     context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed bool
	mu     sync.Mutex
}

// New returns the status page's handler. Call Close when the server
// stops: it cancels the actions still running.
func New(opts Options) *Handler {
	h := &Handler{opts: opts, log: opts.Logger, now: opts.Now, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	idle, maxAge := opts.SessionIdle, opts.SessionMax
	if idle <= 0 {
		idle = 30 * time.Minute
	}
	if maxAge <= 0 {
		maxAge = 12 * time.Hour
	}
	h.sessions = newSessionStore(idle, maxAge, maxSessions, h.now)
	h.limiter = newLimiter(loginPerMinute, loginBurst, maxTrackedAddrs, h.now)
	h.bg, h.stop = context.WithCancel(context.Background())
	h.pages = parseTemplates()

	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	h.mux.HandleFunc("GET /login", h.loginPage)
	h.mux.HandleFunc("POST /login", h.login)
	h.mux.HandleFunc("POST /logout", h.authed(h.logout))
	h.mux.HandleFunc("GET /{$}", h.authed(h.overview))
	h.mux.HandleFunc("GET /objects/{schema}/{name}", h.authed(h.objectPage))
	h.mux.HandleFunc("POST /objects/{schema}/{name}/{action}", h.authed(h.action))
	h.mux.HandleFunc("GET /runs", h.authed(h.runsPage))
	h.mux.HandleFunc("GET /running", h.authed(h.runningPage))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// Only the forms above take a POST (and the admin
			// listener's own paths, which are GET only, end here too).
			w.Header().Set("Allow", "GET, HEAD")
			h.errorPage(w, r, nil, http.StatusMethodNotAllowed, "Method not allowed", r.Method+" is not allowed on "+r.URL.Path+".", "")
			return
		}
		h.errorPage(w, r, nil, http.StatusNotFound, "Not found", "There is no page at "+r.URL.Path+".", "")
	})
	return h
}

// Close cancels the actions still running in the background and waits
// for them to end.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.stop()
	h.wg.Wait()
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Only the page's own style sheet and script; no inline script or
	// style, no frames, forms post only here.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		hd.Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r)
}

// notice is a message at the top of a page.
type notice struct {
	Kind string // ok, info, error
	Text string
	Code string // SQLSTATE of an error
}

func errorNotice(err error) *notice {
	e := pgerr.As(err)
	return &notice{Kind: "error", Text: e.Message, Code: e.Code}
}

// page is what every template gets.
type page struct {
	Title   string
	Page    string // overview, object, runs, running, login, error
	User    string
	CSRF    string
	Flash   *notice
	LiveURL string // the URL of the content's fragment, "" for a static page
	Now     time.Time
	Data    any
}

// request is a logged-in request.
type request struct {
	*http.Request
	sess  *session
	token string
	rd    reader
}

// authed wraps a handler that needs a session. GET without one goes to
// the login form (a fragment answers 401, which stops the refreshing);
// POST without one, from another origin or without the session's CSRF
// token, is refused with 403.
func (h *Handler) authed(fn func(http.ResponseWriter, *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var token string
		if c, err := r.Cookie(sessionCookie); err == nil {
			token = c.Value
		}
		sess, ok := h.sessions.get(token)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if !ok {
				h.errorPage(w, r, nil, http.StatusForbidden, "Not logged in", "Log in first: this action needs a session.", "")
				return
			}
			if !sameOrigin(r) {
				h.errorPage(w, r, sess, http.StatusForbidden, "Refused", "The form was posted from another origin.", "")
				return
			}
			if err := r.ParseForm(); err != nil || !equalTokens(r.PostFormValue("csrf"), sess.csrf) {
				h.log.Warn("status page: POST without its CSRF token", "path", r.URL.Path, "user", sess.user, "remote", r.RemoteAddr)
				h.errorPage(w, r, sess, http.StatusForbidden, "Refused", "The form's CSRF token is missing or wrong: reload the page and try again.", "")
				return
			}
		} else if !ok {
			if isFragment(r) {
				http.Error(w, "session ended", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		fn(w, &request{Request: r, sess: sess, token: token, rd: reader{b: h.opts.Backend, role: sess.user}})
	}
}

// sameOrigin reports whether a POST's Origin (when the browser sends one)
// is this server.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // older browsers; the CSRF token still guards
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == scheme+"://"+r.Host
}

func isFragment(r *http.Request) bool { return r.URL.Query().Get("fragment") == "1" }

// liveURL is the fragment URL of r's page.
func liveURL(r *http.Request) string {
	q := r.URL.Query()
	q.Set("fragment", "1")
	return r.URL.Path + "?" + q.Encode()
}

// render writes a page, or with ?fragment=1 only its content.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t := h.pages[name]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	var err error
	if isFragment(r) {
		err = t.ExecuteTemplate(w, "main", p)
	} else {
		err = t.ExecuteTemplate(w, "base", p)
	}
	if err != nil {
		h.log.Error("status page: rendering", "page", name, "err", err)
	}
}

// show renders a logged-in page.
// live is the URL its content refreshes from ("": none).
func (h *Handler) show(w http.ResponseWriter, r *request, status int, name, title string, data any, live string) {
	p := page{Title: title, Page: name, User: r.sess.user, CSRF: r.sess.csrf, Now: h.now(), Data: data, LiveURL: live}
	if !isFragment(r.Request) {
		p.Flash = h.sessions.takeFlash(r.sess)
	}
	h.render(w, r.Request, status, name, p)
}

type errorData struct {
	Heading, Text, Code string
}

// errorPage renders an error; sess may be nil.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, sess *session, status int, heading, text, code string) {
	p := page{Title: heading, Page: "error", Now: h.now(), Data: errorData{heading, text, code}}
	if sess != nil {
		p.User, p.CSRF = sess.user, sess.csrf
	}
	h.render(w, r, status, "error", p)
}

// queryFailed renders the error of a query the page needed.
func (h *Handler) queryFailed(w http.ResponseWriter, r *request, err error) {
	e := pgerr.As(err)
	status := http.StatusInternalServerError
	switch {
	case e.Code == "42501":
		status = http.StatusForbidden
	case strings.HasPrefix(e.Code, "28"):
		status = http.StatusForbidden
	case e.Code == "57014" && r.Context().Err() != nil:
		return // the client went away
	}
	h.log.Warn("status page: query failed", "user", r.sess.user, "path", r.URL.Path, "sqlstate", e.Code, "err", e.Message)
	h.errorPage(w, r.Request, r.sess, status, "The page could not be read", e.Message, e.Code)
}

// remoteAddr is the client's address as the Authenticator sees it.
func remoteAddr(r *http.Request) (net.Addr, string) {
	host, port, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	p, _ := strconv.Atoi(port)
	return &net.TCPAddr{IP: net.ParseIP(host), Port: p}, host
}

func isLoopback(addr net.Addr) bool {
	a, ok := addr.(*net.TCPAddr)
	return ok && a.IP != nil && a.IP.IsLoopback()
}

// Login.

type loginData struct {
	User  string
	Token string // the form's CSRF token
	Error *notice
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, ok := h.sessions.get(c.Value); ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
	}
	h.showLogin(w, r, http.StatusOK, "", nil)
}

// showLogin renders the form with a new CSRF token in a cookie of its own
// (the double-submit pattern: there is no session yet).
func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, status int, user string, n *notice) {
	token, err := newToken()
	if err != nil {
		http.Error(w, "no randomness", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: token, Path: "/login", MaxAge: 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	h.render(w, r, status, "login", page{Title: "Log in", Page: "login", Now: h.now(), Data: loginData{User: user, Token: token, Error: n}})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.showLogin(w, r, http.StatusBadRequest, "", &notice{Kind: "error", Text: "The form could not be read."})
		return
	}
	user, password := r.PostFormValue("user"), r.PostFormValue("password")
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !equalTokens(r.PostFormValue("csrf"), c.Value) {
		h.showLogin(w, r, http.StatusForbidden, user, &notice{Kind: "error", Text: "The login form expired or came from elsewhere: try again."})
		return
	}
	remote, host := remoteAddr(r)
	if ok, wait := h.limiter.allow(host); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
		h.log.Warn("status page: login refused, too many failures", "remote", host)
		h.showLogin(w, r, http.StatusTooManyRequests, user, &notice{Kind: "error", Code: "53400",
			Text: "Too many failed logins from this address: try again in " + fmtDuration(wait) + "."})
		return
	}
	if user == "" || len(user) > maxUserLen || len(password) > maxPasswordLen {
		h.limiter.fail(host)
		h.showLogin(w, r, http.StatusUnauthorized, "", &notice{Kind: "error", Code: "28000", Text: "A user name is needed."})
		return
	}
	if h.opts.RequireTLS && r.TLS == nil && !isLoopback(remote) {
		h.showLogin(w, r, http.StatusForbidden, user, &notice{Kind: "error", Code: "28000",
			Text: "The gateway requires TLS: passwords are not accepted over plain HTTP from another host."})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	err = h.opts.Auth.CheckPassword(ctx, user, password, remote)
	if err == nil {
		// The session's own checks, as over the wire: the role exists,
		// may log in, and holds CONNECT on the database.
		_, err = h.opts.Backend.QueryAs(ctx, user, "SELECT 1")
	}
	if err != nil {
		h.limiter.fail(host)
		e := pgerr.As(err)
		reason := ""
		if e.Cause != nil {
			reason = e.Cause.Error()
		}
		h.log.Warn("status page: login failed", "user", user, "remote", host, "sqlstate", e.Code, "err", e.Message, "reason", reason)
		h.showLogin(w, r, http.StatusUnauthorized, user, &notice{Kind: "error", Text: e.Message, Code: e.Code})
		return
	}
	token, sess, err := h.sessions.create(user)
	if err != nil {
		http.Error(w, "no randomness", http.StatusInternalServerError)
		return
	}
	h.log.Info("status page: login", "user", sess.user, "remote", host)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", MaxAge: int(h.sessions.max.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *request) {
	h.sessions.delete(r.token)
	h.log.Info("status page: logout", "user", r.sess.user)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r.Request, "/login", http.StatusSeeOther)
}

// The pages.

type overviewData struct {
	Graph   *graph
	Objects []*object
	Sources []*object
	Running []*run
}

func (h *Handler) overview(w http.ResponseWriter, r *request) {
	ctx := r.Context()
	objs, err := r.rd.objects(ctx, "", "")
	if err != nil {
		h.queryFailed(w, r, err)
		return
	}
	srcs, err := r.rd.sources(ctx)
	if err != nil {
		h.queryFailed(w, r, err)
		return
	}
	deps, err := r.rd.dependencies(ctx)
	if err != nil {
		h.queryFailed(w, r, err)
		return
	}
	running, err := r.rd.running(ctx)
	if err != nil {
		h.queryFailed(w, r, err)
		return
	}
	h.show(w, r, http.StatusOK, "overview", "Objects", overviewData{
		Graph: dependencyGraph(srcs, objs, deps, running), Objects: objs, Sources: srcs, Running: running,
	}, liveURL(r.Request))
}

// dependencyGraph is the drawing of the objects the role sees and the
// relations they read.
func dependencyGraph(srcs, objs []*object, deps []dependency, running []*run) *graph {
	busy := map[ref]bool{}
	for _, r := range running {
		busy[r.Object] = true
	}
	var nodes []*graphNode
	have := map[string]bool{}
	add := func(o *object) {
		st := o.Status
		switch {
		case o.Kind == "source":
			st = "source"
		case o.Suspended:
			st = "suspended"
		}
		detail := o.Kind
		if o.Kind != "source" {
			detail += " · " + o.Status
			if o.Suspended {
				detail += " · suspended"
			}
		} else if o.Connector != "" {
			detail += " · " + strings.ToLower(o.Connector)
		}
		id := o.String()
		have[id] = true
		nodes = append(nodes, &graphNode{ID: id, Label: cut(o.Name, labelCh), Title: id, Kind: o.Kind, Status: st,
			Detail: detail, Href: o.Path(), Running: busy[o.ref]})
	}
	for _, o := range srcs {
		add(o)
	}
	for _, o := range objs {
		add(o)
	}
	var edges []graphEdge
	for _, d := range deps {
		from, to := d.On.String(), d.Object.String()
		for _, end := range []struct {
			id   string
			r    ref
			kind string
		}{{from, d.On, d.OnKind}, {to, d.Object, d.ObjectKind}} {
			if !have[end.id] {
				// A relation the role sees only as an input: a table, a
				// view, or an object it holds no privilege on.
				have[end.id] = true
				nodes = append(nodes, &graphNode{ID: end.id, Label: cut(end.r.Name, labelCh), Title: end.id, Kind: end.kind,
					Status: "other", Detail: end.kind})
			}
		}
		edges = append(edges, graphEdge{From: from, To: to})
	}
	return layoutGraph(nodes, edges)
}

type objectData struct {
	Object     *object
	Inputs     []dependency
	Dependents []dependency
	Partitions []partition
	Runs       []*run
	Timeline   *timeline
	Running    []*run
	Visible    map[string]bool // the objects the role may open
}

func (h *Handler) objectPage(w http.ResponseWriter, r *request) {
	h.renderObject(w, r, http.StatusOK, nil)
}

// renderObject renders an object's page, with n at the top if set.
func (h *Handler) renderObject(w http.ResponseWriter, r *request, status int, n *notice) {
	ctx := r.Context()
	target := ref{r.PathValue("schema"), r.PathValue("name")}
	o, err := h.findObject(ctx, r.rd, target)
	if err != nil {
		h.queryFailed(w, r, err)
		return
	}
	if o == nil {
		h.errorPage(w, r.Request, r.sess, http.StatusNotFound, "Not found",
			"There is no materialized view, pipeline or source "+target.String()+" that "+r.sess.user+" may see.", "42P01")
		return
	}
	d := objectData{Object: o, Visible: map[string]bool{}}
	deps, err := r.rd.dependencies(ctx)
	if err != nil {
		h.queryFailed(w, r, err)
		return
	}
	for _, dep := range deps {
		if dep.Object == target {
			d.Inputs = append(d.Inputs, dep)
		}
		if dep.On == target {
			d.Dependents = append(d.Dependents, dep)
		}
	}
	if err := h.visible(ctx, r.rd, d.Visible); err != nil {
		h.queryFailed(w, r, err)
		return
	}
	if o.Kind != "source" {
		if d.Partitions, err = r.rd.partitions(ctx, o); err != nil {
			h.queryFailed(w, r, err)
			return
		}
		if d.Runs, err = r.rd.runs(ctx, target.where("object"), objectRuns); err != nil {
			h.queryFailed(w, r, err)
			return
		}
		d.Timeline = buildTimeline(d.Runs, h.now())
		all, err := r.rd.running(ctx)
		if err != nil {
			h.queryFailed(w, r, err)
			return
		}
		for _, run := range all {
			if run.Object == target {
				d.Running = append(d.Running, run)
			}
		}
	}
	if n != nil {
		h.sessions.setFlash(r.sess, n)
	}
	h.show(w, r, status, "object", o.String(), d, o.Path()+"?fragment=1")
}

// findObject reads one object as the role; nil if it sees none by that
// name.
func (h *Handler) findObject(ctx context.Context, rd reader, target ref) (*object, error) {
	objs, err := rd.objects(ctx, target.where("name"), target.where("object"))
	if err != nil || len(objs) > 0 {
		if len(objs) > 0 {
			return objs[0], nil
		}
		return nil, err
	}
	srcs, err := rd.sources(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range srcs {
		if s.ref == target {
			return s, nil
		}
	}
	return nil, nil
}

// visible fills set with the objects and sources the role sees (their
// pages exist for it).
func (h *Handler) visible(ctx context.Context, rd reader, set map[string]bool) error {
	rows, err := rd.query(ctx, `SELECT schema, name FROM sluice.materialized_views UNION ALL SELECT schema, name FROM sluice.pipelines
		UNION ALL SELECT schema, name FROM sluice.sources`)
	if err != nil {
		return err
	}
	for _, r := range rows {
		set[ref{r.str(0), r.str(1)}.String()] = true
	}
	return nil
}

// action runs refresh, suspend or resume on an object as the role: the
// privilege checks are the SQL statement's. A refused statement (42501)
// answers 403 with the error.
func (h *Handler) action(w http.ResponseWriter, r *request) {
	target := ref{r.PathValue("schema"), r.PathValue("name")}
	act := r.PathValue("action")
	if act != "refresh" && act != "suspend" && act != "resume" {
		h.errorPage(w, r.Request, r.sess, http.StatusNotFound, "Not found", "There is no action "+act+".", "")
		return
	}
	o, err := h.findObject(r.Context(), r.rd, target)
	if err != nil {
		h.queryFailed(w, r, err)
		return
	}
	if o == nil || o.Kind == "source" {
		h.errorPage(w, r.Request, r.sess, http.StatusNotFound, "Not found",
			"There is no materialized view or pipeline "+target.String()+" that "+r.sess.user+" may see.", "42P01")
		return
	}
	kind := "MATERIALIZED VIEW"
	if o.Kind == "pipeline" {
		kind = "PIPELINE"
	}
	stmt := "REFRESH " + kind + " " + target.sql()
	if act != "refresh" {
		stmt = "ALTER " + kind + " " + target.sql() + " " + strings.ToUpper(act)
	}
	h.log.Info("status page: action", "user", r.sess.user, "object", target.String(), "action", act)
	done, err := h.runAction(r.sess.user, stmt)
	switch {
	case !done:
		h.sessions.setFlash(r.sess, &notice{Kind: "info", Text: "The refresh of " + target.String() + " goes on in the background: its progress is below."})
		http.Redirect(w, r.Request, "/running", http.StatusSeeOther)
	case err != nil && pgerr.Code(err) == "42501":
		// The object's page with the refusal, answering 403.
		h.renderObject(w, r, http.StatusForbidden, errorNotice(err))
	case err != nil:
		h.sessions.setFlash(r.sess, errorNotice(err))
		http.Redirect(w, r.Request, o.Path(), http.StatusSeeOther)
	default:
		text := map[string]string{"refresh": "Refreshed ", "suspend": "Suspended ", "resume": "Resumed "}[act] + target.String() + "."
		h.sessions.setFlash(r.sess, &notice{Kind: "ok", Text: text})
		http.Redirect(w, r.Request, o.Path(), http.StatusSeeOther)
	}
}

// runAction runs stmt as role in the background and waits for it up to
// actionWait; done is false when it is still running (it goes on until
// it ends or Close).
func (h *Handler) runAction(role, stmt string) (done bool, err error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return true, errors.New("the status page is shutting down")
	}
	h.wg.Add(1)
	h.mu.Unlock()
	result := make(chan error, 1)
	go func() {
		defer h.wg.Done()
		_, err := h.opts.Backend.QueryAs(h.bg, role, stmt)
		if err != nil {
			h.log.Info("status page: action failed", "user", role, "sqlstate", pgerr.Code(err), "err", err)
		}
		result <- err
	}()
	t := time.NewTimer(actionWait)
	defer t.Stop()
	select {
	case err := <-result:
		return true, err
	case <-t.C:
		return false, nil
	}
}

type runsData struct {
	Filter   *ref
	Runs     []*run
	Timeline *timeline
	Limit    int
}

func (h *Handler) runsPage(w http.ResponseWriter, r *request) {
	q := r.URL.Query()
	d := runsData{Limit: runsShown}
	filter := ""
	if name := q.Get("object"); name != "" {
		schema := q.Get("schema")
		if schema == "" {
			schema = "public"
		}
		d.Filter = &ref{schema, name}
		filter = d.Filter.where("object")
	}
	runs, err := r.rd.runs(r.Context(), filter, runsShown)
	if err != nil {
		h.queryFailed(w, r, err)
		return
	}
	d.Runs = runs
	d.Timeline = buildTimeline(runs, h.now())
	title := "Runs"
	if d.Filter != nil {
		title = "Runs of " + d.Filter.String()
	}
	h.show(w, r, http.StatusOK, "runs", title, d, liveURL(r.Request))
}

func (h *Handler) runningPage(w http.ResponseWriter, r *request) {
	running, err := r.rd.running(r.Context())
	if err != nil {
		h.queryFailed(w, r, err)
		return
	}
	h.show(w, r, http.StatusOK, "running", "Running", running, liveURL(r.Request))
}

// Templates.

func parseTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"time":     fmtTime,
		"ago":      ago,
		"duration": fmtDuration,
		"bytes":    fmtBytes,
		"count":    fmtCount,
		"optcount": func(n *int64) string {
			if n == nil {
				return "—"
			}
			return fmtCount(*n)
		},
		"optbytes": func(n *int64) string {
			if n == nil {
				return "—"
			}
			return fmtBytes(*n)
		},
		"elapsed":    func(r *run, now time.Time) string { return fmtDuration(r.Duration(now)) },
		"actionArgs": func(o *object, csrf string) actionArgs { return actionArgs{o, csrf} },
		"runsArgs": func(runs []*run, now time.Time, showObject bool) runsArgs {
			return runsArgs{runs, now, showObject}
		},
		"runningArgs": func(runs []*run, now time.Time) runsArgs { return runsArgs{Runs: runs, Now: now} },
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"overview", "object", "runs", "running", "login", "error"} {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS,
			"templates/base.html", "templates/parts.html", "templates/"+name+".html"))
	}
	return out
}

// Arguments of the shared templates (parts.html).
type actionArgs struct {
	Object *object
	CSRF   string
}

type runsArgs struct {
	Runs       []*run
	Now        time.Time
	ShowObject bool
}

func pathEscape(s string) string { return url.PathEscape(s) }

// fmtTime is a timestamp in UTC, "" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago is how long before now t was ("3m ago") or how long until it comes
// ("in 5m").
func ago(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + fmtDuration(-d)
	}
	return fmtDuration(d) + " ago"
}

// fmtDuration is d rounded to what matters: 850ms, 4.2s, 3m 10s, 5h 2m,
// 3d 4h.
func fmtDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDuration(-d)
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m " + strconv.Itoa(int(d.Seconds())%60) + "s"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h " + strconv.Itoa(int(d.Minutes())%60) + "m"
	}
	return strconv.Itoa(int(d.Hours())/24) + "d " + strconv.Itoa(int(d.Hours())%24) + "h"
}

// fmtBytes is n in binary units.
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}

// fmtCount is n with thousands separated.
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

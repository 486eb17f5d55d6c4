package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"html"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/internal/testing/testserver"
)

// statusShots, when set, is a directory the status page test copies its
// screenshots to (docs/images/status-page.png is one of them).
var statusShots = flag.String("status-screenshots", "", "copy the status page test's screenshots to this directory")

// chromiumPath returns the Chromium binary or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (scripts/test.sh installs Debian's chromium); skipping the browser test")
	return ""
}

// browser is a headless Chromium driven by chromedp, closed when the test
// ends.
type browser struct {
	t     *testing.T
	alloc context.Context
	shots string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		// Without these Chromium's own connections are refused here and
		// slow every page down.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	// The first context starts the browser; tabs are browser contexts of
	// it, each with cookies of its own.
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	// (Run on root itself: the browser lives as long as the context of
	// the first Run.)
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, alloc: root, shots: t.TempDir()}
}

// tab is one browser context (its own cookies) of b.
type tab struct {
	b    *browser
	ctx  context.Context
	base string
}

func (b *browser) tab(base string) *tab {
	ctx, cancel := chromedp.NewContext(b.alloc, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	// The tab opens with the first Run, and lives as long as its context.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.t.Fatalf("open a tab: %v", err)
	}
	return &tab{b: b, ctx: ctx, base: base}
}

// do runs actions with a bound.
func (tb *tab) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func evalJS[T any](t *testing.T, tb *tab, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (tb *tab) text(t *testing.T, css string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// click clicks the element css selects and waits for the page's notice
// to say want (the page it leads to may have had a notice already).
func (tb *tab) click(t *testing.T, css, want string) {
	t.Helper()
	tb.do(t, chromedp.Click(chromedp.CSS(css)))
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := evalJS[string](t, tb, `(document.querySelector('#flash') || {textContent: ''}).textContent`)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after clicking %s the notice says %q, want %q", css, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (tb *tab) location(t *testing.T) string {
	t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// login fills the form and waits for the next page (the overview on
// success, the form again on failure).
func (tb *tab) login(t *testing.T, user, password string) {
	t.Helper()
	tb.do(t,
		chromedp.Navigate(tb.base+"/login"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SetValue(chromedp.ID("user"), user),
		chromedp.SetValue(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.CSS("#graph, .nothing, #login-error")),
	)
}

// screenshot writes the page as name.png under the test's directory and
// checks it is a plausible PNG.
func (tb *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if b := img.Bounds(); len(buf) < 10<<10 || len(buf) > 8<<20 || b.Dx() < 1000 || b.Dy() < 300 {
		t.Fatalf("screenshot %s: %d bytes, %dx%d", name, len(buf), b.Dx(), b.Dy())
	}
	file := filepath.Join(tb.b.shots, name+".png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	if *statusShots != "" {
		if err := os.WriteFile(filepath.Join(*statusShots, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// graphOf reads the dependency graph's SVG: nodes as id|kind|status|link
// and edges as from>to.
func graphOf(t *testing.T, tb *tab) (nodes, edges []string) {
	t.Helper()
	nodes = evalJS[[]string](t, tb, `Array.from(document.querySelectorAll('#graph g.node')).map(g =>
		g.dataset.id + '|' + g.dataset.kind + '|' + g.dataset.status + '|' + (g.querySelector('a') ? 'link' : ''))`)
	edges = evalJS[[]string](t, tb, `Array.from(document.querySelectorAll('#graph path.edge')).map(p => p.dataset.from + '>' + p.dataset.to)`)
	slices.Sort(nodes)
	slices.Sort(edges)
	return nodes, edges
}

// TestStatusPage drives the status page of the real binary in headless
// Chromium as a superuser, an owner and a reader: the graph's nodes and
// edges, a failure with its SQLSTATE, the refresh, suspend and resume
// buttons, a long refresh's live progress, the reader without buttons and
// its forged POST refused, login failure and logout, screenshots, and a
// link checker over every page.
func TestStatusPage(t *testing.T) {
	b := newBrowser(t)
	const adminPassword = "admin s3cret"
	dir := t.TempDir()
	pw := exec.Command(gatewayBin, "password")
	pw.Stdin = strings.NewReader(adminPassword + "\n")
	out, err := pw.Output()
	if err != nil {
		t.Fatalf("gateway password: %v", err)
	}
	adminPort := testserver.FreePort(t)
	config := filepath.Join(dir, "sluice.yaml")
	connString := func(port int, user, password string) string {
		return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/sluice?sslmode=disable&connect_timeout=5", url.PathEscape(user), url.PathEscape(password), port)
	}
	p := testserver.Start(t, testserver.Options{
		Bin: gatewayBin,
		Dir: repoRoot,
		Args: func(port int) []string {
			text := fmt.Sprintf("listen: 127.0.0.1:%d\ndata_dir: %s\nauth: scram-sha-256\nusers:\n  - name: admin\n    password: %s\n",
				port, filepath.Join(dir, "data"), strings.TrimSpace(string(out)))
			if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"serve", "--config", config, "--admin-listen", fmt.Sprintf("127.0.0.1:%d", adminPort)}
		},
		Ready: pingReady(func(port int) string { return connString(port, "admin", adminPassword) }),
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	connect := func(user, password string) *pgx.Conn {
		t.Helper()
		c, err := pgx.Connect(t.Context(), connString(p.Port, user, password))
		if err != nil {
			t.Fatalf("connect as %s: %v", user, err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	admin := connect("admin", adminPassword)
	for _, q := range []string{
		`CREATE SOURCE trips FROM FILES 'testdata/trips/*.csv' WITH (format = 'csv', header = true)`,
		`CREATE MATERIALIZED VIEW daily_fares PARTITION BY (day) REFRESH EVERY '1 hour'
			AS SELECT CAST(pickup_at AS DATE) AS day, zone, count(*) AS trips, sum(fare) AS fares FROM trips GROUP BY ALL`,
		`CREATE MATERIALIZED VIEW zone_totals (CONSTRAINT positive EXPECT (fares > 0) ON VIOLATION WARN)
			AS SELECT zone, sum(fares) AS fares FROM daily_fares GROUP BY zone`,
		`CREATE PIPELINE trip_log AS SELECT * FROM trips`,
		`CREATE MATERIALIZED VIEW fragile (CONSTRAINT few EXPECT (n < 100)) AS SELECT count(*) AS n FROM trips WITH NO DATA`,
		// Long enough never to end: its 12 s timeout fails it (57014).
		`CREATE MATERIALIZED VIEW slow WITH (timeout = '12s')
			AS SELECT range AS v FROM range(4000000000) WHERE md5(range::VARCHAR) < '1' WITH NO DATA`,
		`CREATE ROLE etl LOGIN PASSWORD 'etl pw'`,
		`CREATE ROLE analyst LOGIN PASSWORD 'analyst pw'`,
		`GRANT CREATE ON SCHEMA public TO etl`,
		`GRANT SELECT ON trips TO etl`,
	} {
		mustExec(t, admin, q)
	}
	if _, err := admin.Exec(t.Context(), `REFRESH MATERIALIZED VIEW fragile`); err == nil || !strings.Contains(err.Error(), "23514") {
		t.Fatalf("fragile's refresh: %v, want 23514", err)
	}
	etl := connect("etl", "etl pw")
	mustExec(t, etl, `CREATE MATERIALIZED VIEW etl_zones AS SELECT zone, count(*) AS trips FROM trips GROUP BY zone`)
	mustExec(t, etl, `GRANT SELECT ON MATERIALIZED VIEW etl_zones TO analyst`)
	runCount := func(object, trigger string) int {
		t.Helper()
		rows := mustQueryText(t, admin, fmt.Sprintf(`SELECT count(*) FROM sluice.runs WHERE object = '%s' AND trigger = '%s'`, object, trigger))
		var n int
		fmt.Sscan(rows[0][0], &n)
		return n
	}

	t.Run("login failure", func(t *testing.T) {
		tb := b.tab(base)
		tb.login(t, "admin", "wrong")
		msg := tb.text(t, "#login-error")
		if !strings.Contains(msg, `password authentication failed for user "admin"`) || !strings.Contains(msg, "28P01") {
			t.Fatalf("login failure shows %q", msg)
		}
		tb.screenshot(t, "login-failed")
		tb.login(t, "nobody", "wrong")
		if other := tb.text(t, "#login-error"); strings.ReplaceAll(other, "nobody", "admin") != msg {
			t.Fatalf("an unknown user gets %q, a wrong password %q", other, msg)
		}
		tb.do(t, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login")))
		if loc := tb.location(t); !strings.HasSuffix(loc, "/login") {
			t.Fatalf("not logged in, / went to %s", loc)
		}
	})

	su := b.tab(base)
	t.Run("superuser", func(t *testing.T) {
		su.login(t, "admin", adminPassword)
		nodes, edges := graphOf(t, su)
		wantNodes := []string{
			"public.daily_fares|materialized view|fresh|link",
			"public.etl_zones|materialized view|fresh|link",
			"public.fragile|materialized view|failed|link",
			"public.slow|materialized view|empty|link",
			"public.trip_log|pipeline|active|link",
			"public.trips|source|source|link",
			"public.zone_totals|materialized view|fresh|link",
		}
		wantEdges := []string{
			"public.daily_fares>public.zone_totals",
			"public.trips>public.daily_fares",
			"public.trips>public.etl_zones",
			"public.trips>public.fragile",
			"public.trips>public.trip_log",
		}
		if !slices.Equal(nodes, wantNodes) || !slices.Equal(edges, wantEdges) {
			t.Fatalf("graph:\nnodes %q\nwant  %q\nedges %q\nwant  %q", nodes, wantNodes, edges, wantEdges)
		}
		// Every edge goes right, from a box to a box.
		if bad := evalJS[int](t, su, `(() => { let bad = 0; const box = id => document.querySelector('#graph g.node[data-id="' + id + '"] rect').getBoundingClientRect();
			document.querySelectorAll('#graph path.edge').forEach(p => { if (box(p.dataset.from).right > box(p.dataset.to).left) bad++; }); return bad; })()`); bad != 0 {
			t.Fatalf("%d edges do not point right", bad)
		}
		// The failure, with its SQLSTATE, in the table and on the view's page.
		if got := su.text(t, `tr[data-object="public.fragile"] .last-error`); !strings.Contains(got, "23514") || !strings.Contains(got, `violates constraint "few"`) {
			t.Fatalf("fragile's failure shows %q", got)
		}
		if got := su.text(t, `tr[data-object="public.zone_totals"] .quality`); !strings.Contains(got, "positive: 0") {
			t.Fatalf("zone_totals' quality shows %q", got)
		}
		su.screenshot(t, "status-page")
		su.do(t, chromedp.Click(chromedp.CSS(`tr[data-object="public.fragile"] a`)), chromedp.WaitVisible(chromedp.ID("last-failure")))
		if got := su.text(t, "#last-failure"); !strings.Contains(got, "SQLSTATE 23514") || !strings.Contains(got, "1 rows fail EXPECT (n < 100)") {
			t.Fatalf("fragile's page shows %q", got)
		}
		if got := su.text(t, "#quality"); !strings.Contains(got, "few") || !strings.Contains(got, "FAIL") {
			t.Fatalf("fragile's quality: %q", got)
		}
		su.screenshot(t, "object-failed")

		// Refresh now: the run is in sluice.runs.
		before := runCount("zone_totals", "manual")
		su.do(t, chromedp.Navigate(base+"/objects/public/zone_totals"))
		su.click(t, `button[data-action="refresh"][data-object="public.zone_totals"]`, "Refreshed public.zone_totals.")
		if after := runCount("zone_totals", "manual"); after != before+1 {
			t.Fatalf("manual runs of zone_totals: %d -> %d", before, after)
		}
		if n := evalJS[int](t, su, `document.querySelectorAll('#main table.runs tr[data-status="succeeded"]').length`); n != 2 {
			t.Fatalf("zone_totals' page lists %d succeeded runs, want 2", n)
		}
		// Suspend and resume.
		suspended := func() string {
			return mustQueryText(t, admin, `SELECT suspended FROM sluice.materialized_views WHERE name = 'daily_fares'`)[0][0]
		}
		su.do(t, chromedp.Navigate(base+"/"))
		su.click(t, `button[data-action="suspend"][data-object="public.daily_fares"]`, "Suspended public.daily_fares.")
		if got := suspended(); got != "t" {
			t.Fatalf("after suspend: suspended %s", got)
		}
		su.click(t, `button[data-action="resume"][data-object="public.daily_fares"]`, "Resumed public.daily_fares.")
		if got := suspended(); got != "f" {
			t.Fatalf("after resume: suspended %s", got)
		}
	})

	t.Run("live progress", func(t *testing.T) {
		// The refresh outlasts the page's wait: it goes on in the
		// background, and Running shows what it has written so far,
		// refreshed by the page's script, until its timeout fails it.
		su.do(t, chromedp.Navigate(base+"/objects/public/slow"))
		su.click(t, `button[data-action="refresh"][data-object="public.slow"]`,
			"The refresh of public.slow goes on in the background: its progress is below.")
		if loc := su.location(t); !strings.HasSuffix(loc, "/running") {
			t.Fatalf("a long refresh went to %s", loc)
		}
		row := `tr[data-object="public.slow"]`
		su.do(t, chromedp.WaitVisible(chromedp.CSS(row)))
		if got := su.text(t, row+" .phase"); got != "refreshing slow: writing a new version" {
			t.Fatalf("phase %q", got)
		}
		first := su.text(t, row+" .bytes")
		// The script reloads the table every 4 s: the bytes written grow.
		deadline := time.Now().Add(8 * time.Second)
		for {
			if got := su.text(t, row+" .bytes"); got != first {
				if files := su.text(t, row+" .files"); files != "1" {
					t.Fatalf("files so far %q, want 1", files)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the bytes written stayed at %q", first)
			}
			time.Sleep(250 * time.Millisecond)
		}
		if rows := su.text(t, row+" .rows"); rows != "writing" {
			t.Fatalf("rows so far %q", rows)
		}
		su.screenshot(t, "running")
		// The timeout ends it; the live table empties and the run is
		// failed with 57014.
		su.do(t, chromedp.WaitVisible(chromedp.ID("nothing-running")))
		su.do(t, chromedp.Navigate(base+"/runs?schema=public&object=slow"), chromedp.WaitVisible(chromedp.ID("timeline")))
		if got := su.text(t, `table.runs tr[data-status="failed"] .last-error`); !strings.Contains(got, "57014") || !strings.Contains(got, "timeout") {
			t.Fatalf("slow's run: %q", got)
		}
	})

	t.Run("runs page", func(t *testing.T) {
		// Every run in the table and the timeline (the scheduler may add
		// one meanwhile: then look again).
		var rows, bars int
		var objects, total []string
		for range 3 {
			before := mustQueryText(t, admin, `SELECT count(*), count(DISTINCT object) FROM sluice.runs`)[0]
			su.do(t, chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.ID("timeline")))
			rows = evalJS[int](t, su, `document.querySelectorAll('table.runs tbody tr').length`)
			bars = evalJS[int](t, su, `document.querySelectorAll('#timeline rect.bar').length`)
			objects = evalJS[[]string](t, su, `Array.from(document.querySelectorAll('#timeline g.tl-row')).map(g => g.dataset.object)`)
			if total = mustQueryText(t, admin, `SELECT count(*), count(DISTINCT object) FROM sluice.runs`)[0]; slices.Equal(before, total) {
				break
			}
		}
		if fmt.Sprint(rows) != total[0] || bars != rows || fmt.Sprint(len(objects)) != total[1] {
			t.Fatalf("runs page: %d rows, %d bars, %d timeline rows; sluice.runs has %s runs of %s objects", rows, bars, len(objects), total[0], total[1])
		}
		su.screenshot(t, "runs")
	})

	t.Run("owner", func(t *testing.T) {
		tb := b.tab(base)
		tb.login(t, "etl", "etl pw")
		nodes, edges := graphOf(t, tb)
		if want := []string{"public.etl_zones|materialized view|fresh|link", "public.trips|source|source|link"}; !slices.Equal(nodes, want) {
			t.Fatalf("etl's graph nodes %q, want %q", nodes, want)
		}
		if want := []string{"public.trips>public.etl_zones"}; !slices.Equal(edges, want) {
			t.Fatalf("etl's graph edges %q", edges)
		}
		before := runCount("etl_zones", "manual")
		tb.click(t, `button[data-action="refresh"][data-object="public.etl_zones"]`, "Refreshed public.etl_zones.")
		if after := runCount("etl_zones", "manual"); after != before+1 {
			t.Fatalf("etl's refresh: manual runs %d -> %d", before, after)
		}
		// Another's object is not there at all.
		tb.do(t, chromedp.Navigate(base+"/objects/public/fragile"), chromedp.WaitVisible(chromedp.ID("error")))
		if got := tb.text(t, "#error"); !strings.Contains(got, "42P01") {
			t.Fatalf("etl opening fragile: %q", got)
		}
	})

	t.Run("reader", func(t *testing.T) {
		tb := b.tab(base)
		tb.login(t, "analyst", "analyst pw")
		nodes, edges := graphOf(t, tb)
		// The source it reads through the view is drawn, without a link.
		if want := []string{"public.etl_zones|materialized view|fresh|link", "public.trips|source|other|"}; !slices.Equal(nodes, want) {
			t.Fatalf("analyst's graph nodes %q, want %q", nodes, want)
		}
		if want := []string{"public.trips>public.etl_zones"}; !slices.Equal(edges, want) {
			t.Fatalf("analyst's graph edges %q", edges)
		}
		if n := evalJS[int](t, tb, `document.querySelectorAll('button[data-action]').length`); n != 0 {
			t.Fatalf("the reader sees %d action buttons", n)
		}
		tb.screenshot(t, "reader")
		before := runCount("etl_zones", "manual")
		// A forged POST with the reader's own CSRF token: the privilege
		// check refuses it. Without the token: the CSRF check.
		forge := func(token string) string {
			return evalJS[string](t, tb, `fetch('/objects/public/etl_zones/refresh', {method: 'POST', credentials: 'same-origin',
				body: new URLSearchParams({csrf: `+token+`})}).then(r => r.text().then(t => r.status + ' ' + t))`, chromedp.EvalAwaitPromise)
		}
		evalPromise := forge(`document.querySelector('input[name=csrf]').value`)
		if !strings.HasPrefix(evalPromise, "403 ") || !strings.Contains(evalPromise, "42501") || !strings.Contains(evalPromise, "permission denied") {
			t.Fatalf("the reader's forged refresh: %.300s", evalPromise)
		}
		if got := forge(`'forged'`); !strings.HasPrefix(got, "403 ") || !strings.Contains(got, "CSRF") {
			t.Fatalf("a POST without the token: %.300s", got)
		}
		if after := runCount("etl_zones", "manual"); after != before {
			t.Fatalf("a refused POST refreshed: %d -> %d", before, after)
		}
		// Logout ends the session: / asks for a login again.
		tb.do(t, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("logout")), chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login")))
		tb.do(t, chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.ID("login")))
		if loc := tb.location(t); !strings.HasSuffix(loc, "/login") {
			t.Fatalf("after logout /runs went to %s", loc)
		}
	})

	t.Run("links", func(t *testing.T) {
		for _, u := range [][2]string{{"admin", adminPassword}, {"etl", "etl pw"}, {"analyst", "analyst pw"}} {
			n := checkLinks(t, base, u[0], u[1])
			t.Logf("%s: %d URLs answered 200", u[0], n)
		}
	})

	t.Run("status command", func(t *testing.T) {
		cmd := exec.Command(gatewayBin, "status", "-h", "127.0.0.1", "-p", fmt.Sprint(p.Port), "-U", "analyst")
		cmd.Env = append(os.Environ(), "PGPASSWORD=analyst pw")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("status as analyst: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[1], "public.etl_zones ") || lines[2] != "1 objects, 0 failed, 0 suspended" {
			t.Fatalf("status as analyst:\n%s", out)
		}
		cmd = exec.Command(gatewayBin, "status", "--url", connString(p.Port, "admin", adminPassword))
		out, err = cmd.CombinedOutput()
		if err != nil || !regexp.MustCompile(`(?m)^public\.fragile .* failed .* 23514 materialized view "fragile" violates constraint "few"`).Match(out) {
			t.Fatalf("status as admin: %v\n%s", err, out)
		}
		cmd = exec.Command(gatewayBin, "status", "-p", fmt.Sprint(p.Port), "-U", "analyst")
		cmd.Env = append(os.Environ(), "PGPASSWORD=wrong")
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "28P01") {
			t.Fatalf("status with a wrong password: %v\n%s", err, out)
		}
	})
}

var linkAttr = regexp.MustCompile(`(?:href|src|data-live)="([^"]*)"`)

// checkLinks logs in as user with a plain HTTP client, then crawls every
// page from / and follows every href, src and data-live on the admin
// listener: each must answer 200. It returns how many URLs it fetched.
func checkLinks(t *testing.T, base, user, password string) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	get := func(u string) (int, string) {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, form := get(base + "/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no login form:\n%s", form)
	}
	resp, err := c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "user": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/" {
		t.Fatalf("%s's login ended at %d %s", user, resp.StatusCode, resp.Request.URL)
	}
	root, _ := url.Parse(base + "/")
	seen := map[string]bool{root.String(): true}
	queue := []string{root.String()}
	for len(queue) > 0 && len(seen) < 500 {
		u := queue[0]
		queue = queue[1:]
		code, body := get(u)
		if code != http.StatusOK {
			t.Errorf("%s: GET %s answered %d", user, u, code)
			continue
		}
		if strings.Contains(u, "/static/") {
			continue
		}
		for _, m := range linkAttr.FindAllStringSubmatch(body, -1) {
			ref, err := url.Parse(html.UnescapeString(m[1]))
			if err != nil {
				t.Errorf("%s: bad link %q on %s", user, m[1], u)
				continue
			}
			if ref.Scheme == "" && ref.Host == "" && ref.Path == "" {
				continue // #fragment or url(#arrow)
			}
			base, _ := url.Parse(u)
			abs := base.ResolveReference(ref)
			abs.Fragment = ""
			if abs.Host != root.Host || abs.Scheme != root.Scheme {
				t.Errorf("%s: %s links outside the admin listener: %s", user, u, abs)
				continue
			}
			if !seen[abs.String()] {
				seen[abs.String()] = true
				queue = append(queue, abs.String())
			}
		}
	}
	if len(seen) < 5 {
		t.Fatalf("%s: only %d URLs found", user, len(seen))
	}
	return len(seen)
}

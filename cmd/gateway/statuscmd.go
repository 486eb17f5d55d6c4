package main

// `gateway status`: the objects, their state, staleness and last failure,
// read over the wire like any client (so it works against a remote gateway)
// from the system tables, as the connecting role sees them.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/pflag"
)

// statusSQL is what `gateway status` reads: every materialized view and
// pipeline the role sees, with its schedule's state and its latest failed
// run.
const statusSQL = `WITH o AS (
	SELECT 'materialized view' AS kind, schema, name, refresh, status, suspended FROM sluice.materialized_views
	UNION ALL
	SELECT 'pipeline', schema, name, refresh, status, suspended FROM sluice.pipelines),
f AS (SELECT schema, object, error, sqlstate, finished_at,
	row_number() OVER (PARTITION BY schema, object ORDER BY run_id DESC) AS n
	FROM sluice.runs WHERE status = 'failed')
SELECT o.kind, o.schema, o.name, o.refresh, o.status, o.suspended,
	epoch(s.staleness), epoch_ms(s.last_success), epoch_ms(s.next_run),
	f.sqlstate, f.error, epoch_ms(f.finished_at)
FROM o
LEFT JOIN sluice.schedules s ON s.schema = o.schema AND s.object = o.name
LEFT JOIN f ON f.schema = o.schema AND f.object = o.name AND f.n = 1
ORDER BY o.schema, o.name`

func statusCmd(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("status", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	connURL := fs.String("url", "", "connection URL or keyword/value string (postgres://user@host:port/sluice); PG* environment variables fill what it leaves out")
	host := fs.StringP("host", "h", "", "gateway host (default $PGHOST, else 127.0.0.1)")
	port := fs.StringP("port", "p", "", "gateway port (default $PGPORT, else 5433)")
	user := fs.StringP("user", "U", "", "role to connect as (default $PGUSER, else sluice)")
	dbname := fs.StringP("dbname", "d", "", "database (default $PGDATABASE, else sluice)")
	timeout := fs.Duration("timeout", 10*time.Second, "bound of the connection and the query")
	fs.Bool("help", false, "show this help")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gateway status [--url URL | -h HOST -p PORT -U USER -d DBNAME] [--timeout D]")
		fmt.Fprintln(stderr, "Prints the materialized views and pipelines the role sees: status, staleness, last failure.")
		fmt.Fprintln(stderr, "The password comes from the URL, $PGPASSWORD or ~/.pgpass; PGSSLMODE and the other PG* variables apply.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if h, _ := fs.GetBool("help"); h {
		fs.Usage()
		return exitOK
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gateway status: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if *connURL != "" && (*host != "" || *port != "" || *user != "" || *dbname != "") {
		fmt.Fprintln(stderr, "gateway status: give either --url or --host/--port/--user/--dbname")
		return exitUsage
	}
	cfg, err := statusConnConfig(*connURL, map[string]string{"host": *host, "port": *port, "user": *user, "dbname": *dbname}, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "gateway status: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "gateway status: cannot connect: %v\n", err)
		return exitFailed
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, statusSQL, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		fmt.Fprintf(stderr, "gateway status: %v\n", err)
		return exitFailed
	}
	var objs [][]*string
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]*string, len(raw))
		for i, b := range raw {
			if b != nil {
				s := string(b)
				row[i] = &s
			}
		}
		objs = append(objs, row)
	}
	if err := rows.Err(); err != nil {
		fmt.Fprintf(stderr, "gateway status: %v\n", err)
		return exitFailed
	}
	printStatus(stdout, objs, time.Now())
	return exitOK
}

// statusConnConfig is the connection of `gateway status`: the URL, or the
// flags given, then the PG* environment, then the gateway's defaults
// (127.0.0.1:5433, role and database sluice) where neither says.
func statusConnConfig(connURL string, flags map[string]string, getenv func(string) string) (*pgx.ConnConfig, error) {
	if connURL != "" {
		return pgx.ParseConfig(connURL)
	}
	defaults := map[string][2]string{
		"host":   {"PGHOST", "127.0.0.1"},
		"port":   {"PGPORT", "5433"},
		"user":   {"PGUSER", "sluice"},
		"dbname": {"PGDATABASE", "sluice"},
	}
	var kv []string
	for _, k := range []string{"host", "port", "user", "dbname"} {
		v := flags[k]
		if v == "" && getenv(defaults[k][0]) == "" {
			v = defaults[k][1]
		}
		if v != "" {
			kv = append(kv, k+"='"+strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v)+"'")
		}
	}
	return pgx.ParseConfig(strings.Join(kv, " "))
}

// printStatus writes the table and a summary line.
func printStatus(w io.Writer, objs [][]*string, now time.Time) {
	str := func(r []*string, i int) string {
		if r[i] == nil {
			return ""
		}
		return *r[i]
	}
	ms := func(r []*string, i int) (time.Time, bool) {
		n, err := strconv.ParseInt(str(r, i), 10, 64)
		return time.UnixMilli(n), err == nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECT\tKIND\tREFRESH\tSTATUS\tSTALENESS\tLAST SUCCESS\tNEXT RUN\tLAST FAILURE")
	failed, suspended := 0, 0
	for _, r := range objs {
		st := str(r, 4)
		if str(r, 5) == "t" || str(r, 5) == "true" {
			st += ", suspended"
			suspended++
		}
		if str(r, 4) == "failed" {
			failed++
		}
		stale := "-"
		if f, err := strconv.ParseFloat(str(r, 6), 64); err == nil {
			stale = time.Duration(f * float64(time.Second)).Round(time.Second).String()
		}
		last := "never"
		if t, ok := ms(r, 7); ok {
			last = relative(t, now)
		}
		next := "-"
		if t, ok := ms(r, 8); ok && !strings.Contains(st, "suspended") {
			next = relative(t, now)
		}
		failure := "-"
		if r[10] != nil {
			failure = strings.Join(strings.Fields(str(r, 10)), " ")
			if code := str(r, 9); code != "" {
				failure = code + " " + failure
			}
			if t, ok := ms(r, 11); ok {
				failure += " (" + relative(t, now) + ")"
			}
		}
		fmt.Fprintf(tw, "%s.%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", str(r, 1), str(r, 2), str(r, 0), str(r, 3), st, stale, last, next, failure)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d objects, %d failed, %d suspended\n", len(objs), failed, suspended)
}

// relative is t as "5m3s ago" or "in 12m".
func relative(t, now time.Time) string {
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		return "in " + (-d).String()
	}
	return d.String() + " ago"
}

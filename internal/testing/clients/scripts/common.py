"""Shared helpers for the client scenarios: each check prints one line,
"PASS name" or "FAIL name: message", which internal/testing/clients turns into a subtest."""
import csv
import glob
import os
import sys
import traceback

PORT = int(sys.argv[1])
ROOT = sys.argv[2]

# How to connect (internal/testing/clients sets these for the run over TLS with
# SCRAM): the user, its password (None: trust), the sslmode (None: the
# driver's default), and SCENARIO_CHECKS, the checks to run (all if unset).
USER = os.environ.get("SCENARIO_USER", "sluice")
PASSWORD = os.environ.get("SCENARIO_PASSWORD")
SSLMODE = os.environ.get("SCENARIO_SSLMODE")
ONLY = [c for c in os.environ.get("SCENARIO_CHECKS", "").split(",") if c]


def conn_params(password=None):
    """Keyword arguments for psycopg2 / psycopg 3 connect(): USER, and
    password (default PASSWORD) and sslmode where set."""
    kw = {"host": "127.0.0.1", "port": PORT, "user": USER, "dbname": "sluice", "connect_timeout": 10}
    password = PASSWORD if password is None else password
    if password is not None:
        kw["password"] = password
    if SSLMODE:
        kw["sslmode"] = SSLMODE
    return kw


def expect_bad_password(connect, sqlstate_of=lambda e: getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)):
    """Connects with a wrong password through connect(password) and checks
    that the server refused it with 28P01. libpq-based drivers do not keep
    the SQLSTATE of a failed connection, only the server's message; the
    check then reads the message."""
    try:
        conn = connect("wrong " + (PASSWORD or ""))
    except Exception as e:  # noqa: BLE001 - each driver raises its own class
        code = sqlstate_of(e)
        if code is not None:
            expect(code == "28P01", "SQLSTATE %r: %s" % (code, e))
        expect('password authentication failed for user "%s"' % USER in str(e), "message: %s" % e)
        return
    try:
        conn.close()
    except Exception:  # noqa: BLE001
        pass
    raise AssertionError("connected with a wrong password")
TRIPS_GLOB = os.path.join(ROOT, "testdata", "trips", "*.csv")

CREATE_SOURCE = (
    "CREATE SOURCE trips FROM FILES '%s' WITH (format = 'csv', header = true)"
    % TRIPS_GLOB
)
CREATE_VIEW = (
    "CREATE MATERIALIZED VIEW daily_fares PARTITION BY (day) AS "
    "SELECT CAST(pickup_at AS DATE) AS day, zone, count(*) AS trips, sum(fare) AS fares "
    "FROM trips GROUP BY ALL"
)
VIEW_COLUMNS = ["day", "zone", "trips", "fares"]
LONG_QUERY = "SELECT count(*) FROM range(10000000000)"


def _rows():
    out = []
    for name in sorted(glob.glob(TRIPS_GLOB)):
        with open(name, newline="") as f:
            out.extend(csv.DictReader(f))
    return out


ROWS = _rows()
TOTAL = len(ROWS)
HARBOR = sum(1 for r in ROWS if r["zone"] == "Harbor")


def check(name, fn):
    """Runs fn; prints PASS or FAIL with the exception on one line."""
    try:
        fn()
    except BaseException as e:  # noqa: BLE001 - report everything
        code = getattr(e, "pgcode", None) or getattr(e, "sqlstate", None)
        msg = "%s%s: %s" % (type(e).__name__, " [%s]" % code if code else "", e)
        print("FAIL %s: %s" % (name, " | ".join(msg.strip().splitlines())), flush=True)
        if os.environ.get("CLIENTS_TRACE"):
            traceback.print_exc()
        return False
    print("PASS %s" % name, flush=True)
    return True


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run_checks(first, rest):
    """Runs first (name, fn); when it passes, runs rest; otherwise reports
    every check of rest as blocked by it. With SCENARIO_CHECKS, only the
    checks it names run (first too, when any of rest does)."""
    if ONLY:
        rest = [c for c in rest if c[0] in ONLY]
        if not rest and first[0] not in ONLY:
            return
    if check(*first):
        for name, fn in rest:
            check(name, fn)
    else:
        for name, _ in rest:
            print("FAIL %s: blocked by %s" % (name, first[0]), flush=True)

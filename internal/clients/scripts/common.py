"""Shared helpers for the client scenarios: each check prints one line,
"PASS name" or "FAIL name: message", which internal/clients turns into a subtest."""
import csv
import glob
import os
import sys
import traceback

PORT = int(sys.argv[1])
ROOT = sys.argv[2]
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
    every check of rest as blocked by it."""
    if check(*first):
        for name, fn in rest:
            check(name, fn)
    else:
        for name, _ in rest:
            print("FAIL %s: blocked by %s" % (name, first[0]), flush=True)

"""psycopg2 scenario (Debian's python3-psycopg2): simple protocol, client-side parameters."""
import threading
import time

import psycopg2
import psycopg2.errors

from common import (CREATE_SOURCE, CREATE_VIEW, HARBOR, LONG_QUERY, PASSWORD, TOTAL,
                    VIEW_COLUMNS, check, conn_params, expect, expect_bad_password, run_checks)

conn = None


def connect():
    global conn
    conn = psycopg2.connect(**conn_params())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        expect(cur.fetchone() == (1,), "SELECT 1")


def q(sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def create_source():
    q(CREATE_SOURCE)
    expect(q("SELECT count(*) FROM trips") == [(TOTAL,)], "count(*) FROM trips")


def create_view():
    q(CREATE_VIEW)


def list_schemas():
    names = [r[0] for r in q("SELECT schema_name FROM information_schema.schemata")]
    expect("public" in names or "main" in names, "schemata: %r" % names)


def list_relations():
    names = {r[0] for r in q("SELECT table_name FROM information_schema.tables")}
    expect({"trips", "daily_fares"} <= names, "tables: %r" % sorted(names))


def describe_view():
    cols = [r[0] for r in q("SELECT column_name FROM information_schema.columns "
                            "WHERE table_name = %s ORDER BY ordinal_position", ("daily_fares",))]
    expect(cols == VIEW_COLUMNS, "columns: %r" % cols)


def param_query():
    got = q("SELECT count(*) FROM trips WHERE zone = %s", ("Harbor",))
    expect(got == [(HARBOR,)], "got %r want %d" % (got, HARBOR))


def read_view():
    rows = q("SELECT day, zone, trips, fares FROM daily_fares ORDER BY day, zone")
    expect(sum(r[2] for r in rows) == TOTAL, "sum(trips) = %d" % sum(r[2] for r in rows))


def error_sqlstate():
    try:
        q("SELECT * FROM no_such_table")
    except psycopg2.Error as e:
        expect(e.pgcode == "42P01", "pgcode %r: %s" % (e.pgcode, e))
    else:
        raise AssertionError("no error")
    expect(q("SELECT 1") == [(1,)], "connection unusable after the error")


def wrong_password():
    expect_bad_password(lambda pw: psycopg2.connect(**conn_params(pw)))


def cancel():
    t = threading.Timer(0.5, conn.cancel)
    t.start()
    start = time.monotonic()
    try:
        q(LONG_QUERY)
    except psycopg2.Error as e:
        expect(e.pgcode == "57014", "pgcode %r: %s" % (e.pgcode, e))
    else:
        raise AssertionError("long query was not cancelled")
    finally:
        t.cancel()
    expect(time.monotonic() - start < 20, "cancel took %.1fs" % (time.monotonic() - start))
    expect(q("SELECT 1") == [(1,)], "connection unusable after cancel")


run_checks(("connect", connect), [("create_source", create_source), ("create_view", create_view),
            ("list_schemas", list_schemas), ("list_relations", list_relations),
            ("describe_view", describe_view), ("param_query", param_query),
            ("read_view", read_view), ("error_sqlstate", error_sqlstate),
            ("cancel", cancel)] + ([("wrong_password", wrong_password)] if PASSWORD else []))

"""asyncpg scenario (Debian's python3-asyncpg): binary extended protocol, type introspection."""
import asyncio
import time

import asyncpg

from common import (CREATE_SOURCE, CREATE_VIEW, HARBOR, LONG_QUERY, PASSWORD, PORT, SSLMODE,
                    TOTAL, USER, VIEW_COLUMNS, check, expect, expect_bad_password, run_checks)

loop = asyncio.new_event_loop()
conn = None


def arun(coro):
    return loop.run_until_complete(coro)


def open_conn(password=None):
    kw = {"host": "127.0.0.1", "port": PORT, "user": USER, "database": "sluice", "timeout": 10}
    password = PASSWORD if password is None else password
    if password is not None:
        kw["password"] = password
    if SSLMODE:
        kw["ssl"] = SSLMODE  # asyncpg takes libpq's sslmode names
    return arun(asyncpg.connect(**kw))


def connect():
    global conn
    conn = open_conn()
    expect(arun(conn.fetchval("SELECT 1")) == 1, "SELECT 1")


def create_source():
    arun(conn.execute(CREATE_SOURCE))
    expect(arun(conn.fetchval("SELECT count(*) FROM trips")) == TOTAL, "count(*) FROM trips")


def create_view():
    arun(conn.execute(CREATE_VIEW))


def list_schemas():
    names = [r[0] for r in arun(conn.fetch("SELECT nspname FROM pg_catalog.pg_namespace"))]
    expect("public" in names or "main" in names, "pg_namespace: %r" % names)


def list_relations():
    names = {r[0] for r in arun(conn.fetch("SELECT table_name FROM information_schema.tables"))}
    expect({"trips", "daily_fares"} <= names, "tables: %r" % sorted(names))


def describe_view():
    cols = [r[0] for r in arun(conn.fetch("SELECT column_name FROM information_schema.columns "
                                          "WHERE table_name = $1 ORDER BY ordinal_position", "daily_fares"))]
    expect(cols == VIEW_COLUMNS, "columns: %r" % cols)


def param_query():
    got = arun(conn.fetchval("SELECT count(*) FROM trips WHERE zone = $1", "Harbor"))
    expect(got == HARBOR, "got %r want %d" % (got, HARBOR))


def read_view():
    rows = arun(conn.fetch("SELECT day, zone, trips, fares FROM daily_fares ORDER BY day, zone"))
    expect(sum(r["trips"] for r in rows) == TOTAL, "sum(trips) = %d" % sum(r["trips"] for r in rows))


def error_sqlstate():
    try:
        arun(conn.fetch("SELECT * FROM no_such_table"))
    except asyncpg.PostgresError as e:
        expect(e.sqlstate == "42P01", "sqlstate %r: %s" % (e.sqlstate, e))
    else:
        raise AssertionError("no error")
    expect(arun(conn.fetchval("SELECT 1")) == 1, "connection unusable after the error")


def wrong_password():
    def connect_closed(pw):
        c = open_conn(pw)
        arun(c.close())
    expect_bad_password(connect_closed)


def cancel():
    # asyncpg cancels the running query (CancelRequest) when the timeout
    # expires and raises TimeoutError; the server's 57014 is consumed by
    # asyncpg, so the check is that the connection is usable right after.
    start = time.monotonic()
    try:
        arun(conn.fetchval(LONG_QUERY, timeout=0.5))
    except asyncio.TimeoutError:
        pass
    else:
        raise AssertionError("long query was not cancelled")
    expect(arun(conn.fetchval("SELECT 1", timeout=20)) == 1, "connection unusable after cancel")
    expect(time.monotonic() - start < 20, "cancel took %.1fs" % (time.monotonic() - start))


run_checks(("connect", connect), [("create_source", create_source), ("create_view", create_view),
            ("list_schemas", list_schemas), ("list_relations", list_relations),
            ("describe_view", describe_view), ("param_query", param_query),
            ("read_view", read_view), ("error_sqlstate", error_sqlstate),
            ("cancel", cancel)] + ([("wrong_password", wrong_password)] if PASSWORD else []))

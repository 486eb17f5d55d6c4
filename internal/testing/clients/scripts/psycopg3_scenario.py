"""psycopg 3 scenario (Debian's python3-psycopg 3.1): extended protocol, server-side parameters."""
import threading
import time

import psycopg

from common import (CREATE_SOURCE, CREATE_VIEW, HARBOR, LONG_QUERY, PASSWORD, TOTAL,
                    VIEW_COLUMNS, check, conn_params, expect, expect_bad_password, run_checks)

conn = None


def connect():
    global conn
    conn = psycopg.connect(**conn_params(), autocommit=True)
    expect(conn.execute("SELECT 1").fetchone() == (1,), "SELECT 1")


def q(sql, params=None, prepare=None):
    cur = conn.execute(sql, params, prepare=prepare)
    return cur.fetchall() if cur.description else None


def create_source():
    q(CREATE_SOURCE)
    expect(q("SELECT count(*) FROM trips") == [(TOTAL,)], "count(*) FROM trips")


def create_view():
    q(CREATE_VIEW)


def list_schemas():
    names = [r[0] for r in q("SELECT nspname FROM pg_catalog.pg_namespace")]
    expect("public" in names or "main" in names, "pg_namespace: %r" % names)


def list_relations():
    names = {r[0] for r in q("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    expect({"trips", "daily_fares"} <= names, "tables: %r" % sorted(names))


def describe_view():
    cols = [r[0] for r in q("SELECT column_name FROM information_schema.columns "
                            "WHERE table_name = %s ORDER BY ordinal_position", ("daily_fares",))]
    expect(cols == VIEW_COLUMNS, "columns: %r" % cols)


def param_query():
    for _ in range(7):  # psycopg prepares server-side after 5 executions
        got = q("SELECT count(*) FROM trips WHERE zone = %s", ("Harbor",))
        expect(got == [(HARBOR,)], "got %r want %d" % (got, HARBOR))
    got = q("SELECT count(*) FROM trips WHERE zone = %s", ("Harbor",), prepare=True)
    expect(got == [(HARBOR,)], "prepared: got %r want %d" % (got, HARBOR))


def read_view():
    rows = q("SELECT day, zone, trips, fares FROM daily_fares ORDER BY day, zone")
    expect(sum(r[2] for r in rows) == TOTAL, "sum(trips) = %d" % sum(r[2] for r in rows))


def error_sqlstate():
    try:
        q("SELECT * FROM no_such_table")
    except psycopg.Error as e:
        expect(e.sqlstate == "42P01", "sqlstate %r: %s" % (e.sqlstate, e))
    else:
        raise AssertionError("no error")
    expect(q("SELECT 1") == [(1,)], "connection unusable after the error")


def copy_binary():
    # COPY ... FROM STDIN (FORMAT BINARY): psycopg sends each value in the
    # binary form of the type set_types names.
    import datetime
    import decimal
    import uuid
    q("CREATE TABLE copy_bin (id INTEGER, name TEXT, amount DECIMAL(10,2), ts TIMESTAMPTZ, u UUID, raw BLOB, ok BOOLEAN)")
    rows = [
        (1, "anvil", decimal.Decimal("19.99"), datetime.datetime(2024, 11, 14, 9, 30, tzinfo=datetime.timezone.utc),
         uuid.UUID("12345678-9abc-def0-0123-456789abcdef"), b"\x00\x01\xff", True),
        (2, None, None, None, None, None, None),
    ]
    with conn.cursor() as cur:
        with cur.copy("COPY copy_bin FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text", "numeric", "timestamptz", "uuid", "bytea", "bool"])
            for r in rows:
                copy.write_row(r)
    got = q("SELECT id, name, amount, ts, u, raw, ok FROM copy_bin ORDER BY id")
    expect(got == rows, "got %r" % (got,))


def copy_rows():
    # COPY ... TO STDOUT read row by row: psycopg's Copy.rows() and
    # read_row() parse one CopyData message as one row, as PostgreSQL sends.
    q("CREATE TABLE py_t AS SELECT i::INTEGER AS id, 'n' || i::TEXT AS name FROM range(1, 51) t(i)")
    query = "COPY (SELECT id, name FROM py_t ORDER BY id) TO STDOUT"
    want = [(i, "n%d" % i) for i in range(1, 51)]
    with conn.cursor() as cur:
        with cur.copy("COPY (SELECT id FROM py_t ORDER BY id) TO STDOUT") as copy:
            got = list(copy.rows())
        expect(got == [(str(i),) for i in range(1, 51)], "text rows(): %d rows: %r" % (len(got), got[:3]))
        with cur.copy(query) as copy:
            copy.set_types(["int4", "text"])
            got = list(copy.rows())
        expect(got == want, "typed text rows(): %d rows: %r" % (len(got), got[:3]))
        with cur.copy(query + " (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text"])
            got = []
            while (row := copy.read_row()) is not None:
                got.append(row)
        expect(got == want, "binary read_row(): %d rows: %r" % (len(got), got[:3]))
        with cur.copy(query + " (FORMAT CSV, HEADER)") as copy:
            blocks = [bytes(b) for b in copy]  # one CopyData message each
        expect(blocks == [b"id,name\n"] + [b"%d,n%d\n" % (i, i) for i in range(1, 51)],
               "csv blocks: %d: %r" % (len(blocks), blocks[:3]))
    expect(q("SELECT count(*) FROM py_t") == [(50,)], "connection unusable after COPY")


def wrong_password():
    expect_bad_password(lambda pw: psycopg.connect(**conn_params(pw)))


def cancel():
    t = threading.Timer(0.5, conn.cancel)
    t.start()
    start = time.monotonic()
    try:
        q(LONG_QUERY)
    except psycopg.Error as e:
        expect(e.sqlstate == "57014", "sqlstate %r: %s" % (e.sqlstate, e))
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
            ("cancel", cancel), ("copy_binary", copy_binary), ("copy_rows", copy_rows)]
           + ([("wrong_password", wrong_password)] if PASSWORD else []))

"""SQLAlchemy 1.4 (psycopg2 driver) inspector and pandas.read_sql scenario."""
import threading
import time

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc

from common import (CREATE_SOURCE, CREATE_VIEW, HARBOR, LONG_QUERY, ONLY, PASSWORD, PORT,
                    SSLMODE, TOTAL, USER, VIEW_COLUMNS, check, expect, expect_bad_password,
                    run_checks)


def make_engine(password=None):
    """The engine for USER (and PASSWORD, SSLMODE where set), as a URL."""
    password = PASSWORD if password is None else password
    url = sa.engine.URL.create("postgresql+psycopg2", username=USER, password=password,
                               host="127.0.0.1", port=PORT, database="sluice",
                               query={"sslmode": SSLMODE} if SSLMODE else {})
    return sa.create_engine(url, connect_args={"connect_timeout": 10})


engine = make_engine()
insp = None


def connect():
    with engine.connect() as c:
        expect(c.execute(sa.text("SELECT 1")).scalar() == 1, "SELECT 1")


def run(sql, **params):
    with engine.connect() as c:
        r = c.execute(sa.text(sql), params)
        rows = r.fetchall() if r.returns_rows else None
        c.commit() if hasattr(c, "commit") else None
        return rows


def create_source():
    run(CREATE_SOURCE)
    expect(run("SELECT count(*) FROM trips")[0][0] == TOTAL, "count(*) FROM trips")


def create_view():
    run(CREATE_VIEW)


def inspector():
    global insp
    insp = sa.inspect(engine)


def schema_names():
    names = insp.get_schema_names()
    expect("public" in names or "main" in names, "get_schema_names: %r" % names)


def table_names():
    # Sources are views (relkind 'v'), as psql's \\dv shows them; tables are
    # plain DuckDB tables.
    run("CREATE TABLE IF NOT EXISTS sa_zones AS SELECT 'Harbor' AS zone")
    names = insp.get_table_names()
    expect("sa_zones" in names, "get_table_names: %r" % names)
    views = insp.get_view_names()
    expect("trips" in views, "get_view_names: %r" % views)


def view_names():
    if hasattr(insp, "get_materialized_view_names"):
        names = insp.get_materialized_view_names()
    else:
        names = insp.get_view_names(include=("materialized",))
    expect("daily_fares" in names, "materialized view names: %r" % names)


def columns():
    cols = [c["name"] for c in insp.get_columns("daily_fares")]
    expect(cols == VIEW_COLUMNS, "get_columns: %r" % cols)


def param_query():
    got = run("SELECT count(*) FROM trips WHERE zone = :zone", zone="Harbor")[0][0]
    expect(got == HARBOR, "got %r want %d" % (got, HARBOR))


def pandas_read_sql():
    df = pd.read_sql(sa.text("SELECT day, zone, trips, fares FROM daily_fares WHERE trips >= :n ORDER BY day, zone"),
                     engine, params={"n": 0})
    expect(list(df.columns) == VIEW_COLUMNS, "columns %r" % list(df.columns))
    expect(int(df["trips"].sum()) == TOTAL, "sum(trips) %r" % df["trips"].sum())


def error_sqlstate():
    try:
        run("SELECT * FROM no_such_table")
    except exc.DBAPIError as e:
        expect(e.orig.pgcode == "42P01", "pgcode %r: %s" % (e.orig.pgcode, e))
    else:
        raise AssertionError("no error")


def cancel():
    with engine.connect() as c:
        raw = c.connection.dbapi_connection if hasattr(c.connection, "dbapi_connection") else c.connection.connection
        t = threading.Timer(0.5, raw.cancel)
        t.start()
        start = time.monotonic()
        try:
            c.execute(sa.text(LONG_QUERY))
        except exc.DBAPIError as e:
            expect(e.orig.pgcode == "57014", "pgcode %r: %s" % (e.orig.pgcode, e))
        else:
            raise AssertionError("long query was not cancelled")
        finally:
            t.cancel()
        expect(time.monotonic() - start < 20, "cancel took %.1fs" % (time.monotonic() - start))


def wrong_password():
    def connect_with(pw):
        c = make_engine(pw).connect()
        return c
    expect_bad_password(connect_with, lambda e: getattr(getattr(e, "orig", None), "pgcode", None))


if not check("connect", connect):
    # SQLAlchemy's first connect asks for pg_catalog.version() and SHOW
    # TRANSACTION ISOLATION LEVEL; when the gateway cannot answer them (the
    # connect check above reports it), pin both answers so that the remaining
    # checks still exercise the gateway (connect_session).
    # SHOW STANDARD_CONFORMING_STRINGS likewise.
    from sqlalchemy.engine.default import DefaultDialect
    d = engine.dialect
    d._get_server_version_info = lambda connection: (15, 0)
    d.get_isolation_level = lambda connection: "READ COMMITTED"

    def initialize(connection):
        DefaultDialect.initialize(d, connection)
        d.implicit_returning = True
        d._backslash_escapes = False
        d.supports_smallserial = True
        d._has_native_hstore = False
    d.initialize = initialize
run_checks(("connect_session", connect), [
    ("create_source", create_source), ("create_view", create_view),
    ("param_query", param_query), ("pandas_read_sql", pandas_read_sql),
    ("error_sqlstate", error_sqlstate), ("cancel", cancel)])
if PASSWORD and (not ONLY or "wrong_password" in ONLY):
    check("wrong_password", wrong_password)
run_checks(("inspector", inspector), [
    ("get_schema_names", schema_names), ("get_table_names", table_names),
    ("get_view_names_materialized", view_names), ("get_columns", columns)])

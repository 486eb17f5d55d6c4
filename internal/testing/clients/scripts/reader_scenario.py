"""A reader role through psycopg2 and SQLAlchemy: it lists only what it was
granted and reads it, and is refused (42501) what it was not. Run by
clients_test.go's TestReaderRole, which grants SCENARIO_VISIBLE (a
materialized view) and not SCENARIO_HIDDEN (a table) to SCENARIO_USER."""
import os

import psycopg2
import sqlalchemy
from sqlalchemy import text

from common import PORT, check, conn_params, expect

VISIBLE = os.environ["SCENARIO_VISIBLE"]
HIDDEN = os.environ["SCENARIO_HIDDEN"]


def psycopg2_lists():
    with psycopg2.connect(**conn_params()) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
        names = [r[0] for r in cur.fetchall()]
        expect(names == [VISIBLE], "information_schema.tables: %r" % names)
        cur.execute("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm') ORDER BY 1")
        names = [r[0] for r in cur.fetchall()]
        expect(names == [VISIBLE], "pg_class: %r" % names)


def psycopg2_reads():
    with psycopg2.connect(**conn_params()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM %s" % VISIBLE)
        expect(cur.fetchone()[0] > 0, "no rows")


def psycopg2_refused():
    conn = psycopg2.connect(**conn_params())
    try:
        with conn.cursor() as cur:
            try:
                cur.execute("SELECT * FROM %s" % HIDDEN)
            except psycopg2.Error as e:
                expect(e.pgcode == "42501", "SQLSTATE %r: %s" % (e.pgcode, e))
            else:
                raise AssertionError("read %s" % HIDDEN)
        conn.rollback()
        with conn.cursor() as cur:  # the session goes on
            cur.execute("SELECT 1")
            expect(cur.fetchone()[0] == 1, "session unusable")
    finally:
        conn.close()


def engine():
    return sqlalchemy.create_engine(
        "postgresql+psycopg2://", connect_args=conn_params(), pool_pre_ping=False)


def sqlalchemy_lists():
    insp = sqlalchemy.inspect(engine())
    tables = insp.get_table_names()
    views = insp.get_view_names(include=("materialized",))
    expect(tables == [], "get_table_names: %r" % tables)
    expect(views == [VISIBLE], "get_view_names: %r" % views)


def sqlalchemy_reads():
    with engine().connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM %s" % VISIBLE)).scalar()
        expect(n > 0, "no rows")
        try:
            conn.execute(text("SELECT * FROM %s" % HIDDEN))
        except sqlalchemy.exc.DBAPIError as e:
            expect(e.orig.pgcode == "42501", "SQLSTATE %r" % e.orig.pgcode)
        else:
            raise AssertionError("read %s" % HIDDEN)


check("psycopg2_lists", psycopg2_lists)
check("psycopg2_reads", psycopg2_reads)
check("psycopg2_refused", psycopg2_refused)
check("sqlalchemy_lists", sqlalchemy_lists)
check("sqlalchemy_reads", sqlalchemy_reads)

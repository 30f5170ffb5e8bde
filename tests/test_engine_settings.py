"""The settings every PostgreSQL connection of the app's engines starts with."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, insert, text

from testrota.db.engine import lookup, make_engine
from testrota.db.tables import SITE


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's own settings")
    return engine


def test_each_run_of_a_prepared_statement_is_planned_for_its_own_values(pg: Engine) -> None:
    """psycopg prepares a statement after a few runs; a plan made once for any parameters read
    a whole week's index entries for a few people's rows (13 ms against 0.05 ms at 300,000
    people), so every connection of the app's engines plans each run for its values."""
    with pg.connect() as conn:
        assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"


def test_no_statement_is_compiled_by_jit(pg: Engine) -> None:
    """A statement over a trigger's transition table or an import's staging table looks costly
    to the planner, and JIT compiled two of a results import's for 0.45 s. With the threshold at
    nothing, a statement that would be compiled is not."""
    with pg.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar_one() == "off"
        conn.execute(text("SET LOCAL jit_above_cost = 0"))
        plan = conn.execute(
            text("EXPLAIN (ANALYZE, FORMAT JSON) SELECT sum(g) FROM generate_series(1, 1000) g")
        ).scalar_one()
        assert "JIT" not in plan[0], plan[0]
        conn.rollback()


def _in_transaction(dbapi_conn: Any) -> bool:
    """Whether psycopg's connection has a transaction open on the server."""
    from psycopg.pq import TransactionStatus

    return bool(dbapi_conn.info.transaction_status != TransactionStatus.IDLE)


def test_a_lookup_reads_outside_a_transaction_and_leaves_the_pool_as_it_was(
    database_url: str, pg: Engine
) -> None:
    """A lookup (the sign-in behind every request) opens no transaction, so PostgreSQL is
    spared its BEGIN and ROLLBACK; the same pooled connection then serves a write whose
    rollback still undoes it (the pool restored the isolation level)."""
    one = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with lookup(one) as conn:
            assert conn.execute(text("SELECT count(*) FROM site")).scalar_one() == 0
            first = conn.connection.dbapi_connection
            assert not _in_transaction(first)
        with one.connect() as conn:
            assert conn.connection.dbapi_connection is first
            conn.execute(insert(SITE).values(code="S1", name="one"))
            assert _in_transaction(first)
            conn.rollback()
        with one.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM site")).scalar_one() == 0
    finally:
        one.dispose()


def test_core_reads_in_the_sessions_transaction_and_sees_what_it_has_not_flushed(
    engine: Engine,
) -> None:
    """``core(session)``: the session's own connection, so a Core read there sees what the
    session added but has not flushed yet (flushed first, as its autoflush would), and it
    rolls back with the session; a connection is handed back as it is."""
    from sqlmodel import Session

    from testrota.db.engine import core
    from testrota.db.models import Site

    count = text("SELECT count(*) FROM site")
    with Session(engine) as session:
        session.add(Site(code="S1", name="一号"))
        conn = core(session)
        assert conn.execute(count).scalar_one() == 1
        assert conn is session.connection() and core(conn) is conn
        with session.no_autoflush:
            session.add(Site(code="S2", name="二号"))
            assert core(session).execute(count).scalar_one() == 1  # as Session.execute would
        session.rollback()
    with engine.connect() as other:
        assert other.execute(count).scalar_one() == 0

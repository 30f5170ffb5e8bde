"""``ids_in`` and ``one_of`` admit exactly the ids given, on both databases, whatever their
number; on PostgreSQL the ids travel as one text in a parameter typed ``INTEGER[]``, so only
integers may."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, create_engine, select
from sqlalchemy.exc import StatementError

from testrota.db.id_filter import id_runs, ids_in, one_of

ROWS = Table("idfilter_probe", MetaData(), Column("id", Integer, primary_key=True))


@pytest.fixture
def probe(engine: Engine) -> Iterator[Engine]:
    ROWS.create(engine, checkfirst=True)
    with engine.begin() as conn:
        conn.execute(ROWS.delete())
        conn.execute(ROWS.insert(), [{"id": i} for i in range(1, 3001)])
    yield engine
    ROWS.drop(engine)


@pytest.mark.parametrize("wanted", [[], [7], [1, 2, 3000], list(range(2, 3001, 3)), [-1, 4, 5000]])
def test_ids_in_and_one_of_admit_exactly_the_ids_given(probe: Engine, wanted: list[int]) -> None:
    expected = sorted(i for i in set(wanted) if 1 <= i <= 3000)
    with probe.connect() as conn:
        found = sorted(
            i
            for clause in ids_in(conn, ROWS.c.id, wanted)
            for (i,) in conn.execute(select(ROWS.c.id).where(clause))
        )
        assert found == expected
        stmt = select(ROWS.c.id).where(one_of(ROWS.c.id, "ids", conn.dialect.name))
        built = sorted(
            i
            for part in id_runs(conn.dialect.name, set(wanted))
            for (i,) in conn.execute(stmt, {"ids": part})
        )
        assert built == expected


def test_a_value_that_is_not_an_integer_is_refused_before_it_reaches_the_database(
    probe: Engine,
) -> None:
    """On PostgreSQL the list becomes text; a crafted value must not become part of it."""
    sneaky = ["1}'; DROP TABLE idfilter_probe; --"]
    with probe.connect() as conn:
        stmt = select(ROWS.c.id).where(one_of(ROWS.c.id, "ids", conn.dialect.name))
        if conn.dialect.name == "postgresql":
            with pytest.raises(StatementError, match="invalid literal for int"):
                conn.execute(stmt, {"ids": sneaky})
        else:  # SQLite binds each value as its own parameter: no row matches it
            assert conn.execute(stmt, {"ids": sneaky}).all() == []
        assert conn.execute(select(ROWS.c.id).where(ROWS.c.id == 1)).all() == [(1,)]


def test_on_postgresql_the_parameter_itself_is_typed_as_an_integer_array() -> None:
    """``$1::INTEGER[]`` is parsed once a statement; ``CAST($1::VARCHAR AS INTEGER[])`` is a
    run-time cast that PostgreSQL evaluated again for every row its filter tested: a commit
    deleting people's weekly rows ran for minutes."""
    dialect = create_engine("postgresql+psycopg://").dialect  # not connected: compiles only
    stmt = select(ROWS.c.id).where(one_of(ROWS.c.id, "ids", "postgresql"))
    sql = str(stmt.compile(dialect=dialect))
    assert "= ANY (%(ids)s::INTEGER[])" in sql and "CAST" not in sql, sql

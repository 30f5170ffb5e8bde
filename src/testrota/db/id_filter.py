"""WHERE clauses for "one of these ids", fit for the dialect; no ORM, so lean readers use it."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import ColumnElement

CHUNK = 900  # bound parameters per IN list: well inside SQLite's and PostgreSQL's limits


def ids_in(bind: Any, column: Any, ids: Collection[int]) -> Iterator[ColumnElement[bool]]:
    """WHERE clauses that between them admit exactly ``ids`` (none for no ids), one query each.

    On PostgreSQL that is a single ``column = ANY(:ids)`` whatever the count: one parameter, so
    the statement's text is the same every time and is compiled, and prepared by the server,
    once. An IN list of hundreds of placeholders is rendered by SQLAlchemy, rewritten by
    psycopg and planned by the server again at every call, which took most of a 10,000-person
    department's missed list. Elsewhere (SQLite) IN lists of :data:`CHUNK`. ``bind``: an ORM
    session or a Core connection, whose dialect decides."""
    values = sorted(ids)
    if not values:
        return
    if dialect_of(bind) == "postgresql":
        from sqlalchemy import Integer, any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        yield column == any_(bindparam(None, values, type_=ARRAY(Integer)))
        return
    for i in range(0, len(values), CHUNK):
        yield column.in_(values[i : i + CHUNK])


def one_of(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the list bound as ``:name`` at each run, for a statement built
    once and run many times: ``= ANY(:name)`` on PostgreSQL (one text, prepared once, see
    :func:`ids_in`), an expanding IN list elsewhere (at most :data:`CHUNK` ids on SQLite)."""
    from sqlalchemy import Integer, any_, bindparam

    clause: ColumnElement[bool]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        clause = column == any_(bindparam(name, type_=ARRAY(Integer)))
    else:
        clause = column.in_(bindparam(name, expanding=True))
    return clause


def id_runs(dialect: str, ids: Collection[int]) -> Iterator[list[int]]:
    """``ids`` as the lists to bind to :func:`one_of`'s parameter, one run each: all of them
    at once on PostgreSQL, :data:`CHUNK` at a time elsewhere."""
    values = sorted(ids)
    size = len(values) if dialect == "postgresql" else CHUNK
    for i in range(0, len(values), max(size, 1)):
        yield values[i : i + size]


def dialect_of(bind: Any) -> str:
    """The dialect's name of an ORM session or a Core connection."""
    engine = bind.get_bind() if hasattr(bind, "get_bind") else bind
    return str(engine.dialect.name)

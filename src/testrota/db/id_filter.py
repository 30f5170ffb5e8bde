"""WHERE clauses for "one of these ids", fit for the dialect; no ORM, so lean readers use it."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.types import UserDefinedType

CHUNK = 900  # bound parameters per IN list: well inside SQLite's and PostgreSQL's limits


class _IdArray(UserDefinedType[Collection[int]]):
    """Ids bound as one text, ``'{1,2,3}'``, typed ``INTEGER[]`` where it is bound.

    psycopg dumps a list element by element, about 0.5 µs an id: 24 ms of the process's CPU
    for 50,000 ids (a plan's commit binds several such lists, a 10,000-person department's
    missed list several of 10,000), where joining their digits takes 5 ms. The parameter
    itself is declared ``INTEGER[]`` (``$1::INTEGER[]``), so the server parses it once per
    statement; ``CAST`` of a text parameter would be evaluated again for every row a filter
    tests. Each value goes through ``int()``, so nothing but digits and signs reaches the text.
    """

    cache_ok = True
    render_bind_cast = True

    def get_col_spec(self, **kw: Any) -> str:
        return "INTEGER[]"

    def bind_processor(self, dialect: Any) -> Callable[[Any], str | None]:
        def process(value: Collection[int] | None) -> str | None:
            if value is None:
                return None
            return "{" + ",".join(map(str, map(int, value))) + "}"

        return process


def _any_id(column: Any, param: Any) -> ColumnElement[bool]:
    return column == any_(param)  # type: ignore[no-any-return]


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
        yield _any_id(column, bindparam(None, values, type_=_IdArray()))
        return
    for i in range(0, len(values), CHUNK):
        yield column.in_(values[i : i + CHUNK])


def one_of(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the list bound as ``:name`` at each run, for a statement built
    once and run many times: ``= ANY(:name)`` on PostgreSQL (one text, prepared once, see
    :func:`ids_in`), an expanding IN list elsewhere (at most :data:`CHUNK` ids on SQLite)."""
    clause: ColumnElement[bool]
    if dialect == "postgresql":
        clause = _any_id(column, bindparam(name, type_=_IdArray()))
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

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
    engine = bind.get_bind() if hasattr(bind, "get_bind") else bind
    if engine.dialect.name == "postgresql":
        from sqlalchemy import Integer, any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        yield column == any_(bindparam(None, values, type_=ARRAY(Integer)))
        return
    for i in range(0, len(values), CHUNK):
        yield column.in_(values[i : i + CHUNK])

"""Bulk writes and reads that go straight to the driver.

SQLAlchemy converts every parameter of every row through its type processors; for 100,000 rows
of a 30-column table that costs more than SQLite's own insert. Here each column's processor is
looked up once, constants (``created_at`` of an import) are converted once, and the rows go to
the driver's ``executemany`` as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert


def bulk_insert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows`` (all with the same keys), each also given ``constants``."""
    if not rows:
        return
    constants = dict(constants or {})
    keys = [*rows[0].keys(), *constants]
    dialect = conn.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    processors = {
        key: proc
        for key in keys
        if (proc := table.c[key].type._cached_bind_processor(dialect)) is not None
    }
    fixed = {k: (processors[k](v) if k in processors else v) for k, v in constants.items()}
    varying = [k for k in rows[0] if k in processors]
    params: list[Any]
    if compiled.positional:
        order = list(compiled.positiontup or [])
        params = []
        for row in rows:
            merged = {**row, **fixed}
            for key in varying:
                merged[key] = processors[key](merged[key])
            params.append(tuple(merged[name] for name in order))
    else:
        params = []
        for row in rows:
            merged = {**row, **fixed}
            for key in varying:
                merged[key] = processors[key](merged[key])
            params.append(merged)
    conn.exec_driver_sql(str(compiled), params)


def fetch_raw(conn: Connection, table: Table, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """All rows of ``columns``, as the driver returns them (SQLite booleans are 0/1)."""
    names = ", ".join(f'"{c}"' for c in columns)
    return list(conn.exec_driver_sql(f'SELECT {names} FROM "{table.name}"').fetchall())

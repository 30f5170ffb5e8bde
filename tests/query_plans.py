"""The database's own plan of a statement, for tests that hold a reader to its index."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection


def query_plan(conn: Connection, query: Any) -> str:
    """``query``'s plan as one line: PostgreSQL's ``EXPLAIN``, SQLite's ``EXPLAIN QUERY PLAN``."""
    compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN" if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    return " ".join(str(r) for r in conn.exec_driver_sql(f"{explain} {compiled}"))

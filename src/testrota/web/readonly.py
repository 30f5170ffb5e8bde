"""A read-only engine for the pages' own queries.

The shared engine begins every SQLite transaction with ``BEGIN IMMEDIATE`` (the write lock), as
services that read and then write need. A page that only reads does not: in WAL mode readers
never wait for the writer, so the request's own session (the signed-in user, lists, the person
page) uses this engine, which leaves SQLite's default deferred transactions alone and sets
``query_only`` so nothing can be written through it by mistake. On PostgreSQL the shared engine
serves both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

from testrota.db.engine import SQLITE_BUSY_TIMEOUT_MS


def make_read_engine(engine: Engine) -> Engine:
    if engine.dialect.name != "sqlite":
        return engine
    url = engine.url.render_as_string(hide_password=False)
    reader = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(reader, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA query_only=ON")
        cur.close()

    return reader

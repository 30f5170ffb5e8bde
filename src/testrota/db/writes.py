"""Whether a transaction wrote anything: the roll-ups' commit hook skips one that only read.

Most commits on a busy morning write nothing (a status lookup flags nothing due, a page reads
a session); each of them ran the hooks' half a dozen look-ups at the marks tables all the same.
A mark can only come from a write, and a write is either a statement that is not a plain
``SELECT`` (seen here, on its way to the driver) or a ``COPY`` (``db.bulk`` says so itself).
Marks left by a writer without the hook are counted at the next commit that writes, and until
then readers count their keys from raw rows, as they always did.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event

_KEY = "testrota.wrote"
_READS = {"SELECT", "BEGIN", "BEGIN "}  # SQLite's BEGIN IMMEDIATE starts a transaction, no more


def watch(engine: Engine) -> None:
    """Note every writing statement on ``engine``'s connections (once per engine)."""
    if not event.contains(engine, "before_cursor_execute", _note):
        event.listen(engine, "before_cursor_execute", _note)
        event.listen(engine, "rollback", _forget)


def note_write(conn: Connection) -> None:
    conn.info[_KEY] = True


def took_writes(conn: Connection) -> bool:
    """Whether this transaction wrote; the note is cleared for the next one."""
    return bool(conn.info.pop(_KEY, False))


def _note(
    conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool
) -> None:
    if statement.lstrip()[:6].upper() not in _READS:
        conn.info[_KEY] = True


def _forget(conn: Connection) -> None:
    conn.info.pop(_KEY, None)

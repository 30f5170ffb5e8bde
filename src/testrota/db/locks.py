"""Transaction-scoped advisory locks on PostgreSQL, taken in the order given."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import Connection, TextClause, text

# One statement takes many locks: PostgreSQL allows 1,664 entries in a select list.
LOCKS_A_STATEMENT = 1_000


def take_locks(conn: Connection, wanted: Sequence[tuple[int, bool]]) -> None:
    """Take each ``(key, shared)`` lock, in order: a select list is evaluated left to right,
    so one statement takes them in the same order as one statement a lock did, for one round
    trip instead of one a lock (a check-in took four)."""
    for i in range(0, len(wanted), LOCKS_A_STATEMENT):
        part = wanted[i : i + LOCKS_A_STATEMENT]
        query = _statement(tuple(shared for _, shared in part))
        conn.execute(query, {f"k{n}": key for n, (key, _) in enumerate(part)})


@lru_cache(maxsize=256)
def _statement(shared: tuple[bool, ...]) -> TextClause:
    calls = (
        f"pg_advisory_xact_lock{'_shared' if s else ''}(CAST(:k{n} AS bigint))"
        for n, s in enumerate(shared)
    )
    return text("SELECT " + ", ".join(calls))

"""Transaction-scoped advisory locks on PostgreSQL: the roll-ups' keys, taken in the order
given, the people's writers' and the schema upgrades'. (The plans' is
``testrota.scheduling.service.PLAN_LOCK``.)"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


# Writers of the people and their unit tree (a roster import, whoever places people in
# units, role mappings and overrides, erasure) hold it alone; the planners share it, as readers
# who must not book from a roster an import is changing. Each reads what is stored, works out
# what to write from that, and writes it; two writers at once (two clerks, a second click on
# Apply, a report building the tree during an import) each wrote from a picture the other was
# changing, and the later one failed on a duplicate key with nothing to tell its user.
PEOPLE_LOCK = 4_004_005
SCHEMA_LOCK = 4_004_006  # schema upgrades (testrota/db/migrations/env.py)
# Writers of results from a sheet or by hand: a second lab sheet (or the same one applied
# twice) at once failed on a sample's key.
RESULTS_LOCK = 4_004_007


def hold(conn: Connection, key: int, waiting: Callable[[], None] | None = None) -> None:
    """Hold off every other holder of ``key`` until ``conn``'s transaction ends, after waiting
    for the one at work to commit; ``waiting`` is told first when there is one.

    PostgreSQL only: SQLite's writers already queue, each transaction beginning with the
    write lock. Take it before the first read of what the lock guards, so that read sees what
    the holder before committed (each statement of a read-committed transaction reads afresh)."""
    if conn.dialect.name != "postgresql":
        return
    if waiting is not None:
        got = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key})
        if got.scalar_one():
            return
        waiting()
    take_locks(conn, [(key, False)])

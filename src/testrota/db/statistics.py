"""Planner statistics brought up to date by the writer that made them stale.

A bulk write (a roster, a week's plan, an evening's reminders, a lab's results) changes a
table in seconds. PostgreSQL's autovacuum looks at a table once a minute at best, and analyses
it only after a tenth of its rows changed (or never, where it is turned off); until then every
statement is planned on what the table held before. At 300,000 people that is the difference
between a dispatcher's claim of 50 texts read by index in 9 ms and one that reads and sorts the
evening's 11,000 due reminders in 0.76 s, over and over until they are all sent.

So the use case that wrote many rows analyses the table itself, once its transaction has
committed: outside it, the ``ANALYZE`` holds no lock another writer waits on (it would keep the
table's share-update lock to the commit, and a second bulk writer analysing the same table
would wait there), and a failure costs fresher statistics, never the write.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

# Rows one write must change before its table is analysed: a sample of PostgreSQL's default
# statistics target (30,000 rows) costs 0.1-0.3 s, small beside a write of this size.
BULK_ROWS = 10_000


def refresh_statistics(engine: Engine, table: str, rows: int) -> bool:
    """``ANALYZE`` ``table`` after a committed write of ``rows`` rows, if that is a bulk write
    on PostgreSQL (SQLite plans without statistics unless asked for them). Returns whether it
    did."""
    if rows < BULK_ROWS or engine.dialect.name != "postgresql":
        return False
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'ANALYZE "{table}"')
            conn.commit()
    except Exception:  # the write has committed; stale statistics only cost time
        log.warning("could not analyse %s after a write of %d rows", table, rows, exc_info=True)
        return False
    return True


@contextmanager
def planner_settings(conn: Connection, settings: Mapping[str, str]) -> Iterator[None]:
    """PostgreSQL's planner ``settings`` for the statements inside, this transaction's own,
    put back afterwards (nothing elsewhere). For a statement over rows this very transaction
    wrote, which the statistics cannot know yet."""
    if conn.dialect.name != "postgresql":
        yield
        return
    before = {
        name: conn.execute(text("SELECT current_setting(:n)"), {"n": name}).scalar_one()
        for name in settings
    }
    for name, value in settings.items():
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    yield
    # Not on an error: the settings are the transaction's, undone by its rollback, and a
    # statement in an aborted transaction would fail and hide the error itself.
    for name, value in before.items():
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})

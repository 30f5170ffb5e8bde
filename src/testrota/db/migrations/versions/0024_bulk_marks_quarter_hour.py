"""PostgreSQL marks a bulk statement by unit and quarter hour, not by unit and exact time

Revision ID: 0024_bulk_marks_quarter_hour
Revises: 0023_testresult_key_index

Why: a statement of more than ``FEW`` rows is marked by (unit, time) (0013_marks), and the
roll-ups read a mark's time only to find its local day and week. A lab's sheet has a time per
sample: at a group, 300,000 samples left 236,000 marks, each written by the insert's trigger
and deleted and read back by the commit (2.1-3.9 s for that delete alone, 0.9-1.4 s now).
Every day and week boundary of every zone in use today falls on a quarter hour of UTC (their
offsets are whole quarter hours, ``tests/test_rollup.py`` checks the zone database), so a time
and the start of its quarter hour are on the same local day in any zone: the bulk marks now
name that start, and a unit's samples of a quarter hour are one mark (the sheet's 236,000
became 36,000). A statement of few rows still marks each row's person and exact time.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_bulk_marks_quarter_hour"
down_revision: str | None = "0023_testresult_key_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEW = 100  # rows of one statement marked by person (0013_marks)
INSERT = "INSERT INTO rollupdirty (unit_id, person_id, at, whole_person) "
# table -> its rows' time column and the joins that reach their person ({r}: the rows)
SOURCES = {
    "appointment": ("r.starts_at", "FROM {r} r JOIN person p ON p.id = r.person_id"),
    "testresult": ("r.sampled_at", "FROM {r} r JOIN person p ON p.id = r.person_id"),
    "tubemember": (
        "t.sampled_at",
        "FROM {r} r JOIN testresult t ON t.id = r.result_id JOIN person p ON p.id = t.person_id",
    ),
}
PERSON_OF = {"appointment": "r.person_id", "testresult": "r.person_id", "tubemember": "t.person_id"}


def _quarter(at: str) -> str:
    """The start of ``at``'s quarter hour, counted in UTC (the session's zone plays no part)."""
    return f"to_timestamp(floor(extract(epoch FROM {at}) / 900) * 900)"


def _marks(table: str, rows: str, *, bulk: bool, quarter: bool) -> str:
    at, source = SOURCES[table]
    person = "NULL::integer" if bulk else PERSON_OF[table]
    when = _quarter(at) if bulk and quarter else at
    return (
        f"{INSERT}SELECT DISTINCT p.unit_id, {person}, {when}, false "
        f"{source.format(r=rows)} WHERE p.unit_id IS NOT NULL"
    )


def _function(table: str, *, quarter: bool) -> str:
    def mark(rows: str) -> str:
        return (
            f"IF EXISTS (SELECT 1 FROM {rows} OFFSET {FEW}) THEN "
            f"{_marks(table, rows, bulk=True, quarter=quarter)}; "
            f"ELSE {_marks(table, rows, bulk=False, quarter=quarter)}; END IF;"
        )

    return (
        f"CREATE OR REPLACE FUNCTION rollup_mark_{table}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  IF TG_OP = 'INSERT' THEN {mark('new_rows')}\n"
        f"  ELSE {mark('old_rows')}\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's row triggers mark each row's person and time
    for table in SOURCES:
        op.execute(_function(table, quarter=True))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in SOURCES:
        op.execute(_function(table, quarter=False))

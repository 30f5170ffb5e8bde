"""PostgreSQL marks a statement that inserts or deletes a few rows (a check-in, a scan, an
excuse) by person, as SQLite always did; only a bulk statement is marked by unit and time

Revision ID: 0013_marks
Revises: 0012_claims

Why: 0009's statement triggers marked every insert and delete by (unit, time), dropping the
person, so that a plan's 600,000 appointments leave a few thousand marks. The daily roll-up
counts by unit anyway, but the weekly roll-up (0010) counts people: a mark without a person
made it recount the week of everyone in the unit. One check-in in a unit of 750 people
recounted 750 people's weeks and took their 750 locks, so check-ins of one unit queued behind
each other for seconds. A statement of at most ``FEW`` rows now marks each row's person (and
its unit and time, which is all the daily roll-up reads); a larger one marks as before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_marks"
down_revision: str | None = "0012_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEW = 100  # rows of one statement marked by person
INSERT = "INSERT INTO rollupdirty (unit_id, person_id, at, whole_person) "
# table -> the marks of the rows {r}, with {person} the person's id or NULL
SOURCES = {
    "appointment": (
        "SELECT DISTINCT p.unit_id, {person}, r.starts_at, false FROM {r} r "
        "JOIN person p ON p.id = r.person_id WHERE p.unit_id IS NOT NULL"
    ),
    "testresult": (
        "SELECT DISTINCT p.unit_id, {person}, r.sampled_at, false FROM {r} r "
        "JOIN person p ON p.id = r.person_id WHERE p.unit_id IS NOT NULL"
    ),
    "tubemember": (
        "SELECT DISTINCT p.unit_id, {person}, t.sampled_at, false FROM {r} r "
        "JOIN testresult t ON t.id = r.result_id JOIN person p ON p.id = t.person_id "
        "WHERE p.unit_id IS NOT NULL"
    ),
}
PERSON_OF = {"appointment": "r.person_id", "testresult": "r.person_id", "tubemember": "t.person_id"}


def _marks(table: str, rows: str, by_person: bool) -> str:
    person = PERSON_OF[table] if by_person else "NULL::integer"
    return INSERT + SOURCES[table].format(r=rows, person=person)


def _function(table: str, few: int | None) -> str:
    def mark(rows: str) -> str:
        if few is None:
            return _marks(table, rows, by_person=False) + ";"
        return (
            f"IF EXISTS (SELECT 1 FROM {rows} OFFSET {few}) THEN "
            f"{_marks(table, rows, by_person=False)}; "
            f"ELSE {_marks(table, rows, by_person=True)}; END IF;"
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
        return  # SQLite's row triggers mark each row's person already
    for table in SOURCES:
        op.execute(_function(table, FEW))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in SOURCES:
        op.execute(_function(table, None))

"""the daily roll-up: each unit's own figures per day (unitday), its head-count (unitheads),
and the changes not counted yet (rollupdirty), marked by triggers

Revision ID: 0009_rollup
Revises: 0008_channels

The triggers mark each changed appointment, sample, tube membership, tube result or person in
``rollupdirty``, in the changing transaction, so every writer (a use case, a bulk COPY, an old
tool) is seen (SQLite: a row per changed row; PostgreSQL: inserts and deletes once per
statement, a row per distinct unit and time, updates per changed row); :mod:`testrota.org.rollup` counts those keys again before the same
transaction commits. A database that already holds people gets one "count everything" mark:
reports read raw rows until ``testrota rollup rebuild`` has run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import testrota.db.types

revision: str = "0009_rollup"
down_revision: str | None = "0008_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "unit_id, person_id, at, whole_person"


def _by_person(column: str) -> str:
    return (
        "SELECT (SELECT unit_id FROM person WHERE id = {r}.person_id), {r}.person_id, "
        f"{{r}}.{column}, {{false}}"
    )


_MEMBER = (
    "SELECT p.unit_id, r.person_id, r.sampled_at, {false} FROM testresult r "
    "JOIN person p ON p.id = r.person_id WHERE r.id = {r}.result_id"
)
_TUBE = (
    "SELECT p.unit_id, r.person_id, r.sampled_at, {false} FROM tubemember m "
    "JOIN testresult r ON r.id = m.result_id JOIN person p ON p.id = r.person_id "
    "WHERE m.tube_id = {r}.id"
)
_PERSON = "SELECT {r}.unit_id, {r}.id, NULL, {true} WHERE {r}.unit_id IS NOT NULL"

# table -> (the rows a changed row marks, the columns whose change matters, insert/delete too)
SOURCES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "appointment": (
        _by_person("starts_at"),
        ("person_id", "starts_at", "status", "excused_code"),
        True,
    ),
    "testresult": (_by_person("sampled_at"), ("person_id", "sampled_at", "result"), True),
    "tubemember": (_MEMBER, ("tube_id", "result_id"), True),
    "tube": (_TUBE, ("result", "ratio"), False),
    "person": (_PERSON, ("unit_id", "active", "person_type", "booster"), True),
}


def _mark(table: str, row: str, dialect: str) -> str:
    select, _, _ = SOURCES[table]
    true, false = ("true", "false") if dialect == "postgresql" else ("1", "0")
    body = select.format(r=row, true=true, false=false)
    return f"INSERT INTO rollupdirty ({COLUMNS}) {body};"


def _changed(columns: tuple[str, ...], dialect: str) -> str:
    op_ = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {op_} NEW.{c}" for c in columns)


def _sqlite(table: str) -> list[str]:
    _, columns, insert_delete = SOURCES[table]
    out = [
        f"CREATE TRIGGER rollup_{table}_update AFTER UPDATE ON {table} "
        f"WHEN {_changed(columns, 'sqlite')} BEGIN "
        f"{_mark(table, 'OLD', 'sqlite')} {_mark(table, 'NEW', 'sqlite')} END"
    ]
    if insert_delete:
        out += [
            f"CREATE TRIGGER rollup_{table}_insert AFTER INSERT ON {table} "
            f"BEGIN {_mark(table, 'NEW', 'sqlite')} END",
            f"CREATE TRIGGER rollup_{table}_delete AFTER DELETE ON {table} "
            f"BEGIN {_mark(table, 'OLD', 'sqlite')} END",
        ]
    return out


# PostgreSQL marks inserts and deletes once per statement from their transition tables, one
# row per distinct (unit, time): a plan's 600,000 appointments or an import's 300,000 people
# write a few thousand marks, not a row each. Each source: the marks of a set of rows {r}.
_PG_SOURCES: dict[str, str] = {
    "appointment": (
        "SELECT DISTINCT p.unit_id, NULL::integer, r.starts_at, false FROM {r} r "
        "JOIN person p ON p.id = r.person_id WHERE p.unit_id IS NOT NULL"
    ),
    "testresult": (
        "SELECT DISTINCT p.unit_id, NULL::integer, r.sampled_at, false FROM {r} r "
        "JOIN person p ON p.id = r.person_id WHERE p.unit_id IS NOT NULL"
    ),
    "tubemember": (
        "SELECT DISTINCT p.unit_id, NULL::integer, t.sampled_at, false FROM {r} r "
        "JOIN testresult t ON t.id = r.result_id JOIN person p ON p.id = t.person_id "
        "WHERE p.unit_id IS NOT NULL"
    ),
}


def _postgresql(table: str) -> list[str]:
    _, columns, insert_delete = SOURCES[table]
    pg = "postgresql"
    insert = f"INSERT INTO rollupdirty ({COLUMNS}) "
    # Updates are marked row by row, filtered in C by the trigger's WHEN: a bulk update that
    # changes nothing the roll-up counts (a roster's phones, a category) marks nothing, and no
    # join of two unindexed transition tables is ever planned.
    out = [
        f"CREATE FUNCTION rollup_mark_{table}_row() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n  {_mark(table, 'OLD', pg)}\n  {_mark(table, 'NEW', pg)}\n"
        "  RETURN NULL;\nEND $$",
        f"CREATE TRIGGER rollup_{table}_update AFTER UPDATE ON {table} FOR EACH ROW "
        f"WHEN ({_changed(columns, pg)}) EXECUTE FUNCTION rollup_mark_{table}_row()",
    ]
    if not insert_delete:
        return out
    if table == "person":
        # a new person changes their unit's head-count only (no day holds them yet); a removed
        # one too (their appointments and samples went first, each marked)
        on_insert = (
            insert + "SELECT DISTINCT unit_id, NULL::integer, NULL::timestamptz, true "
            "FROM new_rows WHERE unit_id IS NOT NULL"
        )
        on_delete = (
            insert + "SELECT DISTINCT unit_id, NULL::integer, NULL::timestamptz, true "
            "FROM old_rows WHERE unit_id IS NOT NULL"
        )
    else:
        on_insert = insert + _PG_SOURCES[table].format(r="new_rows")
        on_delete = insert + _PG_SOURCES[table].format(r="old_rows")
    out += [
        f"CREATE FUNCTION rollup_mark_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  IF TG_OP = 'INSERT' THEN {on_insert};\n"
        f"  ELSE {on_delete};\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END $$",
        f"CREATE TRIGGER rollup_{table}_insert AFTER INSERT ON {table} "
        "REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_{table}()",
        f"CREATE TRIGGER rollup_{table}_delete AFTER DELETE ON {table} "
        "REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_{table}()",
    ]
    return out


def upgrade() -> None:
    op.create_table(
        "unitday",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("tested", sa.Integer(), nullable=False),
        sa.Column("extra", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("pooled", sa.Integer(), nullable=False),
        sa.Column("single", sa.Integer(), nullable=False),
        sa.Column("pool_positive", sa.Integer(), nullable=False),
        sa.Column("untested", sa.JSON(), nullable=True),
        sa.Column("counted_at", testrota.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["orgunit.id"]),
        sa.PrimaryKeyConstraint("unit_id", "day"),
    )
    with op.batch_alter_table("unitday", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unitday_day"), ["day"], unique=False)
    op.create_table(
        "unitheads",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("employees", sa.Integer(), nullable=False),
        sa.Column("co_residents", sa.Integer(), nullable=False),
        sa.Column("third_party", sa.Integer(), nullable=False),
        sa.Column("boosted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["orgunit.id"]),
        sa.PrimaryKeyConstraint("unit_id"),
    )
    op.create_table(
        "rollupdirty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("at", testrota.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("whole_person", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    dialect = op.get_bind().dialect.name
    for table in SOURCES:
        for statement in _postgresql(table) if dialect == "postgresql" else _sqlite(table):
            op.execute(statement)
    # Figures already in the database are counted by `testrota rollup rebuild`; until then a
    # row with neither unit nor person tells readers to count from raw rows.
    true = "true" if dialect == "postgresql" else "1"
    op.execute(
        f"INSERT INTO rollupdirty ({COLUMNS}) SELECT NULL, NULL, NULL, {true} "
        "WHERE EXISTS (SELECT 1 FROM person)"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, (_, _, insert_delete) in SOURCES.items():
        names = ["update", *(["insert", "delete"] if insert_delete else [])]
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS rollup_{table}_{name}" + (
                f" ON {table}" if dialect == "postgresql" else ""
            ))
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION IF EXISTS rollup_mark_{table}()")
            op.execute(f"DROP FUNCTION IF EXISTS rollup_mark_{table}_row()")
    op.drop_table("rollupdirty")
    op.drop_table("unitheads")
    with op.batch_alter_table("unitday", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unitday_day"))
    op.drop_table("unitday")

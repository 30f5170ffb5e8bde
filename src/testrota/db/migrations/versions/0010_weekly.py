"""the weekly roll-up: each person's standing of an ISO week (personweek), the weeks it holds
(weekcovered), and the person changes the daily marks do not carry (weeklydirty)

Revision ID: 0010_weekly
Revises: 0009_rollup

Appointments, samples, moves, leavers and new people are marked by 0009's triggers in
``rollupdirty``; these triggers add what only the weekly standing depends on: a person's
department, grid unit or category, and their exemptions. No week is held until
``testrota rollup rebuild`` has counted it, so an upgraded database reads raw rows until then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import testrota.db.types

revision: str = "0010_weekly"
down_revision: str | None = "0009_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERSON_COLUMNS = ("department", "grid_unit", "risk_category", "override_category")
# (table, the person id of a row, the columns whose change matters, insert/delete too)
SOURCES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "person": ("id", PERSON_COLUMNS, False),
    "exemption": ("person_id", ("person_id", "start_date", "end_date"), True),
}


def _changed(columns: tuple[str, ...], dialect: str) -> str:
    op_ = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {op_} NEW.{c}" for c in columns)


def _mark(row: str, key: str) -> str:
    return f"INSERT INTO weeklydirty (person_id) VALUES ({row}.{key});"


def _sqlite(table: str) -> list[str]:
    key, columns, insert_delete = SOURCES[table]
    out = [
        f"CREATE TRIGGER weekly_{table}_update AFTER UPDATE ON {table} "
        f"WHEN {_changed(columns, 'sqlite')} BEGIN {_mark('OLD', key)} {_mark('NEW', key)} END"
    ]
    if insert_delete:
        out += [
            f"CREATE TRIGGER weekly_{table}_insert AFTER INSERT ON {table} "
            f"BEGIN {_mark('NEW', key)} END",
            f"CREATE TRIGGER weekly_{table}_delete AFTER DELETE ON {table} "
            f"BEGIN {_mark('OLD', key)} END",
        ]
    return out


def _postgresql(table: str) -> list[str]:
    key, columns, insert_delete = SOURCES[table]
    out = [
        f"CREATE FUNCTION weekly_mark_{table}_update() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n  {_mark('OLD', key)}\n  IF NEW.{key} IS DISTINCT FROM OLD.{key} THEN "
        f"{_mark('NEW', key)} END IF;\n  RETURN NULL;\nEND $$",
        f"CREATE TRIGGER weekly_{table}_update AFTER UPDATE ON {table} FOR EACH ROW "
        f"WHEN ({_changed(columns, 'postgresql')}) "
        f"EXECUTE FUNCTION weekly_mark_{table}_update()",
    ]
    if insert_delete:
        out += [
            f"CREATE FUNCTION weekly_mark_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            f"  IF TG_OP = 'INSERT' THEN {_mark('NEW', key)}\n"
            f"  ELSE {_mark('OLD', key)}\n"
            "  END IF;\n  RETURN NULL;\nEND $$",
            f"CREATE TRIGGER weekly_{table}_insert AFTER INSERT OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION weekly_mark_{table}()",
        ]
    return out


def upgrade() -> None:
    op.create_table(
        "personweek",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("grid_unit", sa.String(length=200), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("scheduled", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("excused", sa.Integer(), nullable=False),
        sa.Column("tests", sa.Integer(), nullable=False),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        sa.Column("counted_at", testrota.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "week"),
    )
    with op.batch_alter_table("personweek", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personweek_week"), ["week"], unique=False)
        batch_op.create_index(batch_op.f("ix_personweek_unit_id"), ["unit_id"], unique=False)
    op.create_table(
        "weekcovered",
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("week"),
    )
    op.create_table(
        "weeklydirty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    dialect = op.get_bind().dialect.name
    for table in SOURCES:
        for statement in _postgresql(table) if dialect == "postgresql" else _sqlite(table):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in SOURCES:
        for name in ("update", "insert", "delete"):
            on = f" ON {table}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS weekly_{table}_{name}{on}")
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION IF EXISTS weekly_mark_{table}()")
            op.execute(f"DROP FUNCTION IF EXISTS weekly_mark_{table}_update()")
    op.drop_table("weeklydirty")
    op.drop_table("weekcovered")
    with op.batch_alter_table("personweek", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personweek_unit_id"))
        batch_op.drop_index(batch_op.f("ix_personweek_week"))
    op.drop_table("personweek")

"""appointments are written without a foreign-key check per row on person and slot; deleting a
person or slot that appointments name is refused by a guard on the deleted side instead; the
make-up index holds only the appointments that are make-ups

Revision ID: 0011_plan
Revises: 0010_weekly

Why: a week's plan at 300,000 people inserts 600,000 appointments in one statement, and
PostgreSQL checks each row's ``person_id`` and ``slot_id`` with a query of its own (the checks
stay per row in a COPY and in an ``INSERT ... SELECT`` from a staging table alike): about
half of the database's time storing the plan. Those checks guard against two things:

* an appointment naming a person or slot that is not there: every writer (the planner, the
  mid-week and contact bookings, a reschedule, a make-up, a recheck) takes the ids from rows it
  read in the same transaction, and nothing in testrota deletes a person or a slot (people are
  deactivated or erased in place, slots stay as the week's history);
* deleting a person or slot that appointments still name: the guard triggers added here refuse
  it as the foreign key did (PostgreSQL: SQLSTATE 23503 foreign_key_violation; SQLite: a
  constraint error), by one index probe per deleted row, the rare side, instead of one check per
  inserted appointment, the hot side. On PostgreSQL the guard first takes the planners'
  advisory lock, so a delete waits for a plan being stored and then sees its rows.

``ix_appointment_makeup_for`` becomes partial (``makeup_for IS NOT NULL``): the planner's rows
are never make-ups, so they no longer enter it; lookups by ``makeup_for = x`` and the
foreign key's ``ON DELETE SET NULL`` use it as before.

On SQLite the table's stored definition is edited (:mod:`testrota.db.sqlite_schema`): a
rebuild would have set every text's and offer's ``appointment_id`` to NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from testrota.db import sqlite_schema

revision: str = "0011_plan"
down_revision: str | None = "0010_weekly"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAN_LOCK = 4_004_004  # testrota.scheduling.service.PLAN_LOCK
GUARDED = {"person": "person_id", "slot": "slot_id"}  # referenced table -> appointment column
MAKEUP_INDEX = "ix_appointment_makeup_for"


def _pg_guard(table: str, column: str) -> list[str]:
    function = f"appointment_{column}_guard"
    return [
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        # a plan being stored holds this lock and its rows are not visible until it commits
        f"  PERFORM pg_advisory_xact_lock({PLAN_LOCK});\n"
        f"  IF EXISTS (SELECT 1 FROM appointment WHERE {column} = OLD.id) THEN\n"
        "    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',\n"
        f"      MESSAGE = format('{table} %s is still named by appointments', OLD.id);\n"
        "  END IF;\n"
        "  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
        "  RETURN NEW;\n"
        "END $$",
        f"CREATE TRIGGER {function}_delete BEFORE DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {function}_update BEFORE UPDATE OF id ON {table} "
        f"FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION {function}()",
    ]


def _sqlite_guard(table: str, column: str) -> list[str]:
    name = f"appointment_{column}_guard"
    refuse = (
        f"WHEN EXISTS (SELECT 1 FROM appointment WHERE {column} = OLD.id) "
        "BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END"
    )
    return [
        f"CREATE TRIGGER {name}_delete BEFORE DELETE ON {table} FOR EACH ROW {refuse}",
        f"CREATE TRIGGER {name}_update BEFORE UPDATE OF id ON {table} FOR EACH ROW "
        f"{refuse.replace('WHEN ', 'WHEN OLD.id IS NOT NEW.id AND ', 1)}",
    ]


def _makeup_index(partial: bool) -> None:
    op.drop_index(MAKEUP_INDEX, table_name="appointment")
    where = sa.text("makeup_for IS NOT NULL") if partial else None
    op.create_index(
        MAKEUP_INDEX,
        "appointment",
        ["makeup_for"],
        postgresql_where=where,
        sqlite_where=where,
    )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for fk in sa.inspect(bind).get_foreign_keys("appointment"):
            if fk["referred_table"] in GUARDED and fk["name"]:
                op.drop_constraint(fk["name"], "appointment", type_="foreignkey")
        for table, column in GUARDED.items():
            for statement in _pg_guard(table, column):
                op.execute(statement)
    else:
        sqlite_schema.drop_foreign_keys(bind, "appointment", GUARDED)
        for table, column in GUARDED.items():
            for statement in _sqlite_guard(table, column):
                op.execute(statement)
    _makeup_index(partial=True)


def downgrade() -> None:
    bind = op.get_bind()
    _makeup_index(partial=False)
    if bind.dialect.name == "postgresql":
        for column in GUARDED.values():
            op.execute(f"DROP FUNCTION appointment_{column}_guard() CASCADE")
        for table, column in GUARDED.items():
            op.create_foreign_key(
                f"appointment_{column}_fkey", "appointment", table, [column], ["id"]
            )
        return
    for column in GUARDED.values():
        for side in ("delete", "update"):
            op.execute(f"DROP TRIGGER appointment_{column}_guard_{side}")
    sqlite_schema.add_foreign_keys(bind, "appointment", GUARDED)

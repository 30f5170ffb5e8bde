"""people and the daily roll-up's rows name their unit without a foreign-key check per row;
deleting or renumbering a unit they name is refused by a guard on orgunit instead

Revision ID: 0025_rollup_unit_refs
Revises: 0024_bulk_marks_quarter_hour

Why: a plan's commit, a results sheet's or a rebuild writes each day's figures of every unit
again, and PostgreSQL checked each ``unitday`` row's unit with a locking query of its own:
48,000 rows by ``COPY`` took the server 1.4 s more with the key than without it (0.8-0.9 s in
all instead of 2.2-2.8 s). A roster placing 300,000 people in their units paid the same check
once a person (1.9 s of the 17.9 s ``UPDATE``). Only the roll-up writes ``unitday`` and
``unitheads``, and only the unit sync (``testrota.org.units``) sets ``person.unit_id``, each
with the ids of units it read in the same transaction; nothing in testrota deletes a unit (a
unit no roster names stays, empty). Deleting, or renumbering, a unit that these rows name is
refused by the guard as the foreign key refused it (PostgreSQL: SQLSTATE 23503
foreign_key_violation; SQLite: a constraint error), as 0011 and 0017 did for appointments and
samples.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from testrota.db import sqlite_schema

revision: str = "0025_rollup_unit_refs"
down_revision: str | None = "0024_bulk_marks_quarter_hour"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("person", "unitday", "unitheads")  # each names its unit in unit_id
KEY_NAMES = {"person": "fk_person_unit_id_orgunit"}  # the others': <table>_unit_id_fkey
NAME = "orgunit_unit_refs_guard"


def _named() -> str:
    return " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE unit_id = OLD.id)" for t in TABLES)


def _pg_guard() -> list[str]:
    return [
        f"CREATE FUNCTION {NAME}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  IF {_named()} THEN\n"
        "    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',\n"
        "      MESSAGE = format('unit %s is still named by people or the daily roll-up', OLD.id);\n"
        "  END IF;\n"
        "  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
        "  RETURN NEW;\n"
        "END $$",
        f"CREATE TRIGGER {NAME}_delete BEFORE DELETE ON orgunit "
        f"FOR EACH ROW EXECUTE FUNCTION {NAME}()",
        f"CREATE TRIGGER {NAME}_update BEFORE UPDATE OF id ON orgunit "
        f"FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION {NAME}()",
    ]


def _sqlite_guard() -> list[str]:
    refuse = "BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END"
    return [
        f"CREATE TRIGGER {NAME}_delete BEFORE DELETE ON orgunit FOR EACH ROW "
        f"WHEN {_named()} {refuse}",
        f"CREATE TRIGGER {NAME}_update BEFORE UPDATE OF id ON orgunit FOR EACH ROW "
        f"WHEN OLD.id IS NOT NEW.id AND ({_named()}) {refuse}",
    ]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TABLES:
            for fk in sa.inspect(bind).get_foreign_keys(table):
                if fk["referred_table"] == "orgunit" and fk["name"]:
                    op.drop_constraint(fk["name"], table, type_="foreignkey")
        statements = _pg_guard()
    else:
        for table in TABLES:
            sqlite_schema.drop_foreign_keys(bind, table, {"orgunit": "unit_id"})
        statements = _sqlite_guard()
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {NAME}() CASCADE")
        for table in TABLES:
            name = KEY_NAMES.get(table, f"{table}_unit_id_fkey")
            op.create_foreign_key(name, table, "orgunit", ["unit_id"], ["id"])
        return
    for side in ("delete", "update"):
        op.execute(f"DROP TRIGGER {NAME}_{side}")
    for table in TABLES:
        sqlite_schema.add_foreign_keys(bind, table, {"orgunit": "unit_id"})

"""samples are written without a foreign-key check per row on person; deleting a person that
samples name is refused by a guard on person instead, as 0011 did for appointments

Revision ID: 0017_sample_person
Revises: 0016_update_marks

Why: a results sheet inserts a sample a row, and PostgreSQL checked each row's ``person_id``
with a locking query of its own: 2.0-2.6 s of the database's CPU for 100,000 rows, more than
half of what the import cost it (after 0016). Every writer of samples (a results import, a
check-in, a scan, a recheck) takes the person's id from a row it read in the same
transaction, and nothing in testrota deletes a person (people are deactivated or erased in
place). Deleting, or renumbering, a person whom samples name is refused by the guard as the
foreign key refused it (PostgreSQL: SQLSTATE 23503 foreign_key_violation; SQLite: a
constraint error), one index probe per deleted person instead of one check per sample.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from testrota.db import sqlite_schema

revision: str = "0017_sample_person"
down_revision: str | None = "0016_update_marks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARDED = {"person": "person_id"}  # referenced table -> testresult's column
NAME = "testresult_person_id_guard"


def _pg_guard() -> list[str]:
    return [
        f"CREATE FUNCTION {NAME}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  IF EXISTS (SELECT 1 FROM testresult WHERE person_id = OLD.id) THEN\n"
        "    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',\n"
        "      MESSAGE = format('person %s is still named by samples', OLD.id);\n"
        "  END IF;\n"
        "  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
        "  RETURN NEW;\n"
        "END $$",
        f"CREATE TRIGGER {NAME}_delete BEFORE DELETE ON person "
        f"FOR EACH ROW EXECUTE FUNCTION {NAME}()",
        f"CREATE TRIGGER {NAME}_update BEFORE UPDATE OF id ON person "
        f"FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION {NAME}()",
    ]


def _sqlite_guard() -> list[str]:
    refuse = (
        "WHEN EXISTS (SELECT 1 FROM testresult WHERE person_id = OLD.id) "
        "BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END"
    )
    return [
        f"CREATE TRIGGER {NAME}_delete BEFORE DELETE ON person FOR EACH ROW {refuse}",
        f"CREATE TRIGGER {NAME}_update BEFORE UPDATE OF id ON person FOR EACH ROW "
        f"{refuse.replace('WHEN ', 'WHEN OLD.id IS NOT NEW.id AND ', 1)}",
    ]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for fk in sa.inspect(bind).get_foreign_keys("testresult"):
            if fk["referred_table"] in GUARDED and fk["name"]:
                op.drop_constraint(fk["name"], "testresult", type_="foreignkey")
        statements = _pg_guard()
    else:
        sqlite_schema.drop_foreign_keys(bind, "testresult", GUARDED)
        statements = _sqlite_guard()
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {NAME}() CASCADE")
        op.create_foreign_key(
            "testresult_person_id_fkey", "testresult", "person", ["person_id"], ["id"]
        )
        return
    for side in ("delete", "update"):
        op.execute(f"DROP TRIGGER {NAME}_{side}")
    sqlite_schema.add_foreign_keys(bind, "testresult", GUARDED)

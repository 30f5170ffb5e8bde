"""PostgreSQL marks an update of appointments or samples once per statement, from its
transition tables, instead of once per changed row

Revision ID: 0016_update_marks
Revises: 0015_personday

Why: 0009 marked updates row by row, a PL/pgSQL call per changed row, each looking up the
person's unit and inserting two marks (the row before and after). A results sheet that marks
32,000 appointments done spent 2.2 s of the database's CPU in those calls at 100,000 people,
more than the update itself. The statement's trigger now compares the rows before and after
by id and inserts the same marks in one ``INSERT ... SELECT``: each changed row's person, unit
and time, before and after, once each (a row per mark is what the roll-ups read, so the
weekly roll-up still recounts only the people changed, as a check-in's needs). An update that
changes none of the counted columns marks nothing, as the row trigger's ``WHEN`` did.

Only appointments and samples change in bulk (a results sheet, the missed-test flagging, an
excuse for a unit). Tubes and tube members change one at a time, and a roster's update of
people mostly changes columns nobody counts, which the row trigger's ``WHEN`` filters without
calling anything: those keep 0009's row triggers. SQLite's triggers are row triggers anyway.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_update_marks"
down_revision: str | None = "0015_personday"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (its time column, the columns whose change matters: 0009's)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "appointment": ("starts_at", ("person_id", "starts_at", "status", "excused_code")),
    "testresult": ("sampled_at", ("person_id", "sampled_at", "result")),
}


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in columns)


def _statement_trigger(table: str) -> list[str]:
    at, columns = TABLES[table]
    return [
        f"CREATE FUNCTION rollup_mark_{table}_update() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  INSERT INTO rollupdirty (unit_id, person_id, at, whole_person)\n"
        "  SELECT DISTINCT p.unit_id, m.person_id, m.at, false FROM (\n"
        f"    SELECT o.person_id AS old_person, o.{at} AS old_at,\n"
        f"           n.person_id AS new_person, n.{at} AS new_at\n"
        f"    FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_changed(columns)}\n"
        "  ) c\n"
        "  CROSS JOIN LATERAL (VALUES (c.old_person, c.old_at), (c.new_person, c.new_at))\n"
        "    AS m(person_id, at)\n"
        "  LEFT JOIN person p ON p.id = m.person_id;\n"
        "  RETURN NULL;\n"
        "END $$",
        f"CREATE TRIGGER rollup_{table}_update AFTER UPDATE ON {table} "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION rollup_mark_{table}_update()",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER rollup_{table}_update ON {table}")
        for statement in _statement_trigger(table):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (_, columns) in TABLES.items():
        op.execute(f"DROP TRIGGER rollup_{table}_update ON {table}")
        op.execute(f"DROP FUNCTION rollup_mark_{table}_update()")
        # 0009's row trigger; its function was left in place
        when = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        op.execute(
            f"CREATE TRIGGER rollup_{table}_update AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION rollup_mark_{table}_row()"
        )

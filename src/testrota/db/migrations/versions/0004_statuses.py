"""every enumerated column is kept to its values by a CHECK constraint

Revision ID: 0004_statuses
Revises: 0003_sessions

The values are written out here, frozen as they were when this revision was made: a later
value is added by a later revision, never by editing this one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_statuses"
down_revision: str | None = "0003_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKS: dict[tuple[str, str], tuple[str, ...]] = {
    ("person", "person_type"): ("employee", "third_party", "co_resident"),
    ("appointment", "status"): ("scheduled", "done", "missed", "excused", "cancelled"),
    ("appointment", "reason"): ("plan", "midweek", "contact", "reschedule"),
    ("testresult", "result"): ("pending", "negative", "positive", "invalid"),
    ("alert", "status"): ("open", "closed"),
    ("alertcontact", "reason"): ("grid_unit", "same_slot"),
    ("message", "status"): ("pending", "sending", "sent", "delivered", "undelivered", "failed",
                            "unknown", "expired", "cancelled", "skipped"),
    ("rescheduleoffer", "status"): ("open", "confirmed", "superseded", "expired"),
    ("user", "role"): ("admin", "hr", "supervisor", "site"),
}


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    conn = op.get_bind()
    quote = conn.dialect.identifier_preparer.quote
    for (table, column), values in CHECKS.items():
        # Say which rows stand in the way rather than fail on the constraint's bare name.
        bad = conn.exec_driver_sql(
            f"SELECT DISTINCT {quote(column)} FROM {quote(table)} "
            f"WHERE NOT ({_condition(quote(column), values)})"
        ).scalars().all()
        if bad:
            raise RuntimeError(
                f"{table}.{column} holds values testrota does not know: {sorted(map(str, bad))}; "
                "fix those rows, then run testrota init again"
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(f"ck_{table}_{column}", _condition(column, values))


def downgrade() -> None:
    for table, column in reversed(list(CHECKS)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"ck_{table}_{column}", type_="check")

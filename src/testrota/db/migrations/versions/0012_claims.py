"""the outbox's due index ends with the id, so a dispatcher's claim reads the texts due in
its order (``ORDER BY due_at, id``) and stops at its limit

Revision ID: 0012_claims
Revises: 0011_plan

Why: ``ix_message_status_due`` held (status, due_at). Reminders share their due times (an
evening's reminders of one slot are due at the same minute), so to take the first 50 by
(due_at, id) PostgreSQL read every text due, checked each one's person and appointment, and
sorted them: at 300,000 people, 11,000 reminders due made each claim of 50 cost 0.76 s. With
the id in the index the rows come in the claim's order and the scan stops after 50 (9 ms).
The index keeps its name; on SQLite too, where the claim has the same ORDER BY.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_claims"
down_revision: str | None = "0011_plan"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_message_status_due"


def upgrade() -> None:
    op.drop_index(INDEX, table_name="message")
    op.create_index(INDEX, "message", ["status", "due_at", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="message")
    op.create_index(INDEX, "message", ["status", "due_at"])

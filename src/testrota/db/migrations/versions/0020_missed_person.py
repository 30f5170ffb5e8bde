"""the missed appointments by person: a partial index for a supervisor's missed list

Revision ID: 0020_missed_person
Revises: 0019_missed_index

Why: a supervisor's missed list of a department of 10,000 people found its week's missed
appointments by probing each person's appointments (``ix_appointment_person_week``) and
reading them all to keep the missed ones: 77,000 buffers and 21 ms of the server's CPU a page
at 300,000 people, a fifth of the morning peak's database time. Probed here, a person with
nothing missed costs a look at a small index (missed rows only) and no row: 23,000 buffers,
14 ms. The weeks-in-a-row count of a page's people reads it too. A plan and a check-in write
no entry to it, as to ``ix_appointment_missed_starts`` (0019_missed_index).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_missed_person"
down_revision: str | None = "0019_missed_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_appointment_missed_person"


def upgrade() -> None:
    where = sa.text("status = 'missed'")
    op.create_index(
        NAME, "appointment", ["person_id", "starts_at"], postgresql_where=where, sqlite_where=where
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="appointment")

"""the still-scheduled appointments by end: an index holding only ``status = 'scheduled'`` rows,
on ``ends_at``

Revision ID: 0014_peak
Revises: 0013_marks

Why: every list, status lookup and report first asks whether an appointment is due to be
flagged (``compliance.due.anything_due``: scheduled, ended before the grace period's cutoff,
LIMIT 1). Usually none is, and PostgreSQL cannot know it: it estimates the three conditions
independently (two thirds of a week scheduled, a third started before Wednesday) and plans the
LIMIT 1 as a sequential scan expected to stop early, which then reads all 600,000 rows of a
300,000-person week to find nothing: about 60 ms of the database's CPU per status lookup. In
this index the rows due are its first entries, so the look reads one page whether or not any is
there; nothing else provides that order, so the plan cannot drift back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_peak"
down_revision: str | None = "0013_marks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_appointment_scheduled_ends"


def upgrade() -> None:
    where = sa.text("status = 'scheduled'")
    op.create_index(INDEX, "appointment", ["ends_at"], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="appointment")

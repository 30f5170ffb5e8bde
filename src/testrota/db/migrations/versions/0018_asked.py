"""the weekly roll-up keeps what the policy asks of each person (personweek.asked)

Revision ID: 0018_asked
Revises: 0017_sample_person

Why: a row of the weekly roll-up depends on the person's facts and exemptions only through
what the policy asks of them that week. Kept in the row, a week whose appointments or samples
alone changed (a plan's commit: 600,000 appointments for 300,000 people) is counted again by
one ``UPDATE`` in the database, instead of every person's facts, tallies and row making the
round trip through Python. Rows written before this revision have no ``asked`` and are counted
the old way the next time they change, which fills it in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_asked"
down_revision: str | None = "0017_sample_person"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("personweek", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asked", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("personweek", schema=None) as batch_op:
        batch_op.drop_column("asked")

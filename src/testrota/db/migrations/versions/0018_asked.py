"""the weekly roll-up keeps what the policy asks of each person (personweek.asked)

Revision ID: 0018_asked
Revises: 0017_sample_person

Why: a row of the weekly roll-up depends on the person's facts and exemptions only through
what the policy asks of them that week. Kept in the row, a week whose appointments or samples
alone changed (a plan's commit: 600,000 appointments for 300,000 people) is counted again by
one ``UPDATE`` in the database, instead of every person's facts, tallies and row making the
round trip through Python. Rows written before this revision have no ``asked`` and are counted
the old way the next time they change, which fills it in.

On PostgreSQL the table keeps half of each page free (``fillfactor``) from here on: a row
counted again in place then gets its new version on its own page without an entry in any of
the three indexes (a HOT update). In a plan's commit at 300,000 people that ``UPDATE`` took
2.0 s instead of 3.5 s; the dashboard's sums over five weeks read in the same time
(1.3-1.4 s against 1.5-1.7 s), the table taking twice the pages. Pages written before keep
their fill until their rows are written again.
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
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE personweek SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE personweek RESET (fillfactor)")
    with op.batch_alter_table("personweek", schema=None) as batch_op:
        batch_op.drop_column("asked")

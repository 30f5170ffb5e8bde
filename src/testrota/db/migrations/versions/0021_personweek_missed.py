"""the weekly roll-up's rows that count a missed slot: a partial index by week and department

Revision ID: 0021_personweek_missed
Revises: 0020_missed_person

Why: a supervisor's missed list of a department of 10,000 people still probed each of them
for a missed appointment (``ix_appointment_missed_person``), or hashed all of them against the
week's missed rows: 9-12 ms of the server's CPU a page at 300,000 people, two thirds of the
page's database time at the morning peak. When the weekly roll-up holds the week, its rows
name the few hundred people who missed a slot there; the list starts from those. A recount
in place that leaves ``missed`` as it was (a plan's commit, a check-in) stays a HOT update.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_personweek_missed"
down_revision: str | None = "0020_missed_person"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_personweek_missed"


def upgrade() -> None:
    where = sa.text("missed > 0")
    op.create_index(
        NAME, "personweek", ["week", "department"], postgresql_where=where, sqlite_where=where
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="personweek")

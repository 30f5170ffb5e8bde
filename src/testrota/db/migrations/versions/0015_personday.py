"""each person's own part of a unit's day (personday), and whether a unit-day row has every
one of its people's parts (unitday.people_known)

Revision ID: 0015_personday
Revises: 0014_peak

Why: a check-in counted its unit's whole day again under the unit-day's lock, reading every
appointment and sample of the unit's 650-850 people. At 300,000 people, on a busy machine
reading from disk, that count took 100-180 ms, and the check-ins of one unit, which come
together at one tent, waited for each other in turn. With each person's part of the day
kept, a check-in takes its person's old part away and adds the new one: the work under the
lock no longer grows with the unit. Existing rows start unknown; the first change of each
unit-day counts it whole once and writes its people's parts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015_personday"
down_revision: str | None = "0014_peak"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "personday",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("due", sa.Boolean(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("positive", sa.Boolean(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("pooled", sa.Integer(), nullable=False),
        sa.Column("pool_positive", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "day"),
    )
    op.create_index("ix_personday_day", "personday", ["day"])
    with op.batch_alter_table("unitday", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("people_known", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("unitday", schema=None) as batch_op:
        batch_op.drop_column("people_known")
    op.drop_index("ix_personday_day", table_name="personday")
    op.drop_table("personday")

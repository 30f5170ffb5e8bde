"""a make-up test names the missed appointment it makes up for

Revision ID: 0005_ui
Revises: 0004_statuses

``appointment.makeup_for``: the personal page and a text reply book at most one make-up per
missed test, and find it without a reschedule offer (the page never made one).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_ui"
down_revision: str | None = "0004_statuses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("makeup_for", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointment_makeup_for"), ["makeup_for"], unique=False)
        batch_op.create_foreign_key(
            "fk_appointment_makeup_for_appointment",
            "appointment",
            ["makeup_for"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint("fk_appointment_makeup_for_appointment", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_appointment_makeup_for"))
        batch_op.drop_column("makeup_for")

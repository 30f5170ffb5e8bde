"""make-ups name the missed test; alerts keep notes and why they were closed

Revision ID: 0005_ui
Revises: 0004_statuses

``appointment.makeup_for``: the personal page and a text reply book at most one make-up per
missed test, and find it without a reschedule offer (the page never made one).
``alertnote``: what the people handling a positive case wrote down; ``alert.close_reason``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import testrota.db.types

revision: str = "0005_ui"
down_revision: str | None = "0004_statuses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alertnote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("at", testrota.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alertnote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alertnote_alert_id"), ["alert_id"], unique=False)
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("close_reason", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True)
        )
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
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_column("close_reason")
    with op.batch_alter_table("alertnote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alertnote_alert_id"))
    op.drop_table("alertnote")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint("fk_appointment_makeup_for_appointment", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_appointment_makeup_for"))
        batch_op.drop_column("makeup_for")

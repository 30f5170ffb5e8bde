"""mainland channels: a text's template values and channel; applied delivery receipts; a
person's channel and WeCom account

Revision ID: 0008_channels
Revises: 0007_group

``message.language`` / ``message.params``: the template language and the values a text was
made from, sent instead of the body by a channel that only sends approved templates (Aliyun).
``message.channel``: which channel took the text; an index on ``(to, sent_at)`` for the
channels' per-recipient limits; ``message.error_code`` holds Aliyun's
longer codes. ``smsreceipt``: delivery receipts already
applied, one per (provider, send id, phone), because Aliyun pushes a receipt again when our
answer was slow. ``person.notify_channel`` / ``person.wecom_userid``: the roster's 通知方式
and 企业微信账号.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import testrota.db.types

revision: str = "0008_channels"
down_revision: str | None = "0007_group"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify_channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(
            sa.Column("wecom_userid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_check_constraint(
            "ck_person_notify_channel", "notify_channel IN ('sms', 'wecom')"
        )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
        batch_op.create_index("ix_message_to_sent", ["to", "sent_at"], unique=False)
        # Aliyun's error codes are longer than Twilio's numbers (isv.BUSINESS_LIMIT_CONTROL).
        batch_op.alter_column(
            "error_code",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=20),
            type_=sqlmodel.sql.sqltypes.AutoString(length=64),
            existing_nullable=True,
        )
    op.create_table(
        "smsreceipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("biz_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("error_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("received_at", testrota.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "biz_id", "phone"),
    )


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_constraint("ck_person_notify_channel", type_="check")
        batch_op.drop_column("wecom_userid")
        batch_op.drop_column("notify_channel")
    op.drop_table("smsreceipt")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_to_sent")
        batch_op.alter_column(
            "error_code",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            type_=sqlmodel.sql.sqltypes.AutoString(length=20),
            existing_nullable=True,
        )
        batch_op.drop_column("channel")
        batch_op.drop_column("params")
        batch_op.drop_column("language")

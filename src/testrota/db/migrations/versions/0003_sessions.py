"""web sessions kept in the database, and the application's own keys

Revision ID: 0003_sessions
Revises: 0002_jobs

``websession``: one row per sign-in, so signing out, a password or role change and disabling a
user end their sign-ins server-side. ``appsecret``: keys the application makes for itself (the
demo's signing key), shared by every process on the database. An index on
``loginattempt.at``, so old attempts can be pruned.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import testrota.db.types

revision: str = "0003_sessions"
down_revision: str | None = "0002_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appsecret",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", testrota.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "websession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", testrota.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", testrota.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("revoked_at", testrota.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_websession_created_at"), ["created_at"],
                              unique=False)
        batch_op.create_index("ix_websession_user_revoked", ["user_id", "revoked_at"],
                              unique=False)
    # sign-in attempts are pruned by age at each successful sign-in
    with op.batch_alter_table("loginattempt", schema=None) as batch_op:
        batch_op.create_index("ix_loginattempt_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loginattempt", schema=None) as batch_op:
        batch_op.drop_index("ix_loginattempt_at")
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.drop_index("ix_websession_user_revoked")
        batch_op.drop_index(batch_op.f("ix_websession_created_at"))
    op.drop_table("websession")
    op.drop_table("appsecret")

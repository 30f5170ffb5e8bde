"""the group: a unit tree, each person's unit, excuse reason codes, confirmed daily reports

Revision ID: 0007_group
Revises: 0006_sampling

``orgunit``: the group's units (company, plant, workshop, team) and grid units as a tree with a
materialised path. ``person.unit_path`` (the roster's unit below the root) and
``person.unit_id``; ``appointment.excused_code`` (policy report.excuse_reasons);
``reportconfirmation``: a unit's daily figures confirmed upward; ``user.units``: the units a
supervisor sees; ``unitmodechange``: units' emergency modes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import testrota.db.types

revision: str = "0007_group"
down_revision: str | None = "0006_sampling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orgunit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("created_at", testrota.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('unit', 'grid')", name="ck_orgunit_kind"),
        sa.ForeignKeyConstraint(["parent_id"], ["orgunit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("path"),
    )
    with op.batch_alter_table("orgunit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orgunit_parent_id"), ["parent_id"], unique=False)
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "unit_path",
                sqlmodel.sql.sqltypes.AutoString(length=400),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("on_site", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("key_post", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(batch_op.f("ix_person_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_key_post"), ["key_post"], unique=False)
        batch_op.create_foreign_key("fk_person_unit_id_orgunit", "orgunit", ["unit_id"], ["id"])
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("excused_code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("units", sa.JSON(), nullable=True))
    op.create_table(
        "reportconfirmation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("confirmed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column(
            "confirmed_at", testrota.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["orgunit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id", "day"),
    )
    with op.batch_alter_table("reportconfirmation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reportconfirmation_day"), ["day"], unique=False)
    op.create_table(
        "unitmodechange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("set_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("set_at", testrota.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "mode IN ('normal', 'static', 'onsite', 'wfh', 'keep-production')",
            name="ck_unitmodechange_mode",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["orgunit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unitmodechange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unitmodechange_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unitmodechange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unitmodechange_unit_id"))
    op.drop_table("unitmodechange")
    with op.batch_alter_table("reportconfirmation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reportconfirmation_day"))
    op.drop_table("reportconfirmation")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("units")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_column("excused_code")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_constraint("fk_person_unit_id_orgunit", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_person_unit_id"))
        batch_op.drop_index(batch_op.f("ix_person_key_post"))
        batch_op.drop_column("unit_id")
        batch_op.drop_column("on_site")
        batch_op.drop_column("key_post")
        batch_op.drop_column("unit_path")
    with op.batch_alter_table("orgunit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orgunit_parent_id"))
    op.drop_table("orgunit")

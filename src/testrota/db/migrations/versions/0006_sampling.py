"""sampling day: pooled tubes and their members; recheck appointments; pool-positive samples

Revision ID: 0006_sampling
Revises: 0005_ui

``tube``: a barcode used once, at one site on one day, for up to ``ratio`` swabs (1, 5, 10 or
20), with the lab's result for the whole tube. ``tubemember``: which sample (a check-in's
result row) went into which tube; it goes with the sample or the person. Two new values:
``appointment.reason`` ``recheck`` (the single-tube re-test of a positive pool's members) and
``testresult.result`` ``pool_positive``. ``scanreceipt``: the scan console's answer to each
scan, by the browser's id for it, so a scan sent twice is taken once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import testrota.db.types

revision: str = "0006_sampling"
down_revision: str | None = "0005_ui"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# CHECK constraints whose values this revision widens: (before, after), frozen here.
WIDENED: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("appointment", "reason"): (
        ("plan", "midweek", "contact", "reschedule"),
        ("plan", "midweek", "contact", "reschedule", "recheck"),
    ),
    ("testresult", "result"): (
        ("pending", "negative", "positive", "invalid"),
        ("pending", "negative", "positive", "invalid", "pool_positive"),
    ),
}


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    utc = testrota.db.types.UTCDateTime(timezone=True)
    op.create_table(
        "tube",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", _string(40), nullable=False),
        sa.Column("site_code", _string(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ratio", sa.Integer(), nullable=False),
        sa.Column("status", _string(10), nullable=False),
        sa.Column("grid_unit", _string(200), nullable=False),
        sa.Column("opened_at", utc, nullable=False),
        sa.Column("opened_by", _string(100), nullable=False),
        sa.Column("closed_at", utc, nullable=True),
        sa.Column("closed_by", _string(100), nullable=True),
        sa.Column("packed_at", utc, nullable=True),
        sa.Column("packed_by", _string(100), nullable=True),
        sa.Column("result", _string(20), nullable=True),
        sa.Column("gene_text", _string(400), nullable=False),
        sa.Column("ct", sa.Float(), nullable=True),
        sa.Column("result_at", utc, nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed', 'packed')", name="ck_tube_status"),
        sa.CheckConstraint(
            "result IN ('negative', 'positive', 'invalid')", name="ck_tube_result"
        ),
        sa.CheckConstraint("ratio IN (1, 5, 10, 20)", name="ck_tube_ratio"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("tube", schema=None) as batch_op:
        batch_op.create_index("ix_tube_day_site", ["day", "site_code"], unique=False)
    op.create_table(
        "tubemember",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tube_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("added_at", utc, nullable=False),
        sa.Column("added_by", _string(100), nullable=False),
        sa.ForeignKeyConstraint(["tube_id"], ["tube.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["result_id"], ["testresult.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("result_id"),
        sa.UniqueConstraint("tube_id", "person_id"),
    )
    with op.batch_alter_table("tubemember", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tubemember_tube_id"), ["tube_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tubemember_person_id"), ["person_id"], unique=False)
    op.create_table(
        "scanreceipt",
        sa.Column("key", _string(64), nullable=False),
        sa.Column("actor", _string(100), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("kind", _string(10), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("scanreceipt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scanreceipt_at"), ["at"], unique=False)
    for (table, column), (_before, after) in WIDENED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"ck_{table}_{column}", type_="check")
            batch_op.create_check_constraint(f"ck_{table}_{column}", _condition(column, after))


def downgrade() -> None:
    conn = op.get_bind()
    for (table, column), (before, _after) in WIDENED.items():
        bad = conn.exec_driver_sql(
            f"SELECT COUNT(*) FROM {table} WHERE NOT ({_condition(column, before)})"
        ).scalar()
        if bad:
            raise RuntimeError(
                f"{bad} {table} rows hold a value this revision added to {column}; "
                "change or delete them before downgrading"
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"ck_{table}_{column}", type_="check")
            batch_op.create_check_constraint(f"ck_{table}_{column}", _condition(column, before))
    with op.batch_alter_table("scanreceipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scanreceipt_at"))
    op.drop_table("scanreceipt")
    with op.batch_alter_table("tubemember", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tubemember_person_id"))
        batch_op.drop_index(batch_op.f("ix_tubemember_tube_id"))
    op.drop_table("tubemember")
    with op.batch_alter_table("tube", schema=None) as batch_op:
        batch_op.drop_index("ix_tube_day_site")
    op.drop_table("tube")

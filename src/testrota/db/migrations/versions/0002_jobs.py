"""job runs say whether they did their work or failed, and why

Revision ID: 0002_jobs
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import testrota.db.types

revision: str = "0002_jobs"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "status IN ('running', 'done', 'failed')"


def upgrade() -> None:
    with op.batch_alter_table("jobrun", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10),
                                      server_default="running", nullable=False))
        batch_op.add_column(sa.Column("failed_at", testrota.db.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=400),
                                      nullable=True))
        batch_op.create_check_constraint("ck_jobrun_status", STATUSES)
    # Runs recorded before: a finished one is done; an unfinished one that left an error in
    # its details failed; any other is (or was) running.
    jobrun = sa.table("jobrun", sa.column("id", sa.Integer), sa.column("status", sa.String),
                      sa.column("finished_at"), sa.column("error", sa.String),
                      sa.column("details", sa.JSON))
    op.execute(jobrun.update().where(jobrun.c.finished_at.is_not(None)).values(status="done"))
    conn = op.get_bind()
    # A few rows a day at most (retention keeps 90 days): read in Python, portable across
    # SQLite's and PostgreSQL's JSON.
    unfinished = conn.execute(
        sa.select(jobrun.c.id, jobrun.c.details).where(jobrun.c.finished_at.is_(None))
    ).all()
    for run_id, details in unfinished:
        error = (details or {}).get("error")
        if error:
            conn.execute(jobrun.update().where(jobrun.c.id == run_id)
                         .values(status="failed", error=str(error)[:400]))


def downgrade() -> None:
    with op.batch_alter_table("jobrun", schema=None) as batch_op:
        batch_op.drop_constraint("ck_jobrun_status", type_="check")
        batch_op.drop_column("error")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("status")

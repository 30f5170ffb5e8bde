"""a sample's person and time looked up through its unique key alone

Revision ID: 0023_testresult_key_index
Revises: 0022_person_department_grid

Why: ``testresult`` had an index of (person_id, sampled_at) beside the unique key's index of
(person_id, sampled_at, source). Every reader of a person's samples by time is served as well
by the key's index, whose first two columns are the same; the second index only cost each
inserted sample one more entry: inserting a 300,000-row results sheet took the database
2.9-4.2 s with it and 2.2-3.8 s without, and every check-in paid its share.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023_testresult_key_index"
down_revision: str | None = "0022_person_department_grid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_testresult_person_sampled", table_name="testresult")


def downgrade() -> None:
    op.create_index("ix_testresult_person_sampled", "testresult", ["person_id", "sampled_at"])

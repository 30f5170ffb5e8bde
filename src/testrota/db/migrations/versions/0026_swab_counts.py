"""the daily roll-up counts a check-in and the lab's result of its swab as one sample: the
figures kept before are counted again

Revision ID: 0026_swab_counts
Revises: 0025_rollup_unit_refs

Why: a swab checked in at a site and answered by a lab's sheet is two ``testresult`` rows
(sources ``checkin`` and ``lab``), and ``unitday`` counted both, so the report's ``single``
counted that tube twice (:func:`testrota.org.daily.tube_counts` is the rule now). The rows
kept before this revision hold the old count. No schema changes: a database with figures
kept gets one "count everything" mark, as 0009 left one, so readers count from raw rows
until ``testrota rollup rebuild``; and the people's kept parts of days (``personday``) are
let go, as the nightly job lets old ones go, so no commit moves a unit-day by a part of the
old count: each unit-day is counted whole at its next change.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026_swab_counts"
down_revision: str | None = "0025_rollup_unit_refs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    true, false = ("true", "false") if dialect == "postgresql" else ("1", "0")
    op.execute(
        "INSERT INTO rollupdirty (unit_id, person_id, at, whole_person) "
        f"SELECT NULL, NULL, NULL, {true} WHERE EXISTS (SELECT 1 FROM unitday) "
        "AND NOT EXISTS (SELECT 1 FROM rollupdirty WHERE unit_id IS NULL AND person_id IS NULL)"
    )
    op.execute(f"UPDATE unitday SET people_known = {false} WHERE people_known")
    op.execute("DELETE FROM personday")


def downgrade() -> None:
    pass  # the older count reads the figures as they are; a rebuild there counts them its way

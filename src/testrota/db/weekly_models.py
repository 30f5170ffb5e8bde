"""Tables of the weekly roll-up: each person's standing of an ISO week as the compliance report
counts it, the weeks it holds, and the person changes the daily marks do not carry.

Imported by :mod:`testrota.db.models`, so the metadata and the migrations see them. The
dashboard and ``testrota compliance`` sum these rows per department and grid unit instead of
counting 300,000 people over the trend's weeks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from testrota.db.models import _dt


class PersonWeekRow(SQLModel, table=True):
    """One person's week (``compliance.weekly.person_week``); a week of which nothing was asked
    of them has no row. ``unit_id`` is the person's unit when counted, so a change marked by
    unit finds the rows of people who have left it."""

    __tablename__ = "personweek"
    # Half of each page left free on PostgreSQL (migration 0018): a week's rows are counted
    # again in place, all 300,000 of them in a plan's commit, and a new version that fits on
    # its page touches none of the three indexes (a HOT update, 3.5 -> 2.0 s there)
    __table_args__ = (
        # The rows that count a missed slot, by week and department: a supervisor's missed
        # list starts from its department's few hundred instead of each of its 10,000 people
        # (0021_personweek_missed). A recount that leaves ``missed`` alone stays HOT.
        Index(
            "ix_personweek_missed",
            "week",
            "department",
            postgresql_where=text("missed > 0"),
            sqlite_where=text("missed > 0"),
        ),
        {"postgresql_with": {"fillfactor": 50}},
    )

    person_id: int = Field(primary_key=True)
    week: str = Field(primary_key=True, max_length=8, index=True)  # 2026-W49
    unit_id: int | None = Field(default=None, index=True)
    department: str = Field(default="", max_length=200)
    grid_unit: str = Field(default="", max_length=200)  # PersonFacts.unit: the group's key
    required: int = 0
    scheduled: int = 0
    done: int = 0
    missed: int = 0
    excused: int = 0
    tests: int = 0  # credited: at most required
    # what the policy asks (compliance.weekly.policy_required); None: a row from before 0018
    asked: int | None = None
    compliant: bool = False
    counted_at: datetime = _dt()


class WeekCovered(SQLModel, table=True):
    """A week the roll-up holds, counted under the policy whose fingerprint it keeps: a reader
    of a week not held, or held under another policy, counts from raw rows."""

    week: str = Field(primary_key=True, max_length=8)
    fingerprint: str = Field(max_length=64)


class WeeklyDirty(SQLModel, table=True):
    """A person whose department, grid unit or category changed, or whose exemptions did: every
    week held is counted again for them before the transaction commits."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int

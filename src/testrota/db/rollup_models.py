"""Tables of the daily roll-up: each unit's own figures per local day, its head-count, and the
(unit, day) keys a transaction touched that are still to be counted again.

Imported by :mod:`testrota.db.models`, so the metadata and the migrations see them. The
figures are a unit's own people only (not those below it): the report adds the units up the
tree, which costs one pass over 16,000 units instead of a query over 300,000 people.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from testrota.db.models import _dt


class UnitDay(SQLModel, table=True):
    """A unit's own figures of one local day (policy time zone), as the daily report defines
    them; a key with nothing to count has no row."""

    # orgunit.id without a foreign key: checked per written row it tripled the time of writing
    # a day's figures; a guard on orgunit refuses deleting a unit named here (0025)
    unit_id: int = Field(primary_key=True)
    day: date = Field(primary_key=True, index=True)
    required: int = 0
    tested: int = 0
    extra: int = 0
    positive: int = 0
    pooled: int = 0
    single: int = 0
    pool_positive: int = 0
    # the untested by their excuse's stored code ("" when nobody excused them): kept raw, so a
    # change of the policy's reason list changes how they are shown, not what is stored
    untested: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))
    counted_at: datetime = _dt()
    # every active person of the unit has their ``personday`` row of this day (or none when
    # they count nothing): a change of a few people then moves the figures by what their own
    # rows changed, instead of counting the whole unit again (0015_personday)
    people_known: bool = False


class PersonDay(SQLModel, table=True):
    """One person's own part of a local day, as the unit-day figures count it, kept beside
    the unit-day rows whose ``people_known`` is set: what a check-in subtracts before it adds
    the person's new part. Not a person's state: their unit and whether they are active are
    read from ``person`` when the part is added up."""

    person_id: int = Field(primary_key=True)
    day: date = Field(primary_key=True, index=True)
    due: bool = False  # an appointment of the day that is not cancelled
    code: str = ""  # the smallest of the due appointments' excuse codes ("" one not excused)
    positive: bool = False  # a sample of the day came back positive
    samples: int = 0  # samples of the day (a sample in two tubes counted in each)
    pooled: int = 0  # ... of them in a pooled tube (ratio above 1)
    pool_positive: bool = False  # a pooled tube of the day holding their sample was positive


class UnitHeads(SQLModel, table=True):
    """A unit's own active people now, by type, and how many have a booster."""

    unit_id: int = Field(primary_key=True)  # orgunit.id, guarded as UnitDay's (0025)
    people: int = 0
    employees: int = 0
    co_residents: int = 0
    third_party: int = 0
    boosted: int = 0


class RollupDirty(SQLModel, table=True):
    """A change the roll-up has not counted yet, written by database triggers on appointment,
    testresult, tube, tubemember and person in the changing transaction itself, so no writer
    can forget one. The same transaction counts its keys again before it commits
    (:mod:`testrota.org.rollup`); a reader counts any left over from raw rows."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int | None = None  # the person's unit when the change was made
    person_id: int | None = None
    at: datetime | None = _dt(default=None)  # the time whose local day changed; None: every day
    whole_person: bool = False  # the person's unit, state, type or booster changed

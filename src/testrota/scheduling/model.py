"""Plain data the planner works on. No database rows, no clock: the service builds these.

The records made by the hundred thousand (people, appointments) are named tuples: immutable
like a frozen dataclass, but built several times faster, which matters at 100,000 people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

# Why a test could not be placed. The report and ``plan --json`` use these codes.
NO_VALID_SITE = "no_valid_site"  # no site serves the person's department or grid unit
NO_SLOT_IN_SHIFT = "no_slot_in_shift"  # the serving sites have no slot left in the shift's hours
NOT_ENOUGH_DAYS = "not_enough_days"  # too few days left to keep the minimum gap between tests
NO_CAPACITY = "no_capacity"  # slots exist in the shift's hours, but they are full
# static mode: no slot left that the grid unit could have to itself (it is never mixed instead)
NO_SLOT_OF_OWN = "no_slot_of_own"
# onsite mode: the person lives on site, and no on-site testing site serves them
NO_ONSITE_SITE = "no_onsite_site"

REASONS = {
    NO_VALID_SITE: "no testing site serves this department or grid unit",
    NO_SLOT_IN_SHIFT: "no slot left this week in the hours this person's shift can be tested",
    NOT_ENOUGH_DAYS: "not enough days left this week to keep the minimum gap between tests",
    NO_CAPACITY: "the slots this person can use are full",
    NO_SLOT_OF_OWN: "static mode: no slot is left that the grid unit could have to itself",
    NO_ONSITE_SITE: "lives on site, and no on-site testing site serves this person",
}


@dataclass(frozen=True, slots=True)
class DateRange:
    """A calendar date range, both ends included (an exemption: leave, or positive until return)."""

    start: date
    end: date
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


class PlanPerson(NamedTuple):
    """One person to plan. ``tests_required`` is the category's weekly count before surge rules
    and exemptions; the planner applies those itself."""

    id: int
    employee_no: str
    department: str = ""
    grid_unit: str = ""
    shift: str = "day"
    category: str | None = None
    tests_required: int = 2
    exemptions: tuple[DateRange, ...] = ()
    # static mode (静态管控): no slot this person's grid unit uses holds any other grid unit
    apart: bool = False
    # onsite mode (驻厂), living on site: tested at on-site testing sites only
    onsite: bool = False

    @property
    def unit(self) -> str:
        """The grid unit the planner keeps together: the department when none is given."""
        return self.grid_unit or self.department


@dataclass(frozen=True, slots=True)
class SiteScope:
    """Whom a site serves. ``None`` for both lists means everyone."""

    code: str
    departments: frozenset[str] | None = None
    grid_units: frozenset[str] | None = None
    onsite: bool = False  # inside the closed site: where people living on site are tested

    def serves(self, department: str, unit: str) -> bool:
        if self.departments is None and self.grid_units is None:
            return True
        return department in (self.departments or ()) or unit in (self.grid_units or ())


@dataclass(frozen=True, slots=True)
class PlanSlot:
    """One slot of one site. ``day`` is 0 (Monday) to 6 in the site's own calendar and ``minute``
    the local wall-clock start (minutes after midnight): the planner compares weekdays and times
    across weeks with them, so it never converts time zones itself."""

    id: int
    site_code: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    day: int
    minute: int
    length: int


class PreviousAppointment(NamedTuple):
    """Last week's appointment of a person, as the person remembers it: weekday, time and site."""

    person_id: int
    weekday: int
    minute: int
    site_code: str


class FixedAppointment(NamedTuple):
    """An appointment this week the planner must not move (done, missed, excused, started, or
    booked by hand). ``counts`` says whether it counts toward the person's weekly tests (an extra
    test for a positive case's contact does not). ``slot_id`` is None when the slot is not among
    the planned slots; it then only blocks its day for the person."""

    person_id: int
    day: int
    slot_id: int | None = None
    counts: bool = True
    unit: str = ""  # the grid unit it was booked for, when the person is not being planned


class CurrentAppointment(NamedTuple):
    """A still-movable appointment already planned this week; re-planning keeps it if it can."""

    person_id: int
    slot_id: int


class Assignment(NamedTuple):
    person_id: int
    slot_id: int


@dataclass(frozen=True, slots=True)
class Unscheduled:
    person_id: int
    employee_no: str
    reason: str
    missing: int


@dataclass
class PlanResult:
    """New appointments (``assignments``), the tests that could not be placed, and the report."""

    assignments: list[Assignment]
    unscheduled: list[Unscheduled]
    report: dict[str, Any] = field(default_factory=dict)

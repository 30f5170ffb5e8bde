"""Plain facts the pure compliance functions work on, copied out of the database by the shell.

Statuses and results are the members of :mod:`testrota.statuses`; a row read back holds the
plain string, which compares equal to its member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from testrota.statuses import AppointmentReason, AppointmentStatus, PersonType, ResultValue

if TYPE_CHECKING:
    from testrota.compliance.rates import RateLookup


@dataclass(frozen=True)
class PersonFacts:
    id: int
    employee_no: str
    name: str
    department: str = ""
    grid_unit: str = ""
    role: str = ""
    category: str | None = None  # effective high-risk category code, None = not high-risk
    phone: str | None = None
    active: bool = True
    person_type: str = PersonType.EMPLOYEE
    # tests a week their category asks (risk_categories.yaml); None: the policy's tests_per_week
    weekly_tests: int | None = None

    @property
    def unit(self) -> str:
        """The grid unit a person belongs to; the department stands in when it is empty."""
        return self.grid_unit or self.department


@dataclass(frozen=True)
class AppointmentFacts:
    id: int
    person_id: int
    starts_at: datetime
    ends_at: datetime
    status: str = AppointmentStatus.SCHEDULED
    site_code: str = ""
    week: str = ""
    reason: str = AppointmentReason.PLAN


@dataclass(frozen=True)
class Tally:
    """A person's appointments of a week (cancelled ones left out), counted as their week
    needs them: ``compliance.weekly.tally`` in Python, ``compliance.tallies.appointment_tallies``
    in SQL for many people at once (``tests/test_weekly_tally.py`` holds the two equal)."""

    scheduled: int = 0
    done: int = 0
    missed: int = 0
    excused: int = 0
    excused_planned: int = 0  # excused, and not a contact's booking: taken off the requirement
    contact: int = 0  # a contact's booking, not excused: added to it

    @property
    def planned(self) -> int:
        """Kept, not a contact's: what a person asked nothing by the policy still owes."""
        return self.scheduled - self.excused - self.contact


NO_APPOINTMENTS = Tally()  # the tally of a person with no appointment in the week


@dataclass(frozen=True)
class Sample:
    """One test sample: a check-in or a lab/outside result."""

    person_id: int
    sampled_at: datetime
    result: str = ResultValue.PENDING
    source: str = "checkin"
    site_code: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class ExemptionFacts:
    person_id: int
    start_date: date
    end_date: date  # inclusive


def counts_as_test(result: str) -> bool:
    """An invalid sample has to be taken again, so it does not count as the week's test."""
    return result != ResultValue.INVALID


# Rows to facts: here, beside the facts and away from the models, so that the CLI's lean
# readers (``missed_rows``) and the ORM readers (``facts``) build them the same way.
def person_facts_row(row: Any, rates: RateLookup | None = None, prefix: str = "") -> PersonFacts:
    """From a row selected with ``facts.PERSON_COLUMNS`` or its lean twin (cheaper than
    loading ORM objects); ``prefix`` when the person's columns were labelled ``p_name``."""

    def prefixed(name: str) -> Any:
        return getattr(row, prefix + name)

    # A plan's commit reads 300,000 people: getattr bound once, not a closure and a
    # concatenation for each of their columns.
    get = prefixed if prefix else partial(getattr, row)

    category = get("category")
    return PersonFacts(
        id=row.person_id if prefix else row.id,
        employee_no=get("employee_no"),
        name=get("name"),
        department=get("department"),
        grid_unit=get("grid_unit"),
        role=get("role"),
        category=category,
        phone=get("phone"),
        active=get("active"),
        person_type=get("person_type"),
        weekly_tests=rates(category) if rates and category else None,
    )


def appointment_facts(a: Any) -> AppointmentFacts:
    return AppointmentFacts(
        id=a.id,
        person_id=a.person_id,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        status=a.status,
        site_code=a.site_code,
        week=a.week,
        reason=a.reason,
    )

"""Plain facts the pure compliance functions work on, copied out of the database by the shell."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

# Appointment statuses (Appointment.status).
SCHEDULED = "scheduled"
DONE = "done"
MISSED = "missed"
EXCUSED = "excused"
CANCELLED = "cancelled"

# Test results (TestResult.result).
PENDING = "pending"
NEGATIVE = "negative"
POSITIVE = "positive"
INVALID = "invalid"
RESULTS = (PENDING, NEGATIVE, POSITIVE, INVALID)


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
    person_type: str = "employee"
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
    status: str = SCHEDULED
    site_code: str = ""
    week: str = ""
    reason: str = "plan"


@dataclass(frozen=True)
class Sample:
    """One test sample: a check-in or a lab/outside result."""

    person_id: int
    sampled_at: datetime
    result: str = PENDING
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
    return result != INVALID

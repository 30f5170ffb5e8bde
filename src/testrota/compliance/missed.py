"""Which appointments are done and which are missed: pure decisions over plain facts.

An appointment is *done* when the person has a counting sample (any source, any site) on the
appointment's local calendar day, and *missed* when its slot ended more than
``policy.testing.grace_hours`` ago with no such sample. Excused and cancelled appointments are
never touched. A slot that crosses midnight belongs to both local days it touches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from testrota.compliance.records import AppointmentFacts, Sample, counts_as_test
from testrota.policy import Policy
from testrota.statuses import AppointmentStatus
from testrota.weeks import local_date, local_days

DaysTested = Mapping[tuple[int, date], datetime]


@dataclass
class DueDecisions:
    done: list[tuple[int, datetime]] = field(default_factory=list)  # (appointment id, sampled at)
    missed: list[int] = field(default_factory=list)


def days_tested(samples: Iterable[Sample], tz: ZoneInfo) -> dict[tuple[int, date], datetime]:
    """The earliest counting sample of each (person, local day)."""
    days: dict[tuple[int, date], datetime] = {}
    for s in samples:
        if not counts_as_test(s.result):
            continue
        key = (s.person_id, local_date(s.sampled_at, tz))
        if key not in days or s.sampled_at < days[key]:
            days[key] = s.sampled_at
    return days


def grace(policy: Policy) -> timedelta:
    return timedelta(hours=policy.testing.grace_hours)


def is_overdue(ends_at: datetime, now: datetime, policy: Policy) -> bool:
    """True once the slot ended *more than* the grace period ago (at exactly the limit: not yet)."""
    return now - ends_at > grace(policy)


def sample_on_day(appt: AppointmentFacts, tested: DaysTested, tz: ZoneInfo) -> datetime | None:
    """The sample that makes ``appt`` done, if the person tested on its local day."""
    for day in local_days(appt.starts_at, appt.ends_at, tz):
        at = tested.get((appt.person_id, day))
        if at is not None:
            return at
    return None


def decide_due(
    appointments: Iterable[AppointmentFacts],
    tested: DaysTested,
    now: datetime,
    policy: Policy,
) -> DueDecisions:
    """Decide the appointments whose outcome is known at ``now``.

    Args:
        appointments: candidates; only ``scheduled`` ones (and ``missed`` ones, which become done
            when a late result for that day arrives) are decided, the rest are ignored.
        tested: earliest counting sample per (person id, local day), from :func:`days_tested`.
        now: the current instant (aware).
        policy: gives the time zone and the grace period.
    """
    tz = policy.tz
    out = DueDecisions()
    for appt in appointments:
        if appt.status not in (AppointmentStatus.SCHEDULED, AppointmentStatus.MISSED):
            continue
        sampled = sample_on_day(appt, tested, tz)
        if sampled is not None:
            out.done.append((appt.id, sampled))
        elif appt.status == AppointmentStatus.SCHEDULED and is_overdue(appt.ends_at, now, policy):
            out.missed.append(appt.id)
    return out

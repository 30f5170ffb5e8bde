"""Check-in rules: was the person expected now, and is this a repeat of a check-in? Pure.

A person is *expected* when they have an appointment (not cancelled or excused) at this site
whose slot runs now, or starts within ``checkin_early_minutes`` (people queue early) on the same
local day. The *visit* is that slot; for a walk-in it is the site's slot running now, and with
no slot at all it is ``checkin_repeat_minutes`` either side, each kept to the local day. A
second check-in inside the same visit records nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from testrota.compliance.records import AppointmentFacts, Sample
from testrota.policy import Policy
from testrota.statuses import AppointmentStatus
from testrota.weeks import day_bounds, day_start, local_date

# Appointments nobody is expected at any more.
SET_ASIDE = (AppointmentStatus.CANCELLED, AppointmentStatus.EXCUSED)


@dataclass(frozen=True)
class Visit:
    start: datetime
    end: datetime
    appointment: AppointmentFacts | None  # the appointment the person was expected for
    slot_known: bool  # False: a walk-in with no slot, the window is the repeat window


def _opens(appt: AppointmentFacts, policy: Policy) -> datetime:
    """When check-in for ``appt`` opens: ``checkin_early_minutes`` before it starts, but not
    before its local day does. A sample counts on its own local day, so one taken before
    midnight for a slot at 00:00 would make the day before done and leave the slot missed."""
    early = appt.starts_at - timedelta(minutes=policy.testing.checkin_early_minutes)
    return max(early, day_start(local_date(appt.starts_at, policy.tz), policy.tz))


def _within_day(
    start: datetime, end: datetime, at: datetime, policy: Policy, *, slot_known: bool
) -> Visit:
    """A walk-in's visit, ``start`` to ``end`` kept to the local day of ``at`` (a sample
    after midnight is the next day's test, never a repeat of the day before's)."""
    day_opens, day_ends = day_bounds(local_date(at, policy.tz), policy.tz)
    return Visit(max(start, day_opens), min(end, day_ends), None, slot_known)


def expected_appointment(
    at: datetime,
    site_code: str | None,
    appointments: Iterable[AppointmentFacts],
    policy: Policy,
) -> AppointmentFacts | None:
    """The person's appointment that ``at`` belongs to, at ``site_code`` (any site when None)."""
    for appt in sorted(appointments, key=lambda a: a.starts_at):
        if appt.status in SET_ASIDE:
            continue
        if site_code and appt.site_code != site_code:
            continue
        if _opens(appt, policy) <= at < appt.ends_at:
            return appt
    return None


def visit_for(
    at: datetime,
    appointment: AppointmentFacts | None,
    site_slots: Iterable[tuple[datetime, datetime]],
    policy: Policy,
) -> Visit:
    """The window a check-in at ``at`` belongs to (see the module's rules)."""
    if appointment is not None:
        return Visit(_opens(appointment, policy), appointment.ends_at, appointment, True)
    for start, end in sorted(site_slots):
        if start <= at < end:
            return _within_day(start, end, at, policy, slot_known=True)
    repeat = timedelta(minutes=policy.testing.checkin_repeat_minutes)
    return _within_day(at - repeat, at + repeat, at, policy, slot_known=False)


def earlier_checkin(visit: Visit, checkins: Iterable[Sample]) -> Sample | None:
    """A check-in already recorded inside ``visit``, if any (the earliest)."""
    inside = [s for s in checkins if visit.start <= s.sampled_at < visit.end]
    return min(inside, key=lambda s: s.sampled_at) if inside else None


def next_appointment(
    at: datetime, appointments: Iterable[AppointmentFacts]
) -> AppointmentFacts | None:
    """The person's next appointment still to come (to tell them when to come): one already
    done by a sample earlier in its day is behind them."""
    upcoming = [
        a for a in appointments if a.ends_at > at and a.status == AppointmentStatus.SCHEDULED
    ]
    return min(upcoming, key=lambda a: a.starts_at) if upcoming else None

"""Check-in rules: was the person expected now, and is this a repeat of a check-in? Pure.

A person is *expected* when they have an appointment (not cancelled or excused) at this site
whose slot runs now, or starts within ``checkin_early_minutes`` (people queue early). The *visit*
is that slot; for a walk-in it is the site's slot running now, and with no slot at all it is
``checkin_repeat_minutes`` either side. A second check-in inside the same visit records nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from testrota.compliance.records import AppointmentFacts, Sample
from testrota.policy import Policy
from testrota.statuses import AppointmentStatus

# Appointments nobody is expected at any more.
SET_ASIDE = (AppointmentStatus.CANCELLED, AppointmentStatus.EXCUSED)


@dataclass(frozen=True)
class Visit:
    start: datetime
    end: datetime
    appointment: AppointmentFacts | None  # the appointment the person was expected for
    slot_known: bool  # False: a walk-in with no slot, the window is the repeat window


def expected_appointment(
    at: datetime,
    site_code: str | None,
    appointments: Iterable[AppointmentFacts],
    policy: Policy,
) -> AppointmentFacts | None:
    """The person's appointment that ``at`` belongs to, at ``site_code`` (any site when None)."""
    early = timedelta(minutes=policy.testing.checkin_early_minutes)
    for appt in sorted(appointments, key=lambda a: a.starts_at):
        if appt.status in SET_ASIDE:
            continue
        if site_code and appt.site_code != site_code:
            continue
        if appt.starts_at - early <= at < appt.ends_at:
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
        early = timedelta(minutes=policy.testing.checkin_early_minutes)
        return Visit(appointment.starts_at - early, appointment.ends_at, appointment, True)
    for start, end in sorted(site_slots):
        if start <= at < end:
            return Visit(start, end, None, True)
    repeat = timedelta(minutes=policy.testing.checkin_repeat_minutes)
    return Visit(at - repeat, at + repeat, None, False)


def earlier_checkin(visit: Visit, checkins: Iterable[Sample]) -> Sample | None:
    """A check-in already recorded inside ``visit``, if any (the earliest)."""
    inside = [s for s in checkins if visit.start <= s.sampled_at < visit.end]
    return min(inside, key=lambda s: s.sampled_at) if inside else None


def next_appointment(
    at: datetime, appointments: Iterable[AppointmentFacts]
) -> AppointmentFacts | None:
    """The person's next appointment that has not ended yet (to tell them when to come)."""
    upcoming = [a for a in appointments if a.ends_at > at and a.status not in SET_ASIDE]
    return min(upcoming, key=lambda a: a.starts_at) if upcoming else None

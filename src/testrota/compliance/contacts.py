"""Who to look at after a positive result (动态清零): pure over plain facts.

Two kinds of contact: everyone active in the case's grid unit (the department stands in for an
empty grid unit; units are the seed's "minimum unit", the people who work together), and everyone
sampled at the same site in the same slot that day (they queued together).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from testrota.compliance.records import PersonFacts, Sample
from testrota.statuses import ContactReason
from testrota.weeks import day_bounds, local_date

GRID_UNIT = ContactReason.GRID_UNIT
SAME_SLOT = ContactReason.SAME_SLOT


@dataclass(frozen=True)
class Contact:
    person_id: int
    reasons: tuple[ContactReason, ...]  # every rule that made them a contact, grid unit first

    @property
    def reason(self) -> ContactReason:
        """The reason stored (one per contact, an enumerated value): the grid unit when both
        rules apply, since working together outlasts one queue."""
        return self.reasons[0]


def slot_window(
    sampled_at: datetime,
    slots: Iterable[tuple[datetime, datetime]],
    tz: ZoneInfo,
    fallback: timedelta = timedelta(minutes=30),
) -> tuple[datetime, datetime]:
    """The slot ``[start, end)`` the sample was taken in.

    Args:
        sampled_at: when the positive sample was taken.
        slots: the site's slots (start, end) around that time, from the schedule.
        tz: the sites' zone; a window without a slot never leaves the sample's local day.
        fallback: half-width of the window used when no slot contains the sample (a walk-in).
    """
    for start, end in sorted(slots):
        if start <= sampled_at < end:
            return start, end
    day_start, day_end = day_bounds(local_date(sampled_at, tz), tz)
    return max(sampled_at - fallback, day_start), min(sampled_at + fallback, day_end)


def find_contacts(
    case: PersonFacts,
    sample: Sample,
    unit_members: Iterable[PersonFacts],
    site_samples: Iterable[Sample],
    window: tuple[datetime, datetime] | None,
) -> list[Contact]:
    """The contacts of one positive sample, ordered by person id.

    Args:
        case: the person who tested positive.
        sample: the positive sample.
        unit_members: candidates for the grid-unit rule (people of the case's unit; others and
            inactive people are ignored).
        site_samples: samples taken around that time (only those at the sample's site inside
            ``window`` count).
        window: the slot of the positive sample, from :func:`slot_window`; None when the sample
            has no site (an outside booth), so there is no same-slot rule.
    """
    reasons: dict[int, list[ContactReason]] = {}
    unit = case.unit
    if unit:
        for p in unit_members:
            if p.id != case.id and p.active and p.unit == unit:
                reasons.setdefault(p.id, []).append(GRID_UNIT)
    if window is not None and sample.site_code:
        start, end = window
        for s in site_samples:
            if (
                s.person_id != case.id
                and s.site_code == sample.site_code
                and start <= s.sampled_at < end
            ):
                got = reasons.setdefault(s.person_id, [])
                if SAME_SLOT not in got:
                    got.append(SAME_SLOT)
    return [Contact(pid, tuple(r)) for pid, r in sorted(reasons.items())]

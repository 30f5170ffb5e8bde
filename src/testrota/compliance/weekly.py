"""Weekly compliance: tests taken in an ISO week against tests required, per person and group.

A person's *tests* in a week are the distinct local days with a counting sample (a check-in and
the lab result of the same swab count once). A person who missed a slot but tested on another day
of the week is compliant for the week; both facts are kept (``missed`` and ``compliant``).

*Required* follows the policy day by day, as the planner counts it, so a surge or an exemption
that covers part of a week counts for that part only: each day not exempt contributes
``rate / 7`` (the surge rate when a surge rule covers the person that day and asks for more, else
their category's tests a week from ``risk_categories.yaml``, 0 for a person not high-risk), the
sum is rounded up, excused planned appointments are taken off it, and a contact's extra
appointments (reason ``contact``) are added to it.

A person of whom the policy asks nothing now (a leaver, or someone no longer high-risk) is
counted only for what was asked of them: the planned appointments they kept, those before the
change (the later ones were released, see ``scheduling.release``). With nothing required, a
person is not in a group's ``people`` and not on the missed list.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from testrota.compliance.records import AppointmentFacts, ExemptionFacts, PersonFacts, Tally
from testrota.policy import Policy, SurgeRule
from testrota.statuses import AppointmentReason, AppointmentStatus
from testrota.weeks import IsoWeek, local_date

CANCELLED, DONE, EXCUSED, MISSED = (
    AppointmentStatus.CANCELLED,
    AppointmentStatus.DONE,
    AppointmentStatus.EXCUSED,
    AppointmentStatus.MISSED,
)
CONTACT_REASON = AppointmentReason.CONTACT


def surge_applies(rule: SurgeRule, person: PersonFacts, day: date) -> bool:
    if not rule.start <= day <= rule.end:
        return False
    if rule.all_staff:
        return True
    return (
        (bool(rule.departments) and person.department in rule.departments)
        or (bool(rule.grid_units) and person.unit in rule.grid_units)
        or (bool(rule.categories) and person.category in rule.categories)
    )


def base_rate(person: PersonFacts, policy: Policy) -> int:
    """Tests a week the person's category asks (0 for a person not high-risk)."""
    if not person.category:
        return 0
    rate = (
        person.weekly_tests if person.weekly_tests is not None else (policy.testing.tests_per_week)
    )
    return min(max(rate, 0), 7)


def daily_rate(person: PersonFacts, day: date, policy: Policy) -> int:
    """Tests per week that apply to ``person`` on ``day``: the surge rate when a surge rule
    covers them that day and asks for more, else their category's (at most 7: one a day)."""
    surges = [r.tests_per_week for r in policy.testing.surge if surge_applies(r, person, day)]
    return min(max([base_rate(person, policy), *surges]), 7)


def policy_required(
    person: PersonFacts,
    week: IsoWeek,
    policy: Policy,
    exemptions: Iterable[ExemptionFacts] = (),
) -> int:
    """Tests the policy asks of ``person`` in ``week``, before excuses and contact bookings."""
    if not person.active:
        return 0
    exempt = [(e.start_date, e.end_date) for e in exemptions if e.person_id == person.id]
    if not exempt and not policy.testing.surge:
        return base_rate(person, policy)
    total = days = 0
    for day in week.days:
        if any(start <= day <= end for start, end in exempt):
            continue
        total += daily_rate(person, day, policy)
        days += 1
    # Rounded up (three surge days at 7/week need three tests, not 2.99), and never more tests
    # than days left: the planner books at most one a day. The planner counts the same way.
    return min(math.ceil(total / 7 - 1e-9), days)


@dataclass(frozen=True)
class PersonWeek:
    person_id: int
    week: IsoWeek
    required: int
    tests: int
    scheduled: int
    done: int
    missed: int
    excused: int
    test_days: tuple[date, ...] = ()
    asked: int = 0  # what the policy asks, before excuses and a contact's bookings

    @property
    def compliant(self) -> bool:
        return self.tests >= self.required

    @property
    def credited(self) -> int:
        """Tests that count towards the requirement (extra tests do not make up for others)."""
        return min(self.tests, self.required)


def tally(
    person_id: int,
    appointments: Iterable[AppointmentFacts],
    exemptions: Iterable[ExemptionFacts] = (),
    tz: ZoneInfo | None = None,
) -> Tally:
    """The :class:`Tally` of ``person_id``'s appointments among ``appointments``. One excused
    on a local day (in ``tz``) of one of their ``exemptions`` is not taken off what is asked:
    :func:`policy_required` leaves those days out already."""
    mine = [a for a in appointments if a.person_id == person_id and a.status != CANCELLED]
    exempt = [(e.start_date, e.end_date) for e in exemptions if e.person_id == person_id]

    def on_exempt_day(a: AppointmentFacts) -> bool:
        if not exempt or tz is None:
            return False
        day = local_date(a.starts_at, tz)
        return any(start <= day <= end for start, end in exempt)

    return Tally(
        scheduled=len(mine),
        done=sum(1 for a in mine if a.status == DONE),
        missed=sum(1 for a in mine if a.status == MISSED),
        excused=sum(1 for a in mine if a.status == EXCUSED),
        excused_planned=sum(
            1
            for a in mine
            if a.status == EXCUSED and a.reason != CONTACT_REASON and not on_exempt_day(a)
        ),
        contact=sum(1 for a in mine if a.status != EXCUSED and a.reason == CONTACT_REASON),
    )


def person_week(
    person: PersonFacts,
    week: IsoWeek,
    policy: Policy,
    appointments: Iterable[AppointmentFacts],
    test_days: Collection[date],
    exemptions: Iterable[ExemptionFacts] = (),
) -> PersonWeek:
    """One person's week.

    Args:
        person: the person.
        week: the ISO week.
        policy: tests per week, surge rules.
        appointments: this person's appointments in ``week`` (others are ignored).
        test_days: local days on which this person had a counting sample (others are ignored).
        exemptions: this person's exemptions (others are ignored).
    """
    exemptions = list(exemptions)
    counted = tally(person.id, appointments, exemptions, policy.tz)
    return person_week_of(person, week, policy, counted, test_days, exemptions)


def person_week_of(
    person: PersonFacts,
    week: IsoWeek,
    policy: Policy,
    counted: Tally,
    test_days: Collection[date],
    exemptions: Iterable[ExemptionFacts] = (),
) -> PersonWeek:
    """One person's week from the :class:`Tally` of their appointments in it (see
    :func:`person_week`)."""
    asked = policy_required(person, week, policy, exemptions)
    return week_of_asked(person.id, week, asked, counted, test_days)


def week_of_asked(
    person_id: int, week: IsoWeek, asked: int, counted: Tally, test_days: Collection[date]
) -> PersonWeek:
    """One person's week from what the policy asks of them (:func:`policy_required`), which
    depends on their facts and exemptions only. The weekly roll-up keeps ``asked`` in its rows
    and recounts a week whose appointments or samples alone changed with these lines in SQL
    (``org.weekly.recount_in_place``, held equal to this by ``tests/test_rollup.py``)."""
    required = max(asked - counted.excused_planned, 0) if asked else counted.planned
    tested: tuple[date, ...] = ()
    if test_days:  # most people of a week being planned have none yet: no days to build
        monday = week.monday
        sunday = monday + timedelta(days=6)
        tested = tuple(sorted(d for d in test_days if monday <= d <= sunday))
    return PersonWeek(
        person_id=person_id,
        week=week,
        required=required + counted.contact,
        tests=len(tested),
        scheduled=counted.scheduled,
        done=counted.done,
        missed=counted.missed,
        excused=counted.excused,
        test_days=tested,
        asked=asked,
    )


def weeks_missed_in_row(weeks_back: Collection[int]) -> int:
    """Consecutive weeks, ending with the week asked about, in which the person missed at
    least one slot; ``weeks_back``: how many weeks before it each such week is (0: itself)."""
    count = 0
    while count in weeks_back:
        count += 1
    return count


@dataclass(frozen=True)
class TrendPoint:
    week: str
    rate: float | None  # None: nothing was required, or nothing booked or taken, that week
    missed: int


@dataclass
class GroupCompliance:
    department: str
    grid_unit: str | None  # None for a department row
    people: int = 0
    required: int = 0
    scheduled: int = 0
    done: int = 0
    missed: int = 0
    excused: int = 0
    tests: int = 0  # credited tests: at most ``required`` per person
    compliant_people: int = 0
    trend: list[TrendPoint] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        """Share of required tests taken; None when nothing was required."""
        return round(self.tests / self.required, 4) if self.required else None

    @property
    def has_data(self) -> bool:
        """Whether the week has anything to judge by: an appointment booked or a test taken.
        A week before testrota was in use, or not planned yet, has neither; its rate would
        read 0 % though nobody was asked to come, so a trend leaves it empty."""
        return bool(self.scheduled or self.tests)

    def add(self, pw: PersonWeek) -> None:
        if pw.required == 0:
            return  # nothing was asked of them this week
        self.people += 1
        self.required += pw.required
        self.scheduled += pw.scheduled
        self.done += pw.done
        self.missed += pw.missed
        self.excused += pw.excused
        self.tests += pw.credited
        if pw.required and pw.compliant:
            self.compliant_people += 1

    def add_group(self, g: GroupCompliance) -> None:
        """Add another group's figures (its trend is not added)."""
        self.people += g.people
        self.required += g.required
        self.scheduled += g.scheduled
        self.done += g.done
        self.missed += g.missed
        self.excused += g.excused
        self.tests += g.tests
        self.compliant_people += g.compliant_people


GroupKey = tuple[str, str | None]


def rollup(
    entries: Iterable[tuple[PersonFacts, PersonWeek]], by_grid_unit: bool
) -> dict[GroupKey, GroupCompliance]:
    """Sum person-weeks per department, or per (department, grid unit) when ``by_grid_unit``."""
    groups: dict[GroupKey, GroupCompliance] = {}
    for person, pw in entries:
        key: GroupKey = (person.department, person.unit if by_grid_unit else None)
        group = groups.get(key)
        if group is None:
            group = groups[key] = GroupCompliance(department=key[0], grid_unit=key[1])
        group.add(pw)
    return {k: g for k, g in groups.items() if g.people}


def total(groups: Iterable[GroupCompliance]) -> GroupCompliance:
    out = GroupCompliance(department="", grid_unit=None)
    for g in groups:
        out.add_group(g)
    return out


def attach_trend(
    current: dict[GroupKey, GroupCompliance],
    history: Sequence[tuple[IsoWeek, dict[GroupKey, GroupCompliance]]],
) -> None:
    """Give each current group its rate in each week of ``history`` (oldest first)."""
    for key, group in current.items():
        group.trend = []
        for week, groups in history:
            past = groups.get(key)
            rate = past.rate if past is not None and past.has_data else None
            group.trend.append(TrendPoint(str(week), rate, past.missed if past else 0))

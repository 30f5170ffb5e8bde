"""The simulated week's ground truth: what the driver did, and what must follow from it. Pure.

The driver records every act of the simulated people and staff (who tested when and where,
who was excused, opted out or left the company) and every appointment the system booked, each
at a :class:`Moment`: a step of the simulated clock and whether it happened before the
workers' round at that step (``pre``) or while it ran (``round``). From those facts alone this
module derives what the system must have done: which texts had to go out and which must not,
who missed which test, the week's compliance figures, and each positive case's contacts.

The rules are the domain's, written down again here rather than read from the code under test:
a test counts for its local calendar day; an appointment is missed once its slot ended more
than the grace period ago with no test that day; a reminder goes to a person still scheduled,
active and not opted out, never after its slot started and never in quiet hours; a positive
result exempts its case from the sample's local day for ``alerts.positive_exempt_days`` days,
from the moment the result is imported: their appointments of those days not done by then are
excused (their reminders not sent after that), less is asked of their week, and nothing is
booked for them on those days. Only the quiet hours and the reminders' timetable are written
once more in :mod:`tests.sim_rules`, from the README, never imported from the code under test.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from testrota.policy import Policy
from tests.sim_rules import after_quiet, is_quiet, reminder_dedupe_key, reminder_timetable

PRE: Literal["pre"] = "pre"
ROUND: Literal["round"] = "round"
Phase = Literal["pre", "round"]

# What the driver does with an appointment of the simulated week.
WEB = "web"  # checked in through the web app at the slot
LAB = "lab"  # sampled at the slot, known only from a lab sheet imported later
EARLY = "early"  # checked in earlier the same day, before the last reminder was due
UNTESTED = "untested"  # never tested: the missed list must name exactly these
EXCUSED = "excused"  # excused the day before (a supervisor, through the web API)
NONE = "none"  # outside the simulated week: left alone


@dataclass(frozen=True, order=True)
class Moment:
    """When the driver saw or did something: a step, before (``pre``) or during its round."""

    step: int
    phase: Phase = PRE

    def precedes_round(self, k: int) -> bool | None:
        """Certainly before the workers' round ``k`` (True), certainly not (False), or racing
        with it (None: it happened while that round ran)."""
        if self.step < k:
            return True
        if self.step > k:
            return False
        return True if self.phase == PRE else None


@dataclass
class PersonTruth:
    id: int
    employee_no: str
    phone: str | None
    department: str
    grid_unit: str
    category: str | None  # effective high-risk category, None when not high-risk
    weekly_tests: int  # tests a week the category asks (0 when not high-risk)
    deactivated: Moment | None = None
    stopped: Moment | None = None  # replied STOP
    refuses: bool = False  # the provider answers 21610 for this number from the start

    @property
    def unit(self) -> str:
        return self.grid_unit or self.department


@dataclass
class ApptTruth:
    id: int
    person_id: int
    starts_at: datetime
    ends_at: datetime
    site: str
    week: str
    reason: str
    tz: tzinfo
    created: Moment
    action: str = NONE
    cancelled: Moment | None = None
    excused: Moment | None = None

    def local_days(self) -> list[date]:
        first = self.starts_at.astimezone(self.tz).date()
        last = (self.ends_at - timedelta(microseconds=1)).astimezone(self.tz).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class Exemption:
    """A case exempt on ``first``..``last`` (local days, both included) from ``since`` on."""

    person_id: int
    first: date
    last: date
    since: Moment


@dataclass(frozen=True)
class SampleTruth:
    person_id: int
    at: datetime
    site: str | None
    source: str  # checkin | lab
    result: str  # pending | negative | positive
    recorded: Moment


@dataclass
class World:
    """Everything the driver knows, in plain data."""

    steps: list[datetime]
    policy: Policy
    week: str
    week_start: datetime  # local Monday 00:00 of the simulated week, as UTC
    week_end: datetime
    people: dict[int, PersonTruth] = field(default_factory=dict)
    appts: dict[int, ApptTruth] = field(default_factory=dict)
    samples: list[SampleTruth] = field(default_factory=list)  # only ever appended to
    # exemptions() keyed by how many samples it was derived from (read for every appointment)
    _exempt_cache: tuple[int, dict[int, list[Exemption]]] | None = field(
        default=None, repr=False, compare=False
    )

    # ------------------------------------------------------------------ the clock
    def step_at_or_after(self, at: datetime) -> int | None:
        k = bisect.bisect_left(self.steps, at)
        return k if k < len(self.steps) else None

    @property
    def end(self) -> datetime:
        return self.steps[-1]

    # ------------------------------------------------------------------ derived facts
    def tested_days(self) -> dict[tuple[int, date], Moment]:
        """The first moment each (person, local day) had a counting test recorded."""
        tz = self.policy.tz
        out: dict[tuple[int, date], Moment] = {}
        for s in self.samples:
            if s.result == "invalid":
                continue
            key = (s.person_id, s.at.astimezone(tz).date())
            if key not in out or s.recorded < out[key]:
                out[key] = s.recorded
        return out

    def done_moment(self, appt: ApptTruth, tested: dict[tuple[int, date], Moment]) -> Moment | None:
        found = [
            tested[(appt.person_id, d)] for d in appt.local_days() if (appt.person_id, d) in tested
        ]
        return min(found) if found else None

    def grace(self) -> timedelta:
        return timedelta(hours=self.policy.testing.grace_hours)

    def flag_step(self, appt: ApptTruth) -> int | None:
        """The first step at which the slot ended more than the grace period ago."""
        k = bisect.bisect_right(self.steps, appt.ends_at + self.grace())
        return k if k < len(self.steps) else None

    # ------------------------------------------------------------------ positive exemptions
    def exemptions(self) -> dict[int, list[Exemption]]:
        """Each person's exemptions by a positive result: from the sample's local day (the
        policy's zone) for ``alerts.positive_exempt_days`` days, from the moment the result
        was recorded. A second positive of a case adds nothing the first did not cover."""
        cached = self._exempt_cache
        if cached is not None and cached[0] == len(self.samples):
            return cached[1]
        count = len(self.samples)
        days = self.policy.alerts.positive_exempt_days
        out: dict[int, list[Exemption]] = defaultdict(list)
        if days > 0:
            tz = self.policy.tz
            for s in self.samples[:count]:
                if s.result != "positive":
                    continue
                first = s.at.astimezone(tz).date()
                out[s.person_id].append(
                    Exemption(s.person_id, first, first + timedelta(days=days - 1), s.recorded)
                )
        self._exempt_cache = (count, dict(out))
        return self._exempt_cache[1]

    def exempt_day(self, person_id: int, day: date) -> bool:
        """Whether the person is exempt on ``day`` by the end of the run."""
        return any(e.first <= day <= e.last for e in self.exemptions().get(person_id, ()))

    def exempted(self, appt: ApptTruth) -> Moment | None:
        """When a positive result first exempted the appointment's day (its start's local day,
        the policy's zone), for an appointment booked by then; None if none did."""
        day = appt.starts_at.astimezone(self.policy.tz).date()
        found = [
            e.since
            for e in self.exemptions().get(appt.person_id, ())
            if e.first <= day <= e.last and not e.since < appt.created
        ]
        return min(found) if found else None

    def booked_while_exempt(self) -> list[ApptTruth]:
        """Appointments booked on a day their person was already exempt: none may be."""
        out = []
        for appt in self.appts.values():
            day = appt.starts_at.astimezone(self.policy.tz).date()
            if any(
                e.first <= day <= e.last and e.since < appt.created
                for e in self.exemptions().get(appt.person_id, ())
            ):
                out.append(appt)
        return out

    def excused_moment(
        self, appt: ApptTruth, tested: dict[tuple[int, date], Moment]
    ) -> Moment | None:
        """When the appointment was excused: by a supervisor, or by its person's positive result
        if, when that was recorded, it was neither cancelled nor done (a test recorded in the
        same import, the positive sample itself, is done first). A missed one is excused too:
        an exemption excuses whatever is not done."""
        if appt.excused is not None:
            return appt.excused
        since = self.exempted(appt)
        if since is None:
            return None
        if appt.cancelled is not None and appt.cancelled <= since:
            return None
        done = self.done_moment(appt, tested)
        if done is not None and done <= since:
            return None
        return since

    def final_status(self, appt: ApptTruth, tested: dict[tuple[int, date], Moment]) -> str:
        """The status the appointment must have at the end of the run."""
        if appt.cancelled is not None:
            return "cancelled"
        if self.excused_moment(appt, tested) is not None:
            return "excused"
        if self.done_moment(appt, tested) is not None:
            return "done"
        if self.flag_step(appt) is not None:
            return "missed"
        return "scheduled"

    def flagged_step(self, appt: ApptTruth, tested: dict[tuple[int, date], Moment]) -> int | None:
        """The round the appointment was flagged missed in, if it ever was: missed at the end,
        or excused by an exemption that came after that round."""
        status = self.final_status(appt, tested)
        k = self.flag_step(appt)
        if status == "missed":
            return k
        if status != "excused" or k is None or appt.excused is not None:
            return None
        since = self.excused_moment(appt, tested)
        return k if since is not None and since.precedes_round(k) is False else None

    def in_week(self, appt: ApptTruth) -> bool:
        return self.week_start <= appt.starts_at < self.week_end


# ---------------------------------------------------------------- texts


@dataclass
class Expectation:
    """Texts that must go out (``must``), may or may not (``maybe``: raced with a round) and
    must not (``never``, with the reason), by outbox key."""

    must: dict[str, int] = field(default_factory=dict)  # key -> the round it is due in
    maybe: set[str] = field(default_factory=set)
    never: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, k: int, blockers: Iterable[tuple[str, bool | None]]) -> None:
        ambiguous = False
        for reason, before in blockers:
            if before is True:
                self.never[key] = reason
                return
            if before is None:
                ambiguous = True
        if ambiguous:
            self.maybe.add(key)
        else:
            self.must[key] = k


def _person_blockers(
    world: World, person: PersonTruth, k: int, phone_owners: dict[str, list[PersonTruth]]
) -> list[tuple[str, bool | None]]:
    out: list[tuple[str, bool | None]] = []
    if person.deactivated is not None:
        out.append(("left the roster", person.deactivated.precedes_round(k)))
    # An opt-out is per phone number: everyone who shares the number stops getting texts.
    for owner in phone_owners.get(person.phone or "", [person]):
        if owner.stopped is not None:
            out.append(("replied STOP", owner.stopped.precedes_round(k)))
        if owner.refuses:
            out.append(("the provider refuses the number (21610)", True))
    return out


def _phone_owners(world: World) -> dict[str, list[PersonTruth]]:
    owners: dict[str, list[PersonTruth]] = defaultdict(list)
    for p in world.people.values():
        if p.phone:
            owners[p.phone].append(p)
    return owners


def _send_round(world: World, due: datetime, tz: tzinfo, not_after: datetime | None) -> int | None:
    """The round a text due at ``due`` goes out in: the first at or after it, or the first
    after the quiet hours that round falls in; None when that is too late (expired) or after
    the end of the run."""
    k = world.step_at_or_after(due)
    if k is None:
        return None
    rules = world.policy.reminders
    if is_quiet(world.steps[k], tz, rules):
        k = world.step_at_or_after(after_quiet(world.steps[k], tz, rules))
        if k is None:
            return None
    if not_after is not None and world.steps[k] >= not_after:
        return None
    return k


def expected_reminders(world: World) -> Expectation:
    """Every reminder of every appointment the system booked, judged at the round it is due."""
    rules = world.policy.reminders
    tested = world.tested_days()
    owners = _phone_owners(world)
    out = Expectation()
    for appt in world.appts.values():
        person = world.people[appt.person_id]
        if not person.phone:
            continue
        # A booking made before a round is seen by that round's reminder sync; one made by a
        # job during a round, at the latest by the next one.
        first = appt.created.step + (0 if appt.created.phase == PRE else 1)
        if first >= len(world.steps):
            continue
        seen_at = world.steps[first]
        if appt.starts_at <= seen_at:
            continue
        during_round = appt.created.phase == ROUND and first > appt.created.step
        # Booked late (README): a text whose time has passed goes at once, or when the quiet
        # hours it is booked in end; none if that is not before the slot; two at one moment
        # are one, the later kind.
        times: list[tuple[str, datetime, bool]] = []  # kind, due, booked after its time
        for kind, ideal in reminder_timetable(appt.starts_at, appt.tz, rules):
            due = ideal if ideal >= seen_at else after_quiet(seen_at, appt.tz, rules)
            key = reminder_dedupe_key(kind, appt.id, appt.starts_at)
            if due >= appt.starts_at:
                if during_round:
                    out.maybe.add(key)  # a sync inside the round may have seen it earlier
                else:
                    out.never[key] = "quiet hours last until its slot starts"
                continue
            if times and due <= times[-1][1]:
                gone = reminder_dedupe_key(times[-1][0], appt.id, appt.starts_at)
                if during_round:
                    out.maybe.add(gone)
                else:
                    out.never[gone] = "a later text of the same moment says it"
                times[-1] = (kind, times[-1][1], True)
                continue
            times.append((kind, due, ideal < seen_at))
        done = world.done_moment(appt, tested)
        excused = world.excused_moment(appt, tested)
        for kind, due, late in times:
            key = reminder_dedupe_key(kind, appt.id, appt.starts_at)
            k = _send_round(world, max(due, seen_at), appt.tz, appt.starts_at)
            if k is None:
                if world.step_at_or_after(max(due, seen_at)) is not None:
                    out.never[key] = "its slot started before it could go out"
                continue
            blockers = [
                (
                    "appointment cancelled",
                    appt.cancelled.precedes_round(k) if appt.cancelled else False,
                ),
                ("appointment excused", excused.precedes_round(k) if excused else False),
                ("tested already", done.precedes_round(k) if done else False),
                *_person_blockers(world, person, k, owners),
            ]
            if during_round and late:
                blockers.append(("booked during a round", None))
            out.add(key, k, blockers)
    return out


def expected_missed_notices(world: World) -> Expectation:
    """One notice per missed appointment, sent when it is flagged (or after quiet hours)."""
    rules = world.policy.reminders
    tested = world.tested_days()
    owners = _phone_owners(world)
    out = Expectation()
    if not rules.missed_notice:
        return out
    for appt in world.appts.values():
        flagged = world.flagged_step(appt, tested)
        if flagged is None:
            continue
        person = world.people[appt.person_id]
        if not person.phone:
            continue
        due = after_quiet(world.steps[flagged], appt.tz, rules)
        k = _send_round(world, due, appt.tz, due + timedelta(hours=24))
        key = f"missed:appt:{appt.id}"
        if k is None:
            continue
        # Excused after it was flagged (a positive result of that day came later): the notice
        # is sent only while the test is still missed.
        excused = world.excused_moment(appt, tested)
        blockers = _person_blockers(world, person, k, owners)
        if excused is not None:
            blockers.append(("excused after it was flagged", excused.precedes_round(k)))
        out.add(key, k, blockers)
    return out


@dataclass(frozen=True)
class UserTruth:
    id: int
    name: str
    role: str
    departments: tuple[str, ...]
    phone: str | None


def expected_alert_texts(
    world: World, alerts: dict[int, int], users: Sequence[UserTruth]
) -> Expectation:
    """``alerts``: alert id -> the case's person id. Each goes to HR and to the supervisors
    of the case's department, at any hour."""
    out = Expectation()
    for alert_id, person_id in alerts.items():
        department = world.people[person_id].department
        for u in users:
            if not u.phone:
                continue
            if u.role == "hr" or (u.role == "supervisor" and department in u.departments):
                out.must[f"positive:{alert_id}:user:{u.id}"] = -1
    return out


def expected_digests(
    world: World, users: Sequence[UserTruth], digest_at: time, late_limit: timedelta
) -> dict[str, int]:
    """``digest:DAY:user:ID`` -> yesterday's missed count, for each supervisor with any.

    The digest job runs at the first round at or after ``digest_at``, unless that round is more
    than ``late_limit`` late (the worker's misfire grace time)."""
    tz = world.policy.tz
    tested = world.tested_days()
    missed_by_day: dict[date, list[tuple[ApptTruth, Moment | None]]] = defaultdict(list)
    for appt in world.appts.values():
        if world.flagged_step(appt, tested) is not None:
            until = world.excused_moment(appt, tested)  # missed until a later exemption
            missed_by_day[appt.starts_at.astimezone(tz).date()].append((appt, until))
    out: dict[str, int] = {}
    days = sorted({s.astimezone(tz).date() for s in world.steps})
    for day in days:
        when = datetime.combine(day, digest_at, tzinfo=tz).astimezone(UTC)
        k = world.step_at_or_after(when)
        if k is None or world.steps[k] - when > late_limit:
            continue
        yesterday = [
            a
            for a, until in missed_by_day.get(day - timedelta(days=1), [])
            if (flag := world.flag_step(a)) is not None
            and flag <= k
            and (until is None or until.precedes_round(k) is False)
        ]
        for u in users:
            if u.role != "supervisor" or not u.phone:
                continue
            count = sum(
                1 for a in yesterday if world.people[a.person_id].department in u.departments
            )
            if count:
                out[f"digest:{(day - timedelta(days=1)).isoformat()}:user:{u.id}"] = count
    return out


# ---------------------------------------------------------------- the week's figures


def expected_missed(world: World) -> set[tuple[str, datetime]]:
    """(employee number, slot start) of every missed appointment of the simulated week."""
    tested = world.tested_days()
    return {
        (world.people[a.person_id].employee_no, a.starts_at)
        for a in world.appts.values()
        if world.in_week(a) and world.final_status(a, tested) == "missed"
    }


@dataclass
class Figures:
    people: int = 0
    required: int = 0
    scheduled: int = 0
    done: int = 0
    missed: int = 0
    excused: int = 0
    tests: int = 0
    compliant_people: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def expected_compliance(world: World) -> tuple[dict[str, Figures], Figures]:
    """The week's figures per department and in total, from what the driver did.

    Required: for an active high-risk person, the category's tests a week for the days they
    were not exempt (``ceil(rate × days / 7)``: a case positive on Tuesday owes Monday's share
    only), less the planned appointments excused on those days (one on an exempt day is
    already not asked for), plus the contacts' extra appointments; asked nothing (exempt all
    week, or left), the planned appointments they kept (a leaver's, those before leaving; the
    later ones were released) plus the contacts' extra ones. People with nothing required are
    left out. Tests: the local days of the week with a counting test, exempt or not, at most
    ``required`` credited per person.
    """
    tz = world.policy.tz
    tested = world.tested_days()
    # noon of each day: the week's local dates, whatever the offset
    days = {
        (world.week_start.astimezone(tz) + timedelta(days=i, hours=12)).date() for i in range(7)
    }
    by_person: dict[int, list[ApptTruth]] = defaultdict(list)
    for a in world.appts.values():
        if world.in_week(a) and a.cancelled is None:
            by_person[a.person_id].append(a)
    test_days: dict[int, set[date]] = defaultdict(set)
    for pid, day in tested:
        if day in days:
            test_days[pid].add(day)
    departments: dict[str, Figures] = {}
    for person in world.people.values():
        mine = by_person.get(person.id, [])
        active = person.deactivated is None
        base = min(max(person.weekly_tests, 0), 7) if (person.category and active) else 0
        present = len([d for d in days if not world.exempt_day(person.id, d)])
        asked = -(-base * present // 7)  # rounded up; at most one a day as base <= 7
        statuses = [world.final_status(a, tested) for a in mine]
        excused = {a.id for a, s in zip(mine, statuses, strict=True) if s == "excused"}
        excused_planned = sum(
            1
            for a in mine
            if a.id in excused
            and a.reason != "contact"
            and not world.exempt_day(person.id, a.starts_at.astimezone(tz).date())
        )
        contact = sum(1 for a in mine if a.reason == "contact" and a.id not in excused)
        kept = sum(1 for a in mine if a.reason != "contact" and a.id not in excused)
        required = (max(asked - excused_planned, 0) if asked else kept) + contact
        if required == 0:
            continue
        tests = len(test_days.get(person.id, ()))
        f = departments.setdefault(person.department, Figures())
        f.people += 1
        f.required += required
        f.scheduled += len(mine)
        f.done += statuses.count("done")
        f.missed += statuses.count("missed")
        f.excused += statuses.count("excused")
        f.tests += min(tests, required)
        f.compliant_people += int(bool(required) and tests >= required)
    total = Figures()
    for f in departments.values():
        for name, value in vars(f).items():
            setattr(total, name, getattr(total, name) + value)
    return departments, total


def rate(figures: Figures) -> float | None:
    return round(figures.tests / figures.required, 4) if figures.required else None


# ---------------------------------------------------------------- positive cases


def expected_contacts(
    world: World, case: SampleTruth, window: tuple[datetime, datetime], at: Moment
) -> set[int]:
    """The contacts of one positive sample: everyone active in the case's grid unit, and
    everyone sampled at the same site in the same slot (``window``)."""
    person = world.people[case.person_id]
    contacts = {
        p.id
        for p in world.people.values()
        if p.id != person.id
        and p.unit == person.unit
        and (p.deactivated is None or p.deactivated > at)
    }
    if case.site:
        start, end = window
        contacts |= {
            s.person_id
            for s in world.samples
            if s.site == case.site
            and start <= s.at < end
            and s.person_id != person.id
            and s.recorded <= at
        }
    return contacts


# ---------------------------------------------------------------- the clock's steps


def step_times(
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    minutes: int,
    night_minutes: int,
    night: tuple[time, time],
    extra: Iterable[datetime] = (),
    sparse_until: datetime | None = None,
    sparse_hours: int = 6,
) -> list[datetime]:
    """The simulated clock's stops from ``start`` to ``end`` (UTC, sorted, unique).

    Every ``minutes`` of the local day; between ``night[0]`` and ``night[1]`` every
    ``night_minutes`` counted from ``night[0]``; before ``sparse_until`` (nothing is due yet)
    every ``sparse_hours``; plus the ``extra`` moments. Steps sit on the local wall clock.
    """
    out = {start.astimezone(UTC), end.astimezone(UTC), *(e.astimezone(UTC) for e in extra)}
    night_start = night[0].hour * 60 + night[0].minute
    night_len = (night[1].hour * 60 + night[1].minute - night_start) % (24 * 60)
    local = start.astimezone(tz)
    cursor = datetime.combine(local.date(), time(0), tzinfo=tz)
    while cursor.astimezone(UTC) <= end:
        t = cursor.time()
        at = cursor.astimezone(UTC)
        into_night = (t.hour * 60 + t.minute - night_start) % (24 * 60)
        if sparse_until is not None and at < sparse_until:
            keep = t.minute == 0 and t.hour % sparse_hours == 0
        elif into_night < night_len:
            keep = into_night % night_minutes == 0
        else:
            keep = True
        if keep and start <= at <= end:
            out.add(at)
        cursor = (cursor.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(tz)
    return sorted(out)


def floor_step(world: World, at: datetime) -> int:
    """The last step at or before ``at``."""
    return max(0, bisect.bisect_right(world.steps, at) - 1)

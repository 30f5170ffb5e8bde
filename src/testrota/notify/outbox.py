"""What to text, and when: pure functions from plain data to outbox rows.

A reminder goes out the evening before (``evening_before``, local) and ``before_minutes`` before
the slot. Quiet hours push a text to the morning; a text is never due once its slot has started
(``expires_at`` is the slot start), and one that quiet hours would push past the start is dropped
when an earlier text already covers the slot. Keys are unique per appointment, kind and slot
start, so a moved appointment gets fresh rows and the old ones can never match its new slot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from testrota.notify.templates import Rendered, Templates, format_date, local_date_time
from testrota.policy import ReminderPolicy

REMINDER_KINDS = ("reminder_eve", "reminder_before")
KIND_MISSED = "missed"
KIND_POSITIVE = "positive_alert"
KIND_DIGEST = "digest"
KIND_BOOSTER = "booster"
KIND_RECHECK = "recheck"  # a positive pool's member, booked for a single tube (sampling.recheck)
KIND_PLAN_CHANGED = "plan_changed"  # a mode change moved the person's tests (notify.plan_changes)
ALL_KINDS = (
    *REMINDER_KINDS,
    KIND_MISSED,
    KIND_POSITIVE,
    KIND_DIGEST,
    KIND_BOOSTER,
    KIND_RECHECK,
    KIND_PLAN_CHANGED,
)


@dataclass(frozen=True)
class OutboxRow:
    """One text to insert into the outbox (``Message``)."""

    kind: str
    dedupe_key: str
    to: str
    body: str
    due_at: datetime
    expires_at: datetime | None
    segments: int
    tz: str | None = None  # quiet hours apply in this zone; None: any hour (alerts)
    person_id: int | None = None
    appointment_id: int | None = None
    user_id: int | None = None
    language: str | None = None  # the template language the body is in
    # the values the body was made from (a template channel sends these, not the body)
    params: dict[str, str] | None = None

    @classmethod
    def of(cls, rendered: Rendered, **fields: Any) -> OutboxRow:
        """A row for a rendered text: its body, segments, language and the values it was made
        from come together, so a template channel (Aliyun) always has what it sends."""
        return cls(
            body=rendered.body,
            segments=rendered.segments.segments,
            language=rendered.language,
            params=dict(rendered.params),
            **fields,
        )


@dataclass(frozen=True)
class ReminderTarget:
    """A scheduled appointment, with what a reminder needs to say."""

    appointment_id: int
    person_id: int
    name: str
    phone: str
    language: str
    site_name: str
    tz_name: str
    tz: tzinfo
    starts_at: datetime


# ---------------------------------------------------------------- quiet hours


def _local(day: date, at: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def in_quiet_hours(at: datetime, tz: tzinfo, rules: ReminderPolicy) -> bool:
    """Whether ``at`` falls inside the quiet window (local to ``tz``; may cross midnight)."""
    t = at.astimezone(tz).time()
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def quiet_window_end(at: datetime, tz: tzinfo, rules: ReminderPolicy) -> datetime:
    """The first moment after the quiet window that contains ``at`` (``at`` itself if none)."""
    if not in_quiet_hours(at, tz, rules):
        return at
    local = at.astimezone(tz)
    day = local.date()
    if rules.quiet_start > rules.quiet_end and local.time() >= rules.quiet_start:
        day += timedelta(days=1)
    # The UTC round trip normalises a wall time that a DST change skipped. A wall time the
    # clocks pass twice (the night they go back) ends at its second passing when ``at`` is
    # already past the first.
    wall = _local(day, rules.quiet_end, tz)
    end = wall.astimezone(UTC)
    return end if end > at else wall.replace(fold=1).astimezone(UTC)


def quiet_window_start(at: datetime, tz: tzinfo, rules: ReminderPolicy) -> datetime:
    """When the quiet window containing ``at`` began (``at`` itself if not quiet)."""
    if not in_quiet_hours(at, tz, rules):
        return at
    local = at.astimezone(tz)
    day = local.date()
    if rules.quiet_start > rules.quiet_end and local.time() < rules.quiet_end:
        day -= timedelta(days=1)
    return _local(day, rules.quiet_start, tz).astimezone(UTC)


def next_quiet_start(at: datetime, tz: tzinfo, rules: ReminderPolicy) -> datetime:
    """The next moment quiet hours begin at or after ``at`` (``at`` if already quiet)."""
    if in_quiet_hours(at, tz, rules):
        return at
    local = at.astimezone(tz)
    candidate = _local(local.date(), rules.quiet_start, tz)
    if candidate.astimezone(UTC) < at:
        candidate = _local(local.date() + timedelta(days=1), rules.quiet_start, tz)
    return candidate.astimezone(UTC)


# ---------------------------------------------------------------- reminders


def reminder_times(
    starts_at: datetime, tz: tzinfo, rules: ReminderPolicy
) -> list[tuple[str, datetime]]:
    """``(kind, due_at)`` of the reminders of a slot starting at ``starts_at``.

    The evening text is at ``evening_before`` local time on the day before the slot's local date
    (so it follows the wall clock across a DST change); the later one is an exact duration before
    the start. A text falling in quiet hours waits for their end; if that is not before the
    start, it is dropped when an earlier text exists, else moved before the quiet hours began.
    """
    ideal: list[tuple[str, datetime]] = []
    if rules.evening_before is not None:
        day_before = starts_at.astimezone(tz).date() - timedelta(days=1)
        eve = _local(day_before, rules.evening_before, tz).astimezone(UTC)
        if eve < starts_at:
            ideal.append(("reminder_eve", eve))
    if rules.before_minutes > 0:
        ideal.append(("reminder_before", starts_at - timedelta(minutes=rules.before_minutes)))
    ideal.sort(key=lambda item: item[1])
    result: list[tuple[str, datetime]] = []
    for kind, at in ideal:
        due = quiet_window_end(at, tz, rules)
        if due >= starts_at:
            if result:
                continue
            due = quiet_window_start(at, tz, rules) - timedelta(minutes=rules.send_within_minutes)
        if result and due <= result[-1][1]:
            continue  # two texts at the same moment say the same thing
        result.append((kind, due.astimezone(UTC)))
    return result


def booked_times(
    starts_at: datetime, tz: tzinfo, rules: ReminderPolicy, now: datetime
) -> list[tuple[str, datetime]]:
    """:func:`reminder_times` of a slot as seen at ``now``: every ``due_at`` is the moment the
    text may really go, never before ``now`` and always before the slot starts.

    A text whose time has passed (the appointment was booked late in the evening, or tonight for
    a slot after midnight) goes now, or when the quiet hours ``now`` falls in end; if that is not
    before the start there is no text, because the dispatcher would only hold it past the start
    (quiet hours are kept even then). Texts that fall together are one: the later kind.
    """
    out: list[tuple[str, datetime]] = []
    for kind, due in reminder_times(starts_at, tz, rules):
        if due < now:
            due = quiet_window_end(now, tz, rules)
        if due >= starts_at:
            continue
        if out and due <= out[-1][1]:
            out[-1] = (kind, out[-1][1])
            continue
        out.append((kind, due))
    return out


def reminder_key(kind: str, appointment_id: int, starts_at: datetime) -> str:
    """The dedupe key of one reminder: appointment, kind and the slot start it announces."""
    return f"{kind}:appt:{appointment_id}:{starts_at.astimezone(UTC):%Y%m%dT%H%MZ}"


def plan_reminders(
    targets: Iterable[ReminderTarget],
    now: datetime,
    rules: ReminderPolicy,
    templates: Templates,
    link_for: Callable[[int], str],
    skip_keys: frozenset[str] | set[str] = frozenset(),
) -> list[OutboxRow]:
    """Outbox rows for the reminders of ``targets`` not already in ``skip_keys``.

    A slot already started gets none. See :func:`booked_times` for an appointment booked after
    its texts' times.
    """
    rows: list[OutboxRow] = []
    for t in targets:
        if t.starts_at <= now:
            continue
        for kind, due in booked_times(t.starts_at, t.tz, rules, now):
            key = reminder_key(kind, t.appointment_id, t.starts_at)
            if key in skip_keys:
                continue
            day, clock = local_date_time(t.starts_at, t.tz, t.language)
            rendered = templates.render(
                kind,
                t.language,
                name=t.name,
                date=day,
                time=clock,
                site=t.site_name,
                link=link_for(t.person_id),
            )
            rows.append(
                OutboxRow.of(
                    rendered,
                    kind=kind,
                    dedupe_key=key,
                    to=t.phone,
                    due_at=due,
                    expires_at=t.starts_at,
                    tz=t.tz_name,
                    person_id=t.person_id,
                    appointment_id=t.appointment_id,
                )
            )
    return rows


# ---------------------------------------------------------------- other kinds


@dataclass(frozen=True)
class MissedTarget(ReminderTarget):
    """A missed appointment: the same facts as a reminder's, told after the slot."""


def plan_missed_notices(
    targets: Iterable[MissedTarget],
    now: datetime,
    rules: ReminderPolicy,
    templates: Templates,
    link_for: Callable[[int], str],
) -> list[OutboxRow]:
    """A missed-test notice, with an offer to rebook, per missed appointment (after quiet hours).

    It expires a day after it is due: an offer to rebook a test missed days ago helps nobody.
    """
    rows = []
    for t in targets:
        due = quiet_window_end(now, t.tz, rules)
        day, clock = local_date_time(t.starts_at, t.tz, t.language)
        rendered = templates.render(
            KIND_MISSED,
            t.language,
            name=t.name,
            date=day,
            time=clock,
            site=t.site_name,
            link=link_for(t.person_id),
        )
        rows.append(
            OutboxRow.of(
                rendered,
                kind=KIND_MISSED,
                dedupe_key=f"missed:appt:{t.appointment_id}",
                to=t.phone,
                due_at=due,
                expires_at=due + timedelta(hours=24),
                tz=t.tz_name,
                person_id=t.person_id,
                appointment_id=t.appointment_id,
            )
        )
    return rows


@dataclass(frozen=True)
class Recipient:
    """A user (supervisor, HR) who receives alerts and digests by text."""

    user_id: int
    name: str
    phone: str
    language: str
    departments: tuple[str, ...] = ()
    units: tuple[str, ...] = ()  # unit paths: each with everything below it


@dataclass(frozen=True)
class PositiveCase:
    alert_id: int
    person: str
    employee_no: str
    department: str
    grid_unit: str
    sampled_at: datetime
    contacts: int


def plan_positive_alerts(
    case: PositiveCase,
    recipients: Sequence[Recipient],
    now: datetime,
    rules: ReminderPolicy,
    tz_name: str,
    tz: tzinfo,
    templates: Templates,
    link: str,
) -> list[OutboxRow]:
    """One alert text per recipient; at once unless the policy makes alerts respect quiet hours."""
    due = now if rules.alerts_ignore_quiet_hours else quiet_window_end(now, tz, rules)
    rows = []
    for r in recipients:
        day, _ = local_date_time(case.sampled_at, tz, r.language)
        rendered = templates.render(
            KIND_POSITIVE,
            r.language,
            person=case.person,
            employee_no=case.employee_no,
            department=case.department,
            grid_unit=case.grid_unit,
            date=day,
            contacts=case.contacts,
            link=link,
        )
        rows.append(
            OutboxRow.of(
                rendered,
                kind=KIND_POSITIVE,
                dedupe_key=f"positive:{case.alert_id}:user:{r.user_id}",
                to=r.phone,
                due_at=due,
                expires_at=due + timedelta(days=1),
                tz=None if rules.alerts_ignore_quiet_hours else tz_name,
                user_id=r.user_id,
            )
        )
    return rows


@dataclass(frozen=True)
class DigestLine:
    recipient: Recipient
    missed_by_department: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MissedGroup:
    """Yesterday's missed tests of one department in one unit (``unit_path`` None: a person
    not placed in the unit tree yet)."""

    department: str
    unit_path: str | None
    count: int


def in_units(path: str | None, units: Iterable[str]) -> bool:
    """Whether a unit path is one of ``units`` or below one (a prefix of a name is not)."""
    return path is not None and any(path == u or path.startswith(u + "/") for u in units)


def reaches(recipient: Recipient, department: str | None, unit_path: str | None) -> bool:
    """Whether a supervisor's texts count a person, by the pages' rule (``auth.scope.scope_for``):
    their units and everything below them when they were given units (the narrower grant, so a
    namesake department elsewhere is not theirs), otherwise their departments."""
    if recipient.units:
        return in_units(unit_path, recipient.units)
    return (department or "") in recipient.departments


def digest_line(recipient: Recipient, groups: Iterable[MissedGroup]) -> DigestLine:
    """A supervisor's missed tests by department, counted as their pages count them
    (:func:`reaches`); a supervisor of departments sees each of theirs, even with nothing
    missed, and one of units each department where someone in their units missed."""
    counts = dict.fromkeys(() if recipient.units else recipient.departments, 0)
    for g in groups:
        if reaches(recipient, g.department, g.unit_path):
            counts[g.department] = counts.get(g.department, 0) + g.count
    return DigestLine(recipient, counts)


def plan_digests(
    lines: Sequence[DigestLine],
    day: date,
    now: datetime,
    rules: ReminderPolicy,
    tz_name: str,
    tz: tzinfo,
    templates: Templates,
    link_for_day: Callable[[date], str],
) -> list[OutboxRow]:
    """Each supervisor's count of yesterday's missed tests in their departments."""
    rows = []
    due = quiet_window_end(now, tz, rules)
    for line in lines:
        count = sum(line.missed_by_department.values())
        if count == 0 and not rules.digest_when_none:
            continue
        r = line.recipient
        busiest = sorted(line.missed_by_department.items(), key=lambda kv: (-kv[1], kv[0]))
        sep = "、" if not r.language.lower().startswith("en") else ", "
        departments = sep.join(f"{d} {n}" for d, n in busiest if n) or "-"
        rendered = templates.render(
            KIND_DIGEST,
            r.language,
            name=r.name,
            date=format_date(day, r.language),
            count=count,
            departments=departments,
            link=link_for_day(day),
        )
        rows.append(
            OutboxRow.of(
                rendered,
                kind=KIND_DIGEST,
                dedupe_key=f"digest:{day.isoformat()}:user:{r.user_id}",
                to=r.phone,
                due_at=due,
                expires_at=due + timedelta(hours=12),
                tz=tz_name,
                user_id=r.user_id,
            )
        )
    return rows


@dataclass(frozen=True)
class BoosterTarget:
    person_id: int
    name: str
    phone: str
    language: str


def plan_booster_campaign(
    campaign: str,
    targets: Iterable[BoosterTarget],
    now: datetime,
    rules: ReminderPolicy,
    tz_name: str,
    tz: tzinfo,
    templates: Templates,
    link_for: Callable[[int], str],
) -> list[OutboxRow]:
    """One booster text per person per campaign; it may wait a week for the sender's capacity."""
    due = quiet_window_end(now, tz, rules)
    rows = []
    for t in targets:
        rendered = templates.render(
            KIND_BOOSTER, t.language, name=t.name, link=link_for(t.person_id)
        )
        rows.append(
            OutboxRow.of(
                rendered,
                kind=KIND_BOOSTER,
                dedupe_key=f"booster:{campaign}:person:{t.person_id}",
                to=t.phone,
                due_at=due,
                expires_at=due + timedelta(days=7),
                tz=tz_name,
                person_id=t.person_id,
            )
        )
    return rows

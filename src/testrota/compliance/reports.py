"""The missed-test list and the compliance report, read in the caller's session.

Both take an optional ``departments`` scope (a supervisor's departments); None means everyone.
The use cases (:mod:`testrota.actions.missed`, :mod:`testrota.actions.compliance`) flag what
is due before they read, so the figures are current whether or not a job has run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from testrota.compliance.facts import (
    APPOINTMENT_COLUMNS,
    PERSON_COLUMNS,
    RateLookup,
    appointment_facts,
    appointments_between,
    cols,
    exemptions_between,
    ids_in,
    in_scope,
    last_test_dates,
    person_facts_row,
    samples_between,
    select_people,
)
from testrota.compliance.records import AppointmentFacts, PersonFacts
from testrota.compliance.weekly import (
    GroupCompliance,
    PersonWeek,
    TrendPoint,
    attach_trend,
    person_week,
    policy_required,
    rollup,
    total,
    weeks_missed_in_row,
)
from testrota.db.models import Appointment, Person
from testrota.policy import Policy
from testrota.statuses import AppointmentStatus
from testrota.weeks import (
    IsoWeek,
    local_date,
    parse_week,
    recent_weeks,
    week_bounds,
    week_of,
)

ROW_LOOKBACK_WEEKS = 12  # how far back "weeks missed in a row" looks


def resolve_week(week: str | None, now: datetime, policy: Policy) -> IsoWeek:
    return parse_week(week) if week else week_of(now, policy.tz)


@dataclass(frozen=True)
class MissedRow:
    """One missed appointment, with the facts a supervisor follows it up with: whether the
    person is compliant for the week anyway (tested another day), when they last tested, and
    how many weeks in a row they have missed a slot."""

    employee_no: str
    name: str
    department: str
    grid_unit: str
    role: str
    category: str | None
    person_type: str
    phone: str | None
    site: str
    slot_start: datetime
    slot_end: datetime
    week: str
    tests_this_week: int
    required: int
    compliant_this_week: bool
    test_days: tuple[date, ...]  # local days with a counting sample this week
    last_test_date: date | None
    weeks_missed_in_row: int
    appointment_id: int


def _missed_query(
    departments: Collection[str] | None,
    grid_unit: str | None,
    units: Collection[str] | None,
    start: datetime,
    end: datetime,
    appointment_ids: Collection[int] | None,
) -> Any:
    query = (
        select(*APPOINTMENT_COLUMNS, *_PEOPLE)
        .join(Person, col(Person.id) == col(Appointment.person_id))
        .where(
            col(Appointment.status) == AppointmentStatus.MISSED,
            col(Appointment.starts_at) >= start,
            col(Appointment.starts_at) < end,
            in_scope(departments, units),
        )
    )
    if grid_unit:
        query = query.where(col(Person.grid_unit) == grid_unit)
    if appointment_ids is not None:
        query = query.where(col(Appointment.id).in_(sorted(appointment_ids)))
    return query


def missed_list(
    session: Session,
    wk: IsoWeek,
    now: datetime,
    policy: Policy,
    *,
    rates: RateLookup | None = None,
    departments: Collection[str] | None = None,
    grid_unit: str | None = None,
    units: Collection[str] | None = None,
    appointment_ids: Collection[int] | None = None,
) -> list[MissedRow]:
    """One row per missed appointment in ``wk``, by department, grid unit, number and time
    (only those of ``appointment_ids``, when given: a page of :func:`missed_page`)."""
    tz = policy.tz
    start, end = week_bounds(wk, tz)
    if appointment_ids is not None and not appointment_ids:
        return []
    query = _missed_query(departments, grid_unit, units, start, end, appointment_ids)
    rows = list(session.execute(query))
    if not rows:
        return []
    missed = [appointment_facts(r) for r in rows]
    people = {r.person_id: person_facts_row(r, rates, prefix="p_") for r in rows}
    weeks = _person_weeks(session, list(people.values()), wk, policy)
    last = last_test_dates(session, list(people), now + timedelta(seconds=1))
    in_row = _weeks_in_row(session, list(people), wk, policy)
    out = []
    for appt in missed:
        p = people[appt.person_id]
        pw = weeks[p.id]
        if pw.required == 0:
            continue  # nothing was asked of them this week: no test to miss
        last_at = last.get(p.id)
        out.append(
            MissedRow(
                employee_no=p.employee_no,
                name=p.name,
                department=p.department,
                grid_unit=p.grid_unit,
                role=p.role,
                category=p.category,
                person_type=p.person_type,
                phone=p.phone,
                site=appt.site_code,
                slot_start=appt.starts_at,
                slot_end=appt.ends_at,
                week=str(wk),
                tests_this_week=pw.tests,
                required=pw.required,
                compliant_this_week=pw.compliant,
                test_days=pw.test_days,
                last_test_date=local_date(last_at, tz) if last_at else None,
                weeks_missed_in_row=in_row.get(p.id, 1),
                appointment_id=appt.id,
            )
        )
    out.sort(key=lambda r: (r.department, r.grid_unit, r.employee_no, r.slot_start))
    return out


# The list's columns that need no more than the appointment and its person: a page sorted by
# one of them reads samples, last tests and weeks in a row for its own rows only.
OUTLINE_SORT_KEYS = ("employee_no", "name", "department", "grid_unit", "slot_start", "category")
DETAIL_SORT_KEYS = ("tests_this_week", "last_test_date", "weeks_missed_in_row")
MISSED_SORT_KEYS = OUTLINE_SORT_KEYS + DETAIL_SORT_KEYS


@dataclass(frozen=True)
class MissedLine:
    """A missed appointment as :func:`missed_page` sorts and counts it, before the facts that
    cost a read of each person's samples and twelve weeks."""

    appointment_id: int
    employee_no: str
    name: str
    department: str
    grid_unit: str
    category: str | None
    slot_start: datetime


@dataclass(frozen=True)
class MissedPage:
    rows: list[MissedRow]  # this page's, in order
    total: int  # missed appointments on every page
    people: int  # distinct people among them
    page: int  # 1-based, clamped to the pages there are
    pages: int


def sort_missed(rows: list[Any], sort: str) -> list[Any]:
    """Sort by one column's real values (``-name`` descending); a missing value sorts last
    (first when descending); ties keep department, unit, number order."""
    key = sort.lstrip("-")
    if key not in MISSED_SORT_KEYS:
        return rows

    def by(row: Any) -> tuple[bool, Any]:
        value = getattr(row, key)
        return (value is None, value if value is not None else 0)

    return sorted(rows, key=by, reverse=sort.startswith("-"))


def missed_page(
    session: Session,
    wk: IsoWeek,
    now: datetime,
    policy: Policy,
    *,
    sort: str,
    page: int,
    page_size: int,
    rates: RateLookup | None = None,
    departments: Collection[str] | None = None,
    grid_unit: str | None = None,
    units: Collection[str] | None = None,
    asked_held: bool = False,
) -> MissedPage:
    """One page of the missed list, sorted by ``sort``.

    A department of 10,000 people misses hundreds of slots a week, and a page shows 100: sorted
    by a column of the appointment or the person, the whole list is counted and sorted from
    those alone and only the page's rows get their week, last test and weeks in a row (sorted
    by one of those, every row needs them first). ``asked_held``: the weekly roll-up holds
    ``wk`` (:func:`testrota.org.weekly.held`), so who was asked a test is read from it."""
    scope: dict[str, Any] = {
        "rates": rates,
        "departments": departments,
        "grid_unit": grid_unit,
        "units": units,
    }
    rows: list[Any]
    if sort.lstrip("-") in DETAIL_SORT_KEYS:
        rows = sort_missed(missed_list(session, wk, now, policy, **scope), sort)
    else:
        outline = _missed_outline(session, wk, policy, asked_held=asked_held, **scope)
        rows = sort_missed(outline, sort)
    pages = max(1, -(-len(rows) // page_size))
    page = min(max(1, page), pages)
    shown = rows[(page - 1) * page_size : page * page_size]
    if shown and isinstance(shown[0], MissedLine):
        ids = [line.appointment_id for line in shown]
        found = {
            r.appointment_id: r
            for r in missed_list(session, wk, now, policy, **scope, appointment_ids=ids)
        }
        # a row excused between the two reads is gone from the page, not shown stale
        shown = [found[i] for i in ids if i in found]
    return MissedPage(
        rows=shown,
        total=len(rows),
        people=len({r.employee_no for r in rows}),
        page=page,
        pages=pages,
    )


def _missed_outline(
    session: Session,
    wk: IsoWeek,
    policy: Policy,
    *,
    rates: RateLookup | None,
    departments: Collection[str] | None,
    grid_unit: str | None,
    units: Collection[str] | None,
    asked_held: bool,
) -> list[MissedLine]:
    """The rows :func:`missed_list` gives, in its order, with the columns to sort them by: a
    row is left out exactly when it leaves it out (nothing was asked of the person that week),
    which takes the people's appointments and exemptions of the week but not their samples,
    or, where the weekly roll-up holds the week, one look at it: it keeps a row for exactly the
    people asked at least one test, counted with the same ``person_week``."""
    start, end = week_bounds(wk, policy.tz)
    rows = list(session.execute(_missed_query(departments, grid_unit, units, start, end, None)))
    if not rows:
        return []
    ids = {r.person_id for r in rows}
    if asked_held:
        from testrota.db.tables import PERSON_WEEK_ROW as PERSON_WEEK

        asked = {
            pid
            for where in ids_in(session, PERSON_WEEK.c.person_id, ids)
            for (pid,) in session.execute(
                select(PERSON_WEEK.c.person_id).where(PERSON_WEEK.c.week == str(wk), where)
            )
        }
    else:
        people = [
            person_facts_row(r, rates, prefix="p_") for r in {r.person_id: r for r in rows}.values()
        ]
        weeks = _person_weeks(session, people, wk, policy, with_samples=False)
        asked = {pid for pid, pw in weeks.items() if pw.required > 0}
    out = [
        MissedLine(
            appointment_id=r.id,
            employee_no=r.p_employee_no,
            name=r.p_name,
            department=r.p_department,
            grid_unit=r.p_grid_unit,
            category=r.p_category,
            slot_start=r.starts_at,
        )
        for r in rows
        if r.person_id in asked
    ]
    out.sort(key=lambda r: (r.department, r.grid_unit, r.employee_no, r.slot_start))
    return out


# The person's columns beside an appointment's: labelled p_name and so on.
_PEOPLE = [c.label(f"p_{c.key}") for c in PERSON_COLUMNS if c.key != "id"]


def _person_weeks(
    session: Session,
    people: list[PersonFacts],
    wk: IsoWeek,
    policy: Policy,
    *,
    with_samples: bool = True,
) -> dict[int, PersonWeek]:
    """These people's weeks; ``with_samples=False`` reads no samples, for what needs only the
    tests asked of them (``required`` does not depend on samples)."""
    tz = policy.tz
    start, end = week_bounds(wk, tz)
    ids = [p.id for p in people]
    appts: dict[int, list[AppointmentFacts]] = defaultdict(list)
    for a in appointments_between(session, start, end, person_ids=ids):
        appts[a.person_id].append(a)
    days: dict[int, set[date]] = defaultdict(set)
    for s in samples_between(session, start, end, person_ids=ids) if with_samples else ():
        days[s.person_id].add(local_date(s.sampled_at, tz))
    exemptions = exemptions_between(session, wk.monday, wk.monday + timedelta(days=6), ids)
    return {p.id: person_week(p, wk, policy, appts[p.id], days[p.id], exemptions) for p in people}


def _weeks_in_row(
    session: Session, person_ids: list[int], wk: IsoWeek, policy: Policy
) -> dict[int, int]:
    tz = policy.tz
    first = wk.shifted(-(ROW_LOOKBACK_WEEKS - 1))
    start, _ = week_bounds(first, tz)
    _, end = week_bounds(wk, tz)
    missed_weeks: dict[int, set[IsoWeek]] = defaultdict(set)
    for where in ids_in(session, Appointment.person_id, person_ids):
        query = select(*cols(Appointment.person_id, Appointment.starts_at)).where(
            where,
            col(Appointment.status) == AppointmentStatus.MISSED,
            col(Appointment.starts_at) >= start,
            col(Appointment.starts_at) < end,
        )
        for person_id, starts_at in session.execute(query):
            missed_weeks[person_id].add(week_of(starts_at, tz))
    return {pid: weeks_missed_in_row(w, wk) for pid, w in missed_weeks.items()}


@dataclass(frozen=True)
class GroupFigures:
    """A department's (``grid_unit`` None) or a grid unit's week, or the total's."""

    department: str
    grid_unit: str | None
    people: int  # people of whom a test was asked
    required: int
    scheduled: int
    done: int
    missed: int
    excused: int
    tests: int  # credited: at most what each person was asked
    compliant_people: int
    rate: float | None  # tests / required; None when nothing was required
    trend: list[TrendPoint]  # the rate of each week of the report, oldest first

    @classmethod
    def of(cls, g: GroupCompliance) -> GroupFigures:
        return cls(
            g.department,
            g.grid_unit,
            g.people,
            g.required,
            g.scheduled,
            g.done,
            g.missed,
            g.excused,
            g.tests,
            g.compliant_people,
            g.rate,
            list(g.trend),
        )


@dataclass(frozen=True)
class ComplianceReport:
    week: str
    generated_at: datetime
    weeks: list[str]  # the trend's weeks, oldest first, ending with ``week``
    total: GroupFigures
    departments: list[GroupFigures]
    grid_units: list[GroupFigures]


def _trend_point(week: IsoWeek, figures: GroupCompliance) -> TrendPoint:
    return TrendPoint(str(week), figures.rate if figures.has_data else None, figures.missed)


def compliance_report(
    session: Session,
    wk: IsoWeek,
    now: datetime,
    policy: Policy,
    *,
    weeks: int | None = None,
    rates: RateLookup | None = None,
    departments: Collection[str] | None = None,
    units: Collection[str] | None = None,
) -> ComplianceReport:
    """Per department and per grid unit: people, required, scheduled, done, missed, excused,
    tests (credited), compliant people and the rate, with the rate's trend over the ``weeks``
    weeks ending with ``wk`` (default: the policy's ``trend_weeks``)."""
    tz = policy.tz
    span = recent_weeks(wk, weeks or policy.testing.trend_weeks)
    start, _ = week_bounds(span[0], tz)
    _, end = week_bounds(wk, tz)
    people = {
        r.id: person_facts_row(r, rates)
        for r in session.execute(select_people().where(in_scope(departments, units)))
    }
    appts: dict[tuple[int, IsoWeek], list[AppointmentFacts]] = defaultdict(list)
    for a in appointments_between(session, start, end):
        if a.person_id in people and a.status != AppointmentStatus.CANCELLED:
            appts[(a.person_id, week_of(a.starts_at, tz))].append(a)
    days: dict[int, set[date]] = defaultdict(set)
    for s in samples_between(session, start, end):
        if s.person_id in people:
            days[s.person_id].add(local_date(s.sampled_at, tz))
    exemptions = exemptions_between(session, span[0].monday, wk.monday + timedelta(days=6))
    by_person_ex = defaultdict(list)
    for e in exemptions:
        by_person_ex[e.person_id].append(e)
    history: list[tuple[IsoWeek, dict[Any, GroupCompliance]]] = []
    history_units: list[tuple[IsoWeek, dict[Any, GroupCompliance]]] = []
    for w in span:
        entries = []
        for p in people.values():
            mine = appts.get((p.id, w), [])
            ex = by_person_ex.get(p.id, [])
            if not mine and policy_required(p, w, policy, ex) == 0:
                continue
            entries.append((p, person_week(p, w, policy, mine, days.get(p.id, set()), ex)))
        history.append((w, rollup(entries, by_grid_unit=False)))
        history_units.append((w, rollup(entries, by_grid_unit=True)))
    return assemble(wk, now, span, history, history_units)


def assemble(
    wk: IsoWeek,
    now: datetime,
    span: list[IsoWeek],
    history: list[tuple[IsoWeek, dict[Any, GroupCompliance]]],
    history_units: list[tuple[IsoWeek, dict[Any, GroupCompliance]]],
) -> ComplianceReport:
    """The report from each week's department and grid-unit groups, oldest week first
    (counted person by person above, or summed from the weekly roll-up)."""
    departments_now, units_now = history[-1][1], history_units[-1][1]
    attach_trend(departments_now, history)
    attach_trend(units_now, history_units)
    overall = total(departments_now.values())
    overall.trend = [_trend_point(w, total(g.values())) for w, g in history]
    return ComplianceReport(
        week=str(wk),
        generated_at=now,
        weeks=[str(w) for w in span],
        total=GroupFigures.of(overall),
        departments=[GroupFigures.of(g) for _, g in sorted(departments_now.items())],
        grid_units=[
            GroupFigures.of(g)
            for _, g in sorted(units_now.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        ],
    )

"""The missed-test list, read with SQLAlchemy Core over :mod:`testrota.db.lean`.

The list is what a supervisor runs most (``testrota missed``, the ``/missed`` page, its exports,
``/api/missed``), so it reads without the ORM and the models: a command that lists missed tests
starts without building them (issue 17). Its statements are the ones the models' readers in
:mod:`testrota.compliance.facts` send, over the same columns, and the pure functions that decide
a person's week are shared with the compliance report.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

from sqlalchemy import case, func, select, true

from testrota.compliance.rates import RateLookup
from testrota.compliance.records import (
    NO_APPOINTMENTS,
    ExemptionFacts,
    PersonFacts,
    appointment_facts,
    person_facts_row,
)
from testrota.compliance.tallies import appointment_tallies, days_tested_in_week
from testrota.compliance.weekly import PersonWeek, person_week_of, weeks_missed_in_row
from testrota.db.id_filter import dialect_of, ids_in
from testrota.db.lean import APPOINTMENT, EXEMPTION, PERSON, TEST_RESULT
from testrota.db.types import as_utc
from testrota.policy import Policy
from testrota.statuses import AppointmentStatus, ResultValue
from testrota.weeks import IsoWeek, local_date, recent_weeks, week_bounds

ROW_LOOKBACK_WEEKS = 12  # how far back "weeks missed in a row" looks


class Executes(Protocol):
    """A Core connection or an ORM session: anything that runs a Core statement."""

    def execute(self, statement: Any, /) -> Any: ...


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


# The person's effective category: HR's override wins, an empty override means "not high-risk"
# (testrota.compliance.facts.effective_category, over the lean table).
_CATEGORY_VALUE = case(
    (PERSON.c.override_category.is_not(None), func.nullif(PERSON.c.override_category, "")),
    else_=PERSON.c.risk_category,
)
_CATEGORY = _CATEGORY_VALUE.label("p_category")
_PEOPLE = [
    PERSON.c[name].label(f"p_{name}")
    for name in (
        "employee_no",
        "name",
        "department",
        "grid_unit",
        "role",
        "phone",
        "active",
        "person_type",
    )
]
_APPOINTMENTS = [
    APPOINTMENT.c[name]
    for name in ("id", "person_id", "starts_at", "ends_at", "status", "site_code", "week", "reason")
]


def _scope(departments: Collection[str] | None, units: Collection[str] | None) -> Any:
    if departments is None:
        return true()
    condition = PERSON.c.department.in_(list(departments))
    if units:
        # a supervisor given units (the web app, which has the models loaded anyway)
        from sqlalchemy import and_

        from testrota.org.units import units_below

        return and_(condition, PERSON.c.unit_id.in_(units_below(sorted(units))))
    return condition


def _missed_query(
    wk: IsoWeek,
    policy: Policy,
    departments: Collection[str] | None,
    grid_unit: str | None,
    units: Collection[str] | None,
) -> Any:
    start, end = week_bounds(wk, policy.tz)
    query = (
        select(*_APPOINTMENTS, *_PEOPLE, _CATEGORY)
        .join(PERSON, PERSON.c.id == APPOINTMENT.c.person_id)
        .where(
            APPOINTMENT.c.status == AppointmentStatus.MISSED,
            APPOINTMENT.c.starts_at >= start,
            APPOINTMENT.c.starts_at < end,
            _scope(departments, units),
        )
    )
    if grid_unit:
        query = query.where(PERSON.c.grid_unit == grid_unit)
    return query


def missed_list(
    session: Executes,
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
    (only those of ``appointment_ids``, when given: a page of :func:`missed_page`).
    ``session``: a Core connection or an ORM session on the database."""
    tz = policy.tz
    if appointment_ids is not None and not appointment_ids:
        return []
    query = _missed_query(wk, policy, departments, grid_unit, units)
    # .all(): one fetch of every row; iterating fetches them one by one (psycopg's fetchone
    # was a sixth of a 10,000-person department's page). A page's hundred ids are one array
    # on PostgreSQL: as a hundred placeholders, psycopg parsed the statement again each page.
    if appointment_ids is None:
        rows = session.execute(query).all()
    else:
        ids = ids_in(session, APPOINTMENT.c.id, appointment_ids)
        rows = [r for only in ids for r in session.execute(query.where(only)).all()]
    if not rows:
        return []
    missed = [appointment_facts(r) for r in rows]
    people = {r.person_id: person_facts_row(r, rates, prefix="p_") for r in rows}
    weeks = _person_weeks(session, list(people.values()), wk, policy)
    last = _last_test_dates(session, list(people), now + timedelta(seconds=1))
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


def _person_weeks(
    session: Executes,
    people: list[PersonFacts],
    wk: IsoWeek,
    policy: Policy,
    *,
    with_samples: bool = True,
) -> dict[int, PersonWeek]:
    """These people's weeks; ``with_samples=False`` reads no samples, for what needs only the
    tests asked of them (``required`` does not depend on samples)."""
    tz = policy.tz
    ids = sorted(p.id for p in people)
    tallies = appointment_tallies(session, wk, tz, person_ids=ids)
    days = days_tested_in_week(session, wk, tz, person_ids=ids) if with_samples else {}
    exemptions: dict[int, list[ExemptionFacts]] = defaultdict(list)
    for part in ids_in(session, EXEMPTION.c.person_id, ids):
        for r in session.execute(
            select(EXEMPTION.c.person_id, EXEMPTION.c.start_date, EXEMPTION.c.end_date).where(
                EXEMPTION.c.start_date <= wk.monday + timedelta(days=6),
                EXEMPTION.c.end_date >= wk.monday,
                part,
            )
        ):
            exemptions[r.person_id].append(ExemptionFacts(r.person_id, r.start_date, r.end_date))
    return {
        p.id: person_week_of(
            p, wk, policy, tallies.get(p.id, NO_APPOINTMENTS), days.get(p.id, ()), exemptions[p.id]
        )
        for p in people
    }


def _last_test_dates(
    session: Executes, person_ids: list[int], before: datetime
) -> dict[int, datetime]:
    """Each person's latest counting sample taken before ``before``."""
    out: dict[int, datetime] = {}
    for part in ids_in(session, TEST_RESULT.c.person_id, person_ids):
        query = (
            select(TEST_RESULT.c.person_id, func.max(TEST_RESULT.c.sampled_at))
            .where(
                part,
                TEST_RESULT.c.sampled_at < before,
                TEST_RESULT.c.result != ResultValue.INVALID,
            )
            .group_by(TEST_RESULT.c.person_id)
        )
        for person_id, latest in session.execute(query):
            if latest is not None:
                out[person_id] = as_utc(latest)  # func.max() may lose the column's type
    return out


def _weeks_in_row(
    session: Executes, person_ids: list[int], wk: IsoWeek, policy: Policy
) -> dict[int, int]:
    """Each person's weeks in a row, ending with ``wk``, with a missed slot, over
    :data:`ROW_LOOKBACK_WEEKS`."""
    weeks = recent_weeks(wk, ROW_LOOKBACK_WEEKS)
    # each week's first instant: a row is placed in its week by a bisection, not by a
    # conversion to local time and a calendar (most of a page's CPU for these weeks)
    starts = [week_bounds(w, policy.tz)[0] for w in weeks]
    _, end = week_bounds(wk, policy.tz)
    missed: dict[int, set[int]] = defaultdict(set)  # person -> weeks before ``wk``
    for part in ids_in(session, APPOINTMENT.c.person_id, person_ids):
        for person_id, starts_at in session.execute(missed_between(part, starts[0], end)):
            missed[person_id].add(len(starts) - bisect_right(starts, starts_at))
    return {person_id: weeks_missed_in_row(back) for person_id, back in missed.items()}


def missed_between(where: Any, start: datetime, end: datetime) -> Any:
    """(person id, start) of the missed appointments starting in ``[start, end)`` that meet
    ``where``: read through the missed rows' own index (0019_missed_index)."""
    return select(APPOINTMENT.c.person_id, APPOINTMENT.c.starts_at).where(
        where,
        APPOINTMENT.c.status == AppointmentStatus.MISSED,
        APPOINTMENT.c.starts_at >= start,
        APPOINTMENT.c.starts_at < end,
    )


# The list's columns that need no more than the appointment and its person: a page sorted by
# one of them reads samples, last tests and weeks in a row for its own rows only.
OUTLINE_SORT_KEYS = ("employee_no", "name", "department", "grid_unit", "slot_start", "category")
DETAIL_SORT_KEYS = ("tests_this_week", "last_test_date", "weeks_missed_in_row")
MISSED_SORT_KEYS = OUTLINE_SORT_KEYS + DETAIL_SORT_KEYS


class MissedLine(NamedTuple):
    """A missed appointment as :func:`missed_page` sorts and counts it, before the facts that
    cost a read of each person's samples and twelve weeks. A tuple: a week's list counted
    from raw rows may be 20,000 of them."""

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
    if key not in MISSED_SORT_KEYS or sort == "department":
        # The lists come in this order already (department, grid unit, number, time), and a
        # stable sort by department keeps it: HR's list of a group's week sorted its 20,000
        # rows again at every page.
        return rows

    def by(row: Any) -> tuple[bool, Any]:
        value = getattr(row, key)
        return (value is None, value if value is not None else 0)

    return sorted(rows, key=by, reverse=sort.startswith("-"))


def missed_page(
    session: Executes,
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
    missed_in: Callable[[Any], Any] | None = None,
) -> MissedPage:
    """One page of the missed list, sorted by ``sort``.

    A department of 10,000 people misses hundreds of slots a week, and a page shows 100: sorted
    by a column of the appointment or the person, the whole list is counted and sorted from
    those alone (by the database, when the roll-up holds the week) and only the page's rows
    get their week, last test and weeks in a row (sorted by one of those, every row needs them
    first). ``missed_in``: given a column of person ids, the condition that the weekly
    roll-up, when it holds ``wk``, counts the person a missed slot of it (None: the people's
    weeks are counted here from their appointments). It holds a row for exactly the people
    asked a test that week, so a missed slot of a person without one is left out, as
    :func:`missed_list` leaves it out."""
    scope: dict[str, Any] = {
        "rates": rates,
        "departments": departments,
        "grid_unit": grid_unit,
        "units": units,
    }
    if sort.lstrip("-") in DETAIL_SORT_KEYS:
        rows = sort_missed(missed_list(session, wk, now, policy, **scope), sort)
        shown, total, people, page = _cut(rows, page, page_size)
        return MissedPage(shown, total, people, page, _pages(total, page_size))
    if missed_in is not None:
        ids, total, people, page = _page_in_sql(
            session, wk, policy, sort, page, page_size, missed_in, departments, grid_unit, units
        )
    else:
        lines = sort_missed(_missed_outline(session, wk, policy, **scope), sort)
        cut, total, people, page = _cut(lines, page, page_size)
        ids = [line.appointment_id for line in cut]
    found = {
        r.appointment_id: r
        for r in missed_list(session, wk, now, policy, **scope, appointment_ids=ids)
    }
    return MissedPage(
        # a row excused between the two reads is gone from the page, not shown stale
        rows=[found[i] for i in ids if i in found],
        total=total,
        people=people,
        page=page,
        pages=_pages(total, page_size),
    )


def _pages(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


def _cut(rows: list[Any], page: int, page_size: int) -> tuple[list[Any], int, int, int]:
    """A page of rows sorted in Python, the rows and people on every page, and the page
    (clamped to the pages there are)."""
    page = min(max(1, page), _pages(len(rows), page_size))
    shown = rows[(page - 1) * page_size : page * page_size]
    return shown, len(rows), len({r.employee_no for r in rows}), page


def _page_in_sql(
    session: Executes,
    wk: IsoWeek,
    policy: Policy,
    sort: str,
    page: int,
    page_size: int,
    missed_in: Callable[[Any], Any],
    departments: Collection[str] | None,
    grid_unit: str | None,
    units: Collection[str] | None,
) -> tuple[list[int], int, int, int]:
    """The page's appointment ids, the rows and people on every page, and the page (clamped
    to the pages there are), when the weekly roll-up holds the week: the database counts the
    rows and cuts the page in one statement, and only the page's hundred ids come back. HR's
    page of a group's week fetched all 20,000 rows (with each one's time converted) to count
    them and keep a hundred."""
    where = _missed_query(wk, policy, departments, grid_unit, units).where(
        missed_in(APPOINTMENT.c.person_id)
    )
    keys = _sort_keys(sort)
    ranked = where.with_only_columns(
        APPOINTMENT.c.id,
        # the people among the rows, counted beside them: the highest rank of their numbers
        func.dense_rank().over(order_by=PERSON.c.employee_no).label("person_rank"),
        *(_SORT_COLUMNS[k].label(k) for k in dict.fromkeys(k for k, _ in keys)),
    ).subquery()
    text = dialect_of(session) == "postgresql"

    def by(key: str, descending: bool) -> Any:
        c = ranked.c[key]
        if text and key != "slot_start":
            c = c.collate("C")  # as Python compares texts, by code point
        return c.desc().nulls_first() if descending else c.asc().nulls_last()

    def cut(page: int) -> list[Any]:
        query = (
            select(ranked.c.id, func.count().over(), func.max(ranked.c.person_rank).over())
            .order_by(*(by(k, d) for k, d in keys), ranked.c.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        return list(session.execute(query).all())

    rows = cut(max(1, page))
    if not rows:  # no rows at all, or a page past the last: its number is needed first
        total, people = session.execute(
            where.with_only_columns(func.count(), func.count(PERSON.c.employee_no.distinct()))
        ).one()
        page = _pages(int(total), page_size)
        rows = cut(page) if total else []
        return [r[0] for r in rows], int(total), int(people), page
    return [r[0] for r in rows], int(rows[0][1]), int(rows[0][2]), max(1, page)


# The outline's sort keys as columns, and the list's own order after them: the order
# sort_missed gives (a stable sort of rows in the list's order), ties by the appointment.
_SORT_COLUMNS: dict[str, Any] = {
    "employee_no": PERSON.c.employee_no,
    "name": PERSON.c.name,
    "department": PERSON.c.department,
    "grid_unit": PERSON.c.grid_unit,
    "slot_start": APPOINTMENT.c.starts_at,
    "category": _CATEGORY_VALUE,
}
_LIST_ORDER = ("department", "grid_unit", "employee_no", "slot_start")


def _sort_keys(sort: str) -> list[tuple[str, bool]]:
    """(column, descending) to order by, as sort_missed orders the list: a missing category
    last (first when descending), ties in the list's own order; an unknown sort, that order."""
    key = sort.lstrip("-")
    then = [(k, False) for k in _LIST_ORDER]
    if key not in _SORT_COLUMNS:
        return then
    return [(key, sort.startswith("-")), *then]


def _missed_outline(
    session: Executes,
    wk: IsoWeek,
    policy: Policy,
    *,
    rates: RateLookup | None,
    departments: Collection[str] | None,
    grid_unit: str | None,
    units: Collection[str] | None,
) -> list[MissedLine]:
    """The rows :func:`missed_list` gives, in its order, with the columns to sort them by,
    when the weekly roll-up does not hold the week: a row is left out exactly when it leaves
    it out (nothing was asked of the person that week), which takes the people's appointments
    and exemptions of the week but not their samples."""
    wide = session.execute(_missed_query(wk, policy, departments, grid_unit, units)).all()
    firsts = {r.person_id: r for r in wide}
    people = [person_facts_row(r, rates, prefix="p_") for r in firsts.values()]
    weeks = _person_weeks(session, people, wk, policy, with_samples=False)
    chosen = {pid for pid, pw in weeks.items() if pw.required > 0}
    lines = [
        MissedLine(
            r.id,
            r.p_employee_no,
            r.p_name,
            r.p_department,
            r.p_grid_unit,
            r.p_category,
            r.starts_at,
        )
        for r in wide
        if r.person_id in chosen
    ]
    lines.sort(key=_LINE_ORDER)
    return lines


# missed_list's order of rows, over MissedLine's fields
_LINE_ORDER = itemgetter(3, 4, 1, 6)


__all__ = [
    "MISSED_SORT_KEYS",
    "ROW_LOOKBACK_WEEKS",
    "MissedLine",
    "MissedPage",
    "MissedRow",
    "missed_list",
    "missed_page",
    "sort_missed",
]

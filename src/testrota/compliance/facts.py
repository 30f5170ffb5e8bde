"""Copying rows out of the database into the plain facts the pure functions take."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
)
from sqlmodel import Session, col

from testrota.compliance.rates import RateLookup as RateLookup
from testrota.compliance.rates import rate_lookup as rate_lookup
from testrota.compliance.records import (
    AppointmentFacts,
    ExemptionFacts,
    PersonFacts,
    Sample,
)
from testrota.compliance.records import appointment_facts as appointment_facts
from testrota.compliance.records import person_facts_row as person_facts_row
from testrota.compliance.tallies import rows_between
from testrota.db.engine import core
from testrota.db.id_filter import CHUNK, dialect_of, id_runs, one_of
from testrota.db.id_filter import ids_in as ids_in
from testrota.db.models import Appointment, Exemption, Person, TestResult
from testrota.db.types import as_utc as _as_utc
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.statuses import ResultValue
from testrota.weeks import day_bounds

T = TypeVar("T")


def cols(*attributes: Any) -> list[Any]:
    """Model attributes as SQL columns (what ``select`` expects, for the type checker too)."""
    return [a if not hasattr(a, "__clause_element__") else col(a) for a in attributes]


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def effective_category() -> ColumnElement[Any]:
    """A person's high-risk category as SQL (NULL: not high-risk): HR's override wins over the
    matcher, and an empty override means "not high-risk".

    The one statement of the rule: the facts below select it (:data:`PERSON_COLUMNS`), and so
    does every count of high-risk people, so the pages and the reports cannot disagree.
    """
    override = col(Person.override_category)
    return case((override.is_not(None), func.nullif(override, "")), else_=col(Person.risk_category))


PERSON_COLUMNS: list[Any] = [
    *cols(
        Person.id,
        Person.employee_no,
        Person.name,
        Person.department,
        Person.grid_unit,
        Person.role,
        Person.phone,
        Person.active,
        Person.person_type,
    ),
    effective_category().label("category"),
]


def selected_facts(row: Any, rates: RateLookup | None = None) -> PersonFacts:
    """The facts of a row selected with :func:`select_people` (its columns first, in their
    order; more may follow), read by position: a Row's attribute by name costs about half a
    microsecond, and a plan's commit or the group's report reads 300,000 people of ten
    columns (2.0 s by name, 0.7 s by position)."""
    pid, no, name, department, grid_unit, role, phone, active, person_type, category = row[:10]
    return PersonFacts(
        pid,
        no,
        name,
        department,
        grid_unit,
        role,
        category,
        phone,
        active,
        person_type,
        rates(category) if rates and category else None,
    )


def facts_by_id(rows: Iterable[Any], rates: RateLookup | None = None) -> dict[int, PersonFacts]:
    """Rows of :func:`select_people` as each person's facts, by id."""
    out: dict[int, PersonFacts] = {}
    for row in rows:
        facts = selected_facts(row, rates)
        out[facts.id] = facts
    return out


def person_facts(session: Session, person_id: int, rates: RateLookup | None = None) -> PersonFacts:
    """One person's facts, by id."""
    row = session.execute(select_people().where(col(Person.id) == person_id)).one()
    return person_facts_row(row, rates)


def category_of(override: str | None, matched: str | None) -> str | None:
    """:func:`effective_category` for a person loaded already (``tests/test_facts_by_id.py``
    holds the two to the same answers)."""
    if override is not None:
        return override or None
    return matched


def facts_of_loaded(person: Person, rates: RateLookup | None = None) -> PersonFacts:
    """The facts of a person loaded in this transaction (a check-in's, locked): no second
    read of the same row."""
    return person_facts_row(_Categorised(person), rates)


class _Categorised:
    """A loaded person read as a row of :data:`PERSON_COLUMNS`: its attributes, and the
    effective ``category``."""

    def __init__(self, person: Person) -> None:
        self._person = person
        self.category = category_of(person.override_category, person.risk_category)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._person, name)


def select_people() -> Select[Any]:
    return select(*PERSON_COLUMNS)


def in_scope(departments: Collection[str] | None, units: Collection[str] | None = None) -> Any:
    """A WHERE clause limiting people to ``departments`` (None: everyone) and, for a
    supervisor given units, to people sitting in those units or below them."""
    if departments is None:
        return true()
    condition = col(Person.department).in_(list(departments))
    if units:
        from sqlalchemy import and_

        from testrota.org.units import unit_condition

        return and_(condition, unit_condition(sorted(units)))
    return condition


class UnknownEmployeeNo(UserError):
    """A number that is nobody's (within the people considered): the doors answer "not found"."""


def find_person(
    session: Session,
    employee_no: str,
    *,
    lock: bool = False,
    departments: Collection[str] | None = None,
    within: Any = None,
) -> Person:
    """The person a typed employee number means (case, full-width forms, spaces and missing
    leading zeros forgiven); a UserError when there is none or when it could be several
    (``roster.people.AmbiguousEmployeeNo``, listing them; :class:`UnknownEmployeeNo` for none).
    ``departments`` limits the people considered, as does ``within`` (``Scope.where``)."""
    from testrota.roster.people import find_by_number

    raw = (employee_no or "").strip()
    if not raw:
        raise UserError("no employee number given")
    person = find_by_number(session, raw, lock=lock, departments=departments, within=within)
    if person is None:
        raise UnknownEmployeeNo(
            "unknown employee number {number!r}: check the number or import the roster", number=raw
        )
    return person


APPOINTMENT_COLUMNS = cols(
    Appointment.id,
    Appointment.person_id,
    Appointment.starts_at,
    Appointment.ends_at,
    Appointment.status,
    Appointment.site_code,
    Appointment.week,
    Appointment.reason,
)


Bind = Session | Connection  # an ORM session, or the Core connection of a commit hook


def appointments_between(
    session: Bind,
    start: datetime,
    end: datetime,
    *,
    person_ids: Collection[int] | None = None,
    statuses: Collection[str] | None = None,
) -> list[AppointmentFacts]:
    """Appointments starting in ``[start, end)``, optionally of some people or statuses."""
    wanted = tuple(sorted(statuses)) if statuses is not None else None
    query = _appointments_query(dialect_of(session), person_ids is not None, wanted)
    return [appointment_facts(r) for r in _rows(session, query, start, end, person_ids)]


@cache
def _appointments_query(
    dialect: str, by_people: bool, statuses: tuple[str, ...] | None
) -> Select[Any]:
    # Built once a shape and bound at each run: a check-in reads appointments three times, and
    # building the statement anew each time cost more CPU than the database spent on it.
    starts = col(Appointment.starts_at)
    query = select(*APPOINTMENT_COLUMNS).where(
        starts >= bindparam("start"), starts < bindparam("end")
    )
    if statuses is not None:
        query = query.where(col(Appointment.status).in_(statuses))
    if by_people:
        query = query.where(one_of(col(Appointment.person_id), "people", dialect))
    return query


def _rows(
    bind: Bind,
    query: Select[Any],
    start: datetime,
    end: datetime,
    person_ids: Collection[int] | None,
) -> list[Any]:
    """``query``'s rows for ``[start, end)``, and ``person_ids`` when the query asks for them."""
    return rows_between(bind, query, {"start": start, "end": end}, person_ids)


def samples_between(
    session: Bind,
    start: datetime,
    end: datetime,
    *,
    person_ids: Collection[int] | None = None,
    counting_only: bool = True,
) -> list[Sample]:
    """Samples taken in ``[start, end)``; invalid ones are left out unless asked for."""
    query = _samples_query(dialect_of(session), person_ids is not None, counting_only)
    return [
        Sample(
            id=r.id,
            person_id=r.person_id,
            sampled_at=r.sampled_at,
            result=r.result,
            source=r.source,
            site_code=r.site_code,
        )
        for r in _rows(session, query, start, end, person_ids)
    ]


@cache
def _samples_query(dialect: str, by_people: bool, counting_only: bool) -> Select[Any]:
    """:func:`samples_between`' statement, built once a shape (see :func:`_appointments_query`)."""
    sampled = col(TestResult.sampled_at)
    query = select(
        *cols(
            TestResult.id,
            TestResult.person_id,
            TestResult.sampled_at,
            TestResult.result,
            TestResult.source,
            TestResult.site_code,
        )
    ).where(sampled >= bindparam("start"), sampled < bindparam("end"))
    if counting_only:
        query = query.where(col(TestResult.result) != ResultValue.INVALID)
    if by_people:
        query = query.where(one_of(col(TestResult.person_id), "people", dialect))
    return query


def samples_on_days(
    session: Session, wanted: Iterable[tuple[int, date]], policy: Policy
) -> list[Sample]:
    """Counting samples of the given (person, local day) pairs, one query per day.

    A day with few people asks for those people only; a busy day reads the whole day's samples
    (one indexed range scan is cheaper than thousands of bound parameters).
    """
    by_day: dict[date, set[int]] = defaultdict(set)
    for person_id, day in wanted:
        by_day[day].add(person_id)
    out: list[Sample] = []
    for day, people in sorted(by_day.items()):
        start, end = day_bounds(day, policy.tz)
        ids = people if len(people) <= CHUNK else None
        out.extend(
            s for s in samples_between(session, start, end, person_ids=ids) if s.person_id in people
        )
    return out


def exemptions_between(
    session: Bind, first: date, last: date, person_ids: Collection[int] | None = None
) -> list[ExemptionFacts]:
    """Exemptions overlapping ``first``..``last``: everyone's, or ``person_ids``'.

    A few people's (a check-in, a status look-up, a person's week in the roll-up) are asked
    for by id: reading the whole group's exemptions of the week, 10,000 at a group of
    300,000, cost each check-in 18 ms of CPU twice over. Many people's (a batch of a plan's
    roll-up) are read whole and picked, one indexed range instead of thousands of ids."""
    bounds = {"first": first, "last": last}
    wanted = set(person_ids) if person_ids is not None else None
    conn = core(session)
    if wanted is not None and len(wanted) <= CHUNK:
        dialect = conn.dialect.name
        query = _exemptions_of_query(dialect)
        rows = [
            r
            for part in id_runs(dialect, wanted)
            for r in conn.execute(query, {**bounds, "people": part})
        ]
    else:
        rows = list(conn.execute(_exemptions_query(), bounds))
    return [
        ExemptionFacts(r.person_id, r.start_date, r.end_date)
        for r in rows
        if wanted is None or r.person_id in wanted
    ]


@cache
def _exemptions_query() -> Select[Any]:
    return select(*cols(Exemption.person_id, Exemption.start_date, Exemption.end_date)).where(
        col(Exemption.start_date) <= bindparam("last"),
        col(Exemption.end_date) >= bindparam("first"),
    )


@cache
def _exemptions_of_query(dialect: str) -> Select[Any]:
    return _exemptions_query().where(one_of(col(Exemption.person_id), "people", dialect))


def last_test_dates(
    session: Session, person_ids: Collection[int], before: datetime
) -> dict[int, datetime]:
    """Each person's latest counting sample taken before ``before``."""
    out: dict[int, datetime] = {}
    conn = core(session)
    for where in ids_in(session, TestResult.person_id, person_ids):
        query = (
            select(col(TestResult.person_id), func.max(col(TestResult.sampled_at)))
            .where(
                where,
                col(TestResult.sampled_at) < before,
                col(TestResult.result) != ResultValue.INVALID,
            )
            .group_by(col(TestResult.person_id))
        )
        for person_id, latest in conn.execute(query):
            if latest is not None:
                # func.max() loses the column type on some backends: re-tag as UTC.
                out[person_id] = _as_utc(latest)
    return out


def unit_members(session: Session, unit: str) -> list[PersonFacts]:
    """Active people whose grid unit is ``unit`` (or whose department is, with no grid unit)."""
    if not unit:
        return []
    query = select_people().where(
        col(Person.active).is_(True),
        or_(
            col(Person.grid_unit) == unit,
            and_(col(Person.grid_unit) == "", col(Person.department) == unit),
        ),
    )
    return [person_facts_row(r) for r in session.execute(query)]


def widen(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """A day either side, so a slot that crosses midnight is found from either of its days."""
    return start - timedelta(days=1), end + timedelta(days=1)

"""Reading people back out: the lists (``people --format json``, the people page, the API), the
person page, and finding the person a typed number means."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, false, func, or_
from sqlmodel import Session, col, select

from testrota.auth.scope import Scope
from testrota.db import tables
from testrota.db.models import Appointment, Message, Person, TestResult
from testrota.errors import UserError
from testrota.privacy.number_search import id_number_condition, phone_condition
from testrota.roster.numbers import loose_key, number_key, pick_number
from testrota.statuses import AppointmentStatus, MessageStatus, PersonType, ResultValue

MAX_TYPED = 64  # the longest employee number the roster accepts
MAX_CANDIDATES = 200  # people sharing a number once leading zeros are ignored: a few at most
CANDIDATES_SHOWN = 10

PEOPLE_COLUMNS = [
    "employee_no",
    "name",
    "department",
    "grid_unit",
    "role",
    "phone",
    "person_type",
    "active",
    "risk_category",
    "matched_by",
    "matched_text",
]
PAGE_SIZE = 50


@dataclass(frozen=True)
class PersonRow:
    """One person as the lists show them (``people --format json``, the people page, the API)."""

    employee_no: str
    name: str
    department: str
    grid_unit: str
    role: str
    phone: str | None
    phone_valid: bool
    person_type: PersonType
    host_employee_no: str | None
    shift: str
    language: str
    vaccination: str
    active: bool
    opted_out: bool
    risk_category: str | None  # a category code, or None: not high-risk
    risk_categories: list[str]
    matched_by: str | None
    matched_text: str | None


def person_row(p: Person) -> PersonRow:
    return PersonRow(
        employee_no=p.employee_no,
        name=p.name,
        department=p.department,
        grid_unit=p.grid_unit,
        role=p.role,
        phone=p.phone,
        phone_valid=bool(p.phone_valid),
        person_type=PersonType(p.person_type),
        host_employee_no=p.host_employee_no,
        shift=p.shift,
        language=p.language,
        vaccination=p.vaccination,
        active=bool(p.active),
        opted_out=bool(p.opted_out),
        risk_category=p.risk_category,
        risk_categories=[c for c in p.risk_categories.split(",") if c],
        matched_by=p.matched_by,
        matched_text=p.matched_text,
    )


@dataclass(frozen=True)
class PeopleFilter:
    q: str = ""  # a name, the start of an employee number, a phone or an ID number
    department: str = ""
    grid_unit: str = ""
    category: str = ""  # a code, "none" (not high-risk) or ""
    high_risk: bool | None = None
    active: bool | None = True  # None = everyone


@dataclass(frozen=True)
class PeoplePage:
    rows: list[PersonRow]
    total: int
    page: int
    pages: int
    filters: PeopleFilter
    departments: list[str] = field(default_factory=list)  # the choices of the filter form
    # None: no department chosen in a scope of every department (see :func:`grid_units`)
    grid_units: list[str] | None = field(default_factory=list)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(column: Any, pattern: str, caseless: bool) -> Any:
    if caseless:
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _conditions(scope: Scope, f: PeopleFilter, phone_region: str) -> list[Any]:
    conds: list[Any] = []
    where = scope.where(Person.department)
    if where is not None:
        conds.append(where)
    if f.active is not None:
        conds.append(col(Person.active).is_(f.active))
    if f.department:
        conds.append(Person.department == f.department)
    if f.grid_unit:
        conds.append(Person.grid_unit == f.grid_unit)
    if f.category == "none":
        conds.append(col(Person.risk_category).is_(None))
    elif f.category:
        conds.append(Person.risk_category == f.category)
    if f.high_risk is True:
        conds.append(col(Person.risk_category).is_not(None))
    elif f.high_risk is False:
        conds.append(col(Person.risk_category).is_(None))
    q = f.q.strip()
    if q:
        # ILIKE folds the case of every name and number it reads: three times LIKE's work over
        # a group's 300,000 people, for nothing when the query has no case (Chinese, digits)
        caseless = q.lower() == q.upper()
        pattern = _escape_like(q)
        options = [
            _like(col(Person.name), f"%{pattern}%", caseless),
            _like(col(Person.employee_no), f"{pattern}%", caseless),
        ]
        for number in (
            phone_condition(Person.phone, q, masked=scope.masker.masked, region=phone_region),
            id_number_condition(Person.id_number, q),
        ):
            if number is not None:
                options.append(number)
        conds.append(or_(*options))
    return conds


def list_people(
    session: Session, scope: Scope, f: PeopleFilter, *, phone_region: str
) -> list[PersonRow]:
    """Every person in ``scope`` that ``f`` selects, by department and employee number."""
    if scope.departments is not None and not scope.departments:
        return []
    query = (
        select(Person)
        .where(*_conditions(scope, f, phone_region))
        .order_by(col(Person.department), col(Person.employee_no))
    )
    return [person_row(p) for p in session.exec(query)]


def search_people(
    session: Session,
    scope: Scope,
    f: PeopleFilter,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    *,
    phone_region: str,
) -> PeoplePage:
    """A page of the people in ``scope`` that ``f`` selects. ``f.q`` is a name, the start of an
    employee number, or a phone or ID number (whole only for a masked reader: see
    :mod:`testrota.privacy.number_search`); ``phone_region`` reads phones typed without a
    country code (``policy.phone_region``)."""
    if scope.departments is not None and not scope.departments:
        return PeoplePage(rows=[], total=0, page=1, pages=1, filters=f)
    conds = _conditions(scope, f, phone_region)
    order = (col(Person.department), col(Person.employee_no))
    page = max(1, page)

    def count() -> int:
        return int(session.exec(select(func.count()).select_from(Person).where(*conds)).one())

    if f.q.strip():
        # A search reads the whole roster (a name anywhere in it): the page and the count
        # of its few matches come from one pass, not two (a group's 300,000 people twice)
        counted = select(Person, func.count().over()).where(*conds).order_by(*order)
        found = session.exec(counted.offset((page - 1) * page_size).limit(page_size)).all()
        if not found and page > 1:  # past the last page: the last one
            last = max(1, -(-count() // page_size))
            return search_people(session, scope, f, last, page_size, phone_region=phone_region)
        total = int(found[0][1]) if found else 0
        pages = max(1, -(-total // page_size))
        rows = [person_row(p) for p, _ in found]
    else:
        total = count()
        pages = max(1, -(-total // page_size))
        page = min(page, pages)
        query = select(Person).where(*conds).order_by(*order)
        rows = [
            person_row(p)
            for p in session.exec(query.offset((page - 1) * page_size).limit(page_size))
        ]
    return PeoplePage(
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        filters=f,
        departments=departments(session.connection(), scope),
        grid_units=grid_units(session.connection(), scope, f.department),
    )


def departments(conn: Connection, scope: Scope) -> list[str]:
    """The departments of active people in ``scope`` (a supervisor: their own)."""
    if scope.departments is not None:
        return sorted(scope.departments)
    return [d for d in conn.execute(_active_departments()).scalars() if d is not None and d]


def _active_departments() -> Any:
    """The distinct departments of active people, in order, one look into the department
    index each (a loose index scan): ``SELECT DISTINCT`` read all 300,000 people of a group
    to find its thirty departments, 50 ms of the database's time at every page that offers
    them."""
    p = tables.PERSON

    def first(*where: Any) -> Any:
        # ORDER BY ... LIMIT 1, not min(): SQLite reads the whole range for a min() that has
        # a condition beside the indexed column. "active" through coalesce, which no index
        # serves: SQLite took the index of active and sorted every active person instead.
        return (
            select(p.c.department)
            .where(func.coalesce(p.c.active, false()).is_(True), *where)
            .order_by(p.c.department)
            .limit(1)
            .scalar_subquery()
        )

    found = select(first().label("name")).cte("found", recursive=True)
    found = found.union_all(
        select(first(p.c.department > found.c.name)).where(found.c.name.is_not(None))
    )
    return select(found.c.name).where(found.c.name.is_not(None))


def grid_units(conn: Connection, scope: Scope, department: str = "") -> list[str] | None:
    """The grid units of active people in ``scope`` (and ``department``), or None when no
    department narrows a scope of every department: a group's 12,000 grid units made a list
    nobody can pick from (820 KB of HR's missed page, and a read of every person). The pages
    then ask for a department, or take the grid unit typed.

    Read from the index of (department, grid unit, active) alone, in its order: a department's
    10,000 people cost 3.3 ms of the database's time a page through the index of departments
    and the table (``0022_person_department_grid``)."""
    query = _grid_units(scope, department)
    if query is None:
        return None
    return sorted(g for g in conn.execute(query).scalars() if g)


def _grid_units(scope: Scope, department: str) -> Any:
    if not department and scope.is_everything:
        return None
    p = tables.PERSON
    query = select(p.c.grid_unit).where(p.c.active.is_(True)).distinct()
    where = scope.where(p.c.department)
    if where is not None:
        query = query.where(where)
    if department:
        query = query.where(p.c.department == department)
    return query


@dataclass(frozen=True)
class PersonAppointment:
    id: int
    week: str
    site: str
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus
    reason: str
    excused_reason: str | None
    done_at: datetime | None


@dataclass(frozen=True)
class PersonTest:
    sampled_at: datetime
    result: ResultValue
    source: str
    site: str | None


@dataclass(frozen=True)
class PersonMessage:
    id: int
    kind: str
    due_at: datetime
    sent_at: datetime | None
    status: MessageStatus
    provider_status: str | None
    error: str | None
    body: str


@dataclass(frozen=True)
class PersonDetail:
    """The person page: the record, HR's override, and the latest appointments, tests, texts."""

    person: PersonRow
    override_category: str | None  # "" = not high-risk by HR's decision; None: no override
    override_reason: str | None
    appointments: list[PersonAppointment]
    tests: list[PersonTest]
    messages: list[PersonMessage]


def person_detail(session: Session, person: Person, limit: int = 60) -> PersonDetail:
    """``person`` with their ``limit`` latest appointments, tests and texts, newest first."""
    assert person.id is not None
    appts = session.exec(
        select(Appointment)
        .where(Appointment.person_id == person.id)
        .order_by(col(Appointment.starts_at).desc())
        .limit(limit)
    ).all()
    tests = session.exec(
        select(TestResult)
        .where(TestResult.person_id == person.id)
        .order_by(col(TestResult.sampled_at).desc())
        .limit(limit)
    ).all()
    messages = session.exec(
        select(Message)
        .where(Message.person_id == person.id)
        .order_by(col(Message.due_at).desc())
        .limit(limit)
    ).all()
    return PersonDetail(
        person=person_row(person),
        override_category=person.override_category,
        override_reason=person.override_reason,
        appointments=[
            PersonAppointment(
                id=a.id or 0,
                week=a.week,
                site=a.site_code,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                status=AppointmentStatus(a.status),
                reason=a.reason,
                excused_reason=a.excused_reason,
                done_at=a.done_at,
            )
            for a in appts
        ],
        tests=[
            PersonTest(
                sampled_at=t.sampled_at,
                result=ResultValue(t.result),
                source=t.source,
                site=t.site_code,
            )
            for t in tests
        ],
        messages=[
            PersonMessage(
                id=m.id or 0,
                kind=m.kind,
                due_at=m.due_at,
                sent_at=m.sent_at,
                status=MessageStatus(m.status),
                provider_status=m.provider_status,
                error=m.error_message,
                body=m.body,
            )
            for m in messages
        ],
    )


class NoSuchPerson(UserError):
    """No person with this employee number (or none the caller may see): a 404 on the web."""

    def __init__(self, employee_no: str) -> None:
        self.employee_no = employee_no
        super().__init__(
            "no person with employee number {employee_no!r}; check it with `testrota people --all`",
            employee_no=employee_no,
        )


def get_person(
    session: Session,
    employee_no: str,
    *,
    departments: Collection[str] | None = None,
    lock: bool = False,
) -> Person:
    """The person with exactly this employee number (spaces around it ignored), within
    ``departments`` (None: all); raises :class:`NoSuchPerson`. ``lock`` takes the row lock
    (PostgreSQL) so two changes of one person take turns."""
    number = (employee_no or "").strip()
    query = select(Person).where(Person.employee_no == number)
    if lock:
        query = query.with_for_update()
    person = session.exec(query).first()
    if person is None or (departments is not None and person.department not in departments):
        raise NoSuchPerson(number)
    return person


class AmbiguousEmployeeNo(UserError):
    """A typed number that could be several people; ``candidates`` lists them."""

    def __init__(self, typed: str, candidates: list[dict[str, str]]) -> None:
        self.typed = typed
        self.candidates = candidates
        shown = ", ".join(
            f"{c['employee_no']} ({c['name']}, {c['department']})"
            if c["department"]
            else f"{c['employee_no']} ({c['name']})"
            for c in candidates[:CANDIDATES_SHOWN]
        )
        more = (
            f" and {len(candidates) - CANDIDATES_SHOWN} more"
            if len(candidates) > CANDIDATES_SHOWN
            else ""
        )
        super().__init__(
            f"employee number {typed!r} could be {len(candidates)} people: {shown}{more}; "
            "type the whole number"
        )


_EXACT = select(Person).where(col(Person.employee_no) == bindparam("no"))
_EXACT_LOCKED = _EXACT.with_for_update()


def find_by_number(
    session: Session,
    typed: str,
    *,
    departments: Collection[str] | None = None,
    lock: bool = False,
    within: Any = None,
) -> Person | None:
    """The person a typed or scanned employee number means, or None when nobody matches.

    Forgives case, full-width forms, spaces and missing leading zeros (``roster.numbers``);
    raises :class:`AmbiguousEmployeeNo` when the number could be several people.
    ``departments`` limits the people considered (a supervisor's scope), and so does
    ``within``, a SQL condition on the person (``Scope.where``: departments and units) that
    also keeps a namesake elsewhere out of the candidates; ``lock`` takes the
    person's row lock (PostgreSQL) so two scans of one person take turns.
    """
    raw = (typed or "").strip()[:MAX_TYPED]
    if not raw:
        return None
    scoped = select(Person)
    if departments is not None:
        scoped = scoped.where(col(Person.department).in_(sorted(departments)))
    if within is not None:
        scoped = scoped.where(within)
    # The usual case first: the number exactly as stored, through its unique index; with no
    # scope (site staff at the tent), a statement built once and bound at each scan.
    if departments is None and within is None:
        person = session.scalars(_EXACT_LOCKED if lock else _EXACT, {"no": raw}).first()
    else:
        exact = scoped.where(Person.employee_no == raw)
        person = session.exec(exact.with_for_update() if lock else exact).first()
    if person is not None:
        return person
    loose = loose_key(raw)
    if not loose and not number_key(raw):
        return None
    # A scan of one column, only when the exact look-up missed.
    similar = scoped.where(func.ltrim(func.upper(col(Person.employee_no)), "0") == loose)
    found = {p.employee_no: p for p in session.exec(similar.limit(MAX_CANDIDATES))}
    pick = pick_number(raw, found)
    if pick.number is not None:
        if lock:
            chosen = scoped.where(Person.employee_no == pick.number)
            return session.exec(chosen.with_for_update()).first()
        return found[pick.number]
    if pick.candidates:
        raise AmbiguousEmployeeNo(
            raw,
            [
                {"employee_no": n, "name": found[n].name, "department": found[n].department}
                for n in pick.candidates
            ],
        )
    return None

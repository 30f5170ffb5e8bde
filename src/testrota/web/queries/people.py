"""People search and the person page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from testrota.auth.scope import Scope
from testrota.db.models import Appointment, Message, Person, TestResult
from testrota.roster.people import person_row
from testrota.web.queries.numbers import id_number_condition, phone_condition

PAGE_SIZE = 50


@dataclass(frozen=True)
class PeopleFilter:
    q: str = ""
    department: str = ""
    grid_unit: str = ""
    category: str = ""  # a code, "none" (not high-risk) or ""
    high_risk: bool | None = None
    active: bool | None = True  # None = everyone


@dataclass
class PeoplePage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    filters: PeopleFilter
    departments: list[str] = field(default_factory=list)
    grid_units: list[str] = field(default_factory=list)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
        like = f"%{_escape_like(q)}%"
        options = [
            col(Person.name).ilike(like, escape="\\"),
            col(Person.employee_no).ilike(f"{_escape_like(q)}%", escape="\\"),
        ]
        for number in (
            phone_condition(Person.phone, q, masked=scope.masker.masked, region=phone_region),
            id_number_condition(Person.id_number, q),
        ):
            if number is not None:
                options.append(number)
        conds.append(or_(*options))
    return conds


def search_people(session: Session, scope: Scope, f: PeopleFilter, page: int = 1,
                  page_size: int = PAGE_SIZE, *, phone_region: str) -> PeoplePage:
    """A page of the people in ``scope`` that ``f`` selects. ``f.q`` is a name, the start of an
    employee number, or a phone or ID number (whole only for a masked reader: see
    :mod:`testrota.web.queries.numbers`); ``phone_region`` reads phones typed without a
    country code (``policy.phone_region``)."""
    if scope.departments is not None and not scope.departments:
        return PeoplePage(rows=[], total=0, page=1, pages=1, filters=f)
    conds = _conditions(scope, f, phone_region)
    total = session.exec(select(func.count()).select_from(Person).where(*conds)).one()
    pages = max(1, -(-int(total) // page_size))
    page = min(max(1, page), pages)
    query = (
        select(Person)
        .where(*conds)
        .order_by(col(Person.department), col(Person.employee_no))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = [person_row(p) for p in session.exec(query)]
    return PeoplePage(
        rows=rows,
        total=int(total),
        page=page,
        pages=pages,
        filters=f,
        departments=departments(session, scope),
        grid_units=grid_units(session, scope, f.department),
    )


def departments(session: Session, scope: Scope) -> list[str]:
    if scope.departments is not None:
        return sorted(scope.departments)
    query = select(Person.department).where(col(Person.active).is_(True)).distinct()
    return sorted(d for d in session.exec(query) if d)


def grid_units(session: Session, scope: Scope, department: str = "") -> list[str]:
    query = select(Person.grid_unit).where(col(Person.active).is_(True)).distinct()
    where = scope.where(Person.department)
    if where is not None:
        query = query.where(where)
    if department:
        query = query.where(Person.department == department)
    return sorted(g for g in session.exec(query) if g)


def get_person(session: Session, scope: Scope, employee_no: str) -> Person | None:
    """The person, or None when there is none or they are outside ``scope``."""
    person = session.exec(select(Person).where(Person.employee_no == employee_no)).first()
    if person is None or not scope.allows(person.department):
        return None
    return person


@dataclass
class PersonDetail:
    person: dict[str, Any]
    override_category: str | None
    override_reason: str | None
    appointments: list[dict[str, Any]]
    tests: list[dict[str, Any]]
    messages: list[dict[str, Any]]


def person_detail(session: Session, person: Person, since: datetime | None = None,
                  limit: int = 60) -> PersonDetail:
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
            {"id": a.id, "week": a.week, "site": a.site_code, "starts_at": a.starts_at,
             "ends_at": a.ends_at, "status": a.status, "reason": a.reason,
             "excused_reason": a.excused_reason, "done_at": a.done_at}
            for a in appts
        ],
        tests=[
            {"sampled_at": t.sampled_at, "result": t.result, "source": t.source,
             "site": t.site_code}
            for t in tests
        ],
        messages=[
            {"id": m.id, "kind": m.kind, "due_at": m.due_at, "sent_at": m.sent_at,
             "status": m.status, "provider_status": m.provider_status,
             "error": m.error_message, "body": m.body}
            for m in messages
        ],
    )

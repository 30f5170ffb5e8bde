"""Who is on the roster: the people lists and the person page, within the reader's scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from testrota.app import App
from testrota.auth.scope import Scope
from testrota.roster import people
from testrota.roster.people import PAGE_SIZE, PeopleFilter, PeoplePage, PersonDetail, PersonRow


@dataclass(frozen=True)
class ListPeople:
    filters: PeopleFilter = field(default_factory=PeopleFilter)
    scope: Scope = field(default_factory=Scope.everything)


def list_people(app: App, query: ListPeople) -> list[PersonRow]:
    """Everyone in scope that the filters select (``testrota people``), unpaged."""
    with Session(app.read_engine) as session:
        return people.list_people(
            session, query.scope, query.filters, phone_region=app.policy.phone_region
        )


@dataclass(frozen=True)
class SearchPeople:
    filters: PeopleFilter
    scope: Scope
    page: int = 1
    page_size: int = PAGE_SIZE


def search_people(app: App, query: SearchPeople) -> PeoplePage:
    """A page of the people in scope that the filters select, with the filter form's choices.

    A reader who sees numbers masked finds a phone or ID number only by the whole of it.
    """
    with Session(app.read_engine) as session:
        return people.search_people(
            session,
            query.scope,
            query.filters,
            query.page,
            query.page_size,
            phone_region=app.policy.phone_region,
        )


@dataclass(frozen=True)
class ShowPerson:
    employee_no: str  # exactly as stored
    scope: Scope = field(default_factory=Scope.everything)


def show_person(app: App, query: ShowPerson) -> PersonDetail:
    """One person with their latest appointments, tests and texts; someone outside the scope
    is :class:`~testrota.roster.people.NoSuchPerson`, as if there were nobody."""
    with Session(app.read_engine) as session:
        person = people.get_person(session, query.employee_no, departments=query.scope.departments)
        if not query.scope.reaches(session.connection(), person.unit_id):
            raise people.NoSuchPerson(query.employee_no)
        return people.person_detail(session, person)

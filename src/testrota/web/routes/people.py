"""People search, the person page and HR's category override."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.people import SearchPeople, ShowPerson, search_people, show_person
from testrota.actions.risk import OverridePerson, override_person
from testrota.app import App
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.auth.users import UserInfo
from testrota.errors import UserError
from testrota.roster.people import NoSuchPerson, PeopleFilter
from testrota.web.deps import AppDep, CurrentUser, HRUser, SupervisorScope, verify_csrf
from testrota.web.i18n import translator
from testrota.web.render import category_choices, flash, render, request_language
from testrota.web.samples import one_per_sample

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def people_filter(
    q: str = "",
    department: str = "",
    grid_unit: str = "",
    category: str = "",
    high_risk: str = "",
    active: str = "",
) -> PeopleFilter:
    return PeopleFilter(
        q=q[:200],
        department=department,
        grid_unit=grid_unit,
        category=category,
        high_risk=yes_no(high_risk),
        active={"no": False, "all": None}.get(active, True),
    )


PeopleFilterDep = Annotated[PeopleFilter, Depends(people_filter)]


@router.get("/people")
def people_page(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    f: PeopleFilterDep,
    page: int = 1,
) -> Response:
    result = search_people(app, SearchPeople(f, scope, page))
    lang = request_language(request)
    return render(
        request,
        "people.html",
        {
            "result": result,
            "f": f,
            "categories": [*category_choices(request), ("none", translator(lang)("Not high-risk"))],
            "high_risk": request.query_params.get("high_risk", ""),
            "active": request.query_params.get("active", ""),
        },
    )


def _person_page(
    request: Request,
    app: App,
    scope: Scope,
    user: UserInfo,
    employee_no: str,
    status_code: int = 200,
    override_error: str | None = None,
) -> Response:
    try:
        detail = show_person(app, ShowPerson(employee_no, scope))
    except NoSuchPerson:
        raise HTTPException(404) from None
    return render(
        request,
        "person.html",
        {
            "p": detail.person,
            "detail": detail,
            "samples": one_per_sample(detail.tests),
            "can_override": user.role in ("admin", "hr"),
            "categories": category_choices(request),
            "override_error": override_error,
        },
        status_code=status_code,
    )


@router.get("/people/{employee_no}")
def person_page(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    employee_no: str,
) -> Response:
    return _person_page(request, app, scope, user, employee_no)


@router.post("/people/{employee_no}/override")
def person_override(
    request: Request,
    app: AppDep,
    user: HRUser,
    employee_no: str,
    category: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request_language(request))
    scope = Scope.everything()  # HR and admins: every department
    try:
        result = override_person(
            app, OverridePerson(employee_no, category, reason, Actor.web(user.name), scope=scope)
        )
    except NoSuchPerson:
        raise HTTPException(404) from None
    except UserError as exc:
        return _person_page(request, app, scope, user, employee_no, 400, exc.render(_))
    flash(request, _("Category saved."))
    if result.released:
        flash(request, _("{n} coming appointments released.", n=result.released))
    return RedirectResponse(f"/people/{employee_no}", 303)

"""People search, the person page and HR's category override."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from testrota.auth.scope import Scope
from testrota.auth.users import UserInfo
from testrota.web.deps import (
    AppDep,
    CurrentUser,
    HRUser,
    SessionDep,
    SupervisorScope,
    end_read,
    verify_csrf,
)
from testrota.web.i18n import CATEGORY_NAMES, category_name, translator
from testrota.web.queries.people import PeopleFilter, get_person, person_detail, search_people
from testrota.web.render import flash, render, request_language
from testrota.web.services import set_person_category

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


def category_options(lang: str) -> list[tuple[str, str]]:
    return [(code, category_name(code, lang)) for code in CATEGORY_NAMES]


@router.get("/people")
def people_page(
    request: Request,
    app: AppDep,
    session: SessionDep,
    scope: SupervisorScope,
    f: PeopleFilterDep,
    page: int = 1,
) -> Response:
    result = search_people(session, scope, f, page, phone_region=app.policy.phone_region)
    lang = request_language(request)
    return render(
        request,
        "people.html",
        {
            "result": result,
            "f": f,
            "categories": [*category_options(lang), ("none", translator(lang)("Not high-risk"))],
            "high_risk": request.query_params.get("high_risk", ""),
            "active": request.query_params.get("active", ""),
        },
    )


def _person_page(
    request: Request,
    session: SessionDep,
    scope: Scope,
    user: UserInfo,
    employee_no: str,
    status_code: int = 200,
    override_error: str | None = None,
) -> Response:
    person = get_person(session, scope, employee_no)
    if person is None:
        raise HTTPException(404)
    detail = person_detail(session, person)
    return render(
        request,
        "person.html",
        {
            "p": detail.person,
            "detail": detail,
            "can_override": user.role in ("admin", "hr"),
            "categories": category_options(request_language(request)),
            "override_error": override_error,
        },
        status_code=status_code,
    )


@router.get("/people/{employee_no}")
def person_page(
    request: Request,
    session: SessionDep,
    scope: SupervisorScope,
    user: CurrentUser,
    employee_no: str,
) -> Response:
    return _person_page(request, session, scope, user, employee_no)


@router.post("/people/{employee_no}/override")
def person_override(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: HRUser,
    employee_no: str,
    category: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request_language(request))
    scope = Scope.everything()
    if get_person(session, scope, employee_no) is None:
        raise HTTPException(404)
    end_read(session)
    if category not in (*CATEGORY_NAMES, "none", "clear"):
        return _person_page(request, session, scope, user, employee_no, 400,
                            _("Choose a category."))
    if not reason.strip():
        return _person_page(request, session, scope, user, employee_no, 400,
                            _("Give a reason: it is kept in the audit trail."))
    result = set_person_category(app, employee_no=employee_no, category=category,
                                 reason=reason.strip(), actor=user.name)
    flash(request, _("Category saved."))
    if result.get("released"):
        flash(request, _("{n} coming appointments released.", n=result["released"]))
    return RedirectResponse(f"/people/{employee_no}", 303)

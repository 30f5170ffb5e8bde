"""Exemptions: who is excused from testing for some days (leave, or positive until back).

HR and admins see and manage everyone's; a supervisor their own people's, as the use case's
scope allows (``actions/exemptions.py`` checks it again: these routes only parse and render).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from testrota.actions.exemptions import (
    MAX_DAYS,
    AddExemption,
    EndExemption,
    Exemptions,
    NoSuchExemption,
    OutOfScope,
    ShowExemption,
    add_exemption,
    end_exemption,
    list_exemptions,
    show_exemption,
)
from testrota.app import App
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.compliance.excuse import MAX_REASON, clean_reason
from testrota.compliance.exemptions import check_day, check_days
from testrota.compliance.facts import UnknownEmployeeNo
from testrota.errors import UserError
from testrota.roster.people import AmbiguousEmployeeNo, departments
from testrota.web.deps import AppDep, CurrentUser, SupervisorScope, verify_csrf
from testrota.web.i18n import translator
from testrota.web.ids import IdPath
from testrota.web.render import flash, render, request_language
from testrota.weeks import local_date

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
# Rows a page lists: a group's exemptions over months, with the ended ones, are tens of
# thousands; a day or a department narrows them.
PAGE_ROWS = 500

# Bounded: what was typed is shown again beside its message.
Day = Annotated[str, Form(max_length=32)]


@dataclass
class AddForm:
    """The add form as typed, shown again with its messages when it is refused."""

    employee_no: str = ""
    start: str = ""
    end: str = ""
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def parse_day(text: str) -> date:
    """A day typed or picked (``2022-05-09``); a UserError in the reader's words otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError("{value} is not a date: write it as 2022-05-09", value=text) from None


def _today(app: App) -> date:
    return local_date(app.now(), app.policy.tz)


def _page(
    request: Request,
    app: App,
    scope: Scope,
    *,
    active_on: str = "",
    ended: bool = False,
    department: str = "",
    form: AddForm | None = None,
    status_code: int = 200,
) -> Response:
    _ = translator(request_language(request))
    filter_error = ""
    day: date | None = None
    if active_on.strip():
        try:
            day = parse_day(active_on)
        except UserError as exc:
            filter_error, status_code = exc.render(_), 400
    # one more than shown: whether there are others to narrow the filter to
    rows = list_exemptions(
        app,
        Exemptions(
            scope.narrow(department), active_on=day, include_ended=ended, limit=PAGE_ROWS + 1
        ),
    )
    more = len(rows) > PAGE_ROWS
    with Session(app.read_engine) as session:
        choices = departments(session.connection(), scope)
    return render(
        request,
        "exemptions.html",
        {
            "rows": rows[:PAGE_ROWS],
            "more": more,
            "page_rows": PAGE_ROWS,
            "today": _today(app),
            "active_on": active_on,
            "ended": ended,
            "department": department,
            "departments": choices,
            "filter_error": filter_error,
            "form": form or AddForm(),
            "max_reason": MAX_REASON,
            "max_days": MAX_DAYS,
        },
        status_code=status_code,
    )


@router.get("/exemptions")
def exemptions_page(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    active_on: Annotated[str, Query(max_length=32)] = "",
    ended: bool = False,
    department: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return _page(request, app, scope, active_on=active_on, ended=ended, department=department)


@router.post("/exemptions")
def exemption_add(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    employee_no: Annotated[str, Form(max_length=64)] = "",
    start: Day = "",
    end: Day = "",
    reason: Annotated[str, Form(max_length=4 * MAX_REASON)] = "",
) -> Response:
    _ = translator(request_language(request))
    form = AddForm(employee_no, start, end, reason)
    errors = form.errors
    # Every field's problem at once, each beside its field, through the use case's own checks;
    # the use case checks them all again, and the person, when it writes.
    if not employee_no.strip():
        errors["employee_no"] = _("Give the person's employee number.")
    days: dict[str, date] = {}
    for name, text in (("start", start), ("end", end)):
        if not text.strip():
            errors[name] = _("Give the first day.") if name == "start" else _("Give the last day.")
            continue
        try:
            days[name] = parse_day(text)
            check_day(days[name])
        except UserError as exc:
            errors[name] = exc.render(_)
    if len(days) == 2 and not errors.keys() & {"start", "end"}:
        try:
            check_days(days["start"], days["end"])
        except UserError as exc:
            errors["end"] = exc.render(_)
    if not reason.strip():
        errors["reason"] = _("Say why the person is exempt (e.g. sick leave, business trip).")
    else:
        try:
            clean_reason(reason)
        except UserError as exc:
            errors["reason"] = exc.render(_)
    if errors:
        return _page(request, app, scope, form=form, status_code=400)
    try:
        out = add_exemption(
            app,
            AddExemption(
                employee_no.strip(),
                days["start"],
                days["end"],
                reason,
                Actor.web(user.name),
                scope=scope,
            ),
        )
    except (OutOfScope, UnknownEmployeeNo) as exc:
        # A supervisor learns nothing about people outside their departments, not even
        # whether the number is someone's; HR is told the number is unknown.
        if isinstance(exc, UnknownEmployeeNo) and scope.is_everything:
            errors["employee_no"] = exc.render(_)
            return _page(request, app, scope, form=form, status_code=400)
        errors["employee_no"] = _("This person is not in your departments.")
        return _page(request, app, scope, form=form, status_code=403)
    except AmbiguousEmployeeNo as exc:
        errors["employee_no"] = exc.render(_)
        return _page(request, app, scope, form=form, status_code=409)
    except UserError as exc:
        errors["form"] = exc.render(_)
        return _page(request, app, scope, form=form, status_code=400)
    flash(
        request,
        _(
            "Exempted {name} ({employee_no}) from {start} to {end}: {n} appointment(s) excused.",
            name=out.name,
            employee_no=out.employee_no,
            start=out.start_date.isoformat(),
            end=out.end_date.isoformat(),
            n=len(out.excused),
        ),
    )
    return RedirectResponse("/exemptions", 303)


def _end_page(
    request: Request,
    app: App,
    scope: Scope,
    exemption_id: int,
    back_on: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    try:
        row = show_exemption(app, ShowExemption(exemption_id, scope))
    except NoSuchExemption as exc:
        raise HTTPException(404) from exc
    today = _today(app)
    return render(
        request,
        "exemption_end.html",
        {
            "e": row,
            "back_on": back_on or max(today, row.start_date).isoformat(),
            "today": today,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/exemptions/{exemption_id}/end")
def exemption_end_page(
    request: Request, app: AppDep, scope: SupervisorScope, exemption_id: IdPath
) -> Response:
    """The confirmation: what ending it means, and the person's first day back."""
    return _end_page(request, app, scope, exemption_id)


@router.post("/exemptions/{exemption_id}/end")
def exemption_end(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    exemption_id: IdPath,
    back_on: Day = "",
) -> Response:
    _ = translator(request_language(request))
    try:
        day = parse_day(back_on) if back_on.strip() else None
        out = end_exemption(
            app, EndExemption(exemption_id, Actor.web(user.name), back_on=day, scope=scope)
        )
    except NoSuchExemption as exc:
        raise HTTPException(404) from exc
    except UserError as exc:
        return _end_page(request, app, scope, exemption_id, back_on, exc.render(_), 400)
    who = {"name": out.name, "employee_no": out.employee_no}
    if out.end_date is None:
        message = _("The exemption of {name} ({employee_no}) is removed: it had not begun.", **who)
    else:
        message = _(
            "The exemption of {name} ({employee_no}) now ends on {end}.",
            end=out.end_date.isoformat(),
            **who,
        )
    restored = _("{n} coming appointment(s) scheduled again.", n=len(out.restored))
    # Chinese sentences follow each other without a space
    message = ("" if request_language(request) == "zh" else " ").join((message, restored))
    flash(request, message)
    return RedirectResponse("/exemptions", 303)

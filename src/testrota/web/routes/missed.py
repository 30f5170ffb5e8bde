"""The missed-test list for supervisors: filters, sorting, .xlsx/.csv export and excuses."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.excuse import Excuse, OutOfScope
from testrota.actions.excuse import excuse as excuse_appointments
from testrota.actions.missed import Missed, MissedPageQuery, MissedRow, list_missed, page_missed
from testrota.app import App
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.compliance.excuse import MAX_REASON
from testrota.compliance.facts import UnknownEmployeeNo
from testrota.compliance.missed_rows import sort_missed
from testrota.errors import UserError
from testrota.roster.people import departments, grid_units
from testrota.web import weeks
from testrota.web.deps import AppDep, CurrentUser, SessionDep, SupervisorScope, verify_csrf
from testrota.web.i18n import category_name, translator
from testrota.web.ids import OptionalIdForm
from testrota.web.render import flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

PAGE_SIZE = 100


def _rows(
    app: App, scope: Scope, week: str, department: str, grid_unit: str, sort: str
) -> list[MissedRow]:
    rows = list_missed(app, Missed(week, scope.narrow(department), grid_unit=grid_unit or None))
    return sort_missed(rows, sort or "department")


@router.get("/missed")
def missed_page(
    request: Request,
    app: AppDep,
    session: SessionDep,
    scope: SupervisorScope,
    week: str = "",
    department: str = "",
    grid_unit: str = "",
    sort: str = "",
    page: int = 1,
) -> Response:
    week = weeks.normalise(week, app.now(), app.tz)
    shown = page_missed(
        app,
        MissedPageQuery(
            Missed(week, scope.narrow(department), grid_unit=grid_unit or None),
            sort=sort or "department",
            page=page,
            page_size=PAGE_SIZE,
        ),
    )
    return render(
        request,
        "missed.html",
        {
            "rows": shown.rows,
            "total": shown.total,
            "people": shown.people,
            "page": shown.page,
            "pages": shown.pages,
            "week": week,
            "prev_week": weeks.shift(week, -1),
            "next_week": weeks.shift(week, 1),
            "department": department,
            "grid_unit": grid_unit,
            "sort": sort or "department",
            "departments": departments(session.connection(), scope),
            "grid_units": grid_units(session.connection(), scope, department),
            "excuse_error": request.session.pop("excuse_error", None),
        },
    )


@router.get("/missed.{fmt}")
def missed_export(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    fmt: str,
    week: str = "",
    department: str = "",
    grid_unit: str = "",
    sort: str = "",
) -> Response:
    from testrota.compliance.export import (
        MISSED_COLUMNS,
        MISSED_HEADERS,
        write_csv,
        write_xlsx,
    )

    if fmt not in ("xlsx", "csv"):
        raise HTTPException(404)
    week = weeks.normalise(week, app.now(), app.tz)
    lang = request_language(request)
    rows = [
        replace(r, category=category_name(r.category, lang) or r.category)
        for r in _rows(app, scope, week, department, grid_unit, sort)
    ]
    stem = "-".join(x for x in ("missed", week, department, grid_unit) if x)
    disposition = (
        f"attachment; filename=\"missed-{week}.{fmt}\"; filename*=UTF-8''{quote(stem)}.{fmt}"
    )
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")  # so Excel in China reads the UTF-8 as UTF-8
        write_csv(out, rows, MISSED_COLUMNS, tz=app.tz)
        return Response(
            out.getvalue().encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    buf = io.BytesIO()
    write_xlsx(buf, rows, MISSED_COLUMNS, headers=MISSED_HEADERS, title=f"missed {week}", tz=app.tz)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": disposition},
    )


@router.post("/missed/excuse")
def excuse(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    # Bounded: a refusal's message, with what was typed, goes into the session cookie.
    employee_no: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=4 * MAX_REASON)],
    appointment_id: OptionalIdForm = None,
    back: Annotated[str, Form(max_length=512)] = "/missed",
) -> Response:
    _ = translator(request_language(request))
    target = back if back.startswith("/missed") and not back.startswith("//") else "/missed"
    try:
        result = excuse_appointments(
            app,
            Excuse(
                employee_no.strip(),
                reason,
                Actor.web(user.name),
                appointment_id=appointment_id,
                scope=scope,
            ),
        )
    except (OutOfScope, UnknownEmployeeNo) as exc:
        if isinstance(exc, UnknownEmployeeNo) and scope.is_everything:
            request.session["excuse_error"] = exc.render(_)
            return RedirectResponse(target, 303)
        # A supervisor learns nothing about people outside their departments, not even
        # whether the number is someone's.
        raise HTTPException(403, _("This person is not in your departments.")) from exc
    except UserError as exc:
        request.session["excuse_error"] = exc.render(_)
        return RedirectResponse(target, 303)
    flash(
        request, _("Excused {name}: {n} appointment(s).", name=result.name, n=len(result.excused))
    )
    return RedirectResponse(target, 303)


@router.post("/missed/call")
def call(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    employee_no: Annotated[str, Form(max_length=64)],
    back: Annotated[str, Form(max_length=500)] = "/missed",
) -> Response:
    """The number only on this action (the list shows it masked): a redirect to ``tel:``,
    which a phone hands to its dialler; audited."""
    from testrota.actions.calls import CallPerson, call_person
    from testrota.roster.people import NoSuchPerson

    _ = translator(request_language(request))
    target = back if back.startswith("/missed") and not back.startswith("//") else "/missed"
    try:
        number = call_person(app, CallPerson(employee_no.strip(), Actor.web(user.name), scope))
    except NoSuchPerson as exc:
        raise HTTPException(404) from exc
    except UserError as exc:
        flash(request, exc.render(_), "error")
        return RedirectResponse(target, 303)
    return RedirectResponse("tel:" + number.phone, 303)

"""The missed-test list for supervisors: filters, sorting, .xlsx/.csv export and excuses."""

from __future__ import annotations

import io
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from testrota.auth.scope import Scope
from testrota.errors import UserError
from testrota.web import services, weeks
from testrota.web.deps import AppDep, CurrentUser, SessionDep, SupervisorScope, verify_csrf
from testrota.web.i18n import category_name, translator
from testrota.web.ids import OptionalIdForm
from testrota.web.queries.people import departments, grid_units
from testrota.web.render import flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

SORT_KEYS = ("employee_no", "name", "department", "grid_unit", "slot_start", "tests_this_week",
             "last_test_date", "weeks_missed_in_row", "category")
PAGE_SIZE = 100
EXPORT_COLUMNS = ["employee_no", "name", "department", "grid_unit", "role", "category", "phone",
                  "site", "slot_start", "tests_this_week", "required", "compliant_this_week",
                  "last_test_date", "weeks_missed_in_row"]


def sort_rows(rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """Sort by one column (``-name`` descending); ties keep department, unit, number order."""
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        return rows
    return sorted(rows, key=lambda r: (r.get(key) is None, r.get(key) or ""),
                  reverse=sort.startswith("-"))


def _rows(app: Any, scope: Scope, week: str, department: str, grid_unit: str,
          sort: str) -> list[dict[str, Any]]:
    rows = services.missed_list(app, scope, week=week, department=department,
                                grid_unit=grid_unit)
    return sort_rows(rows, sort or "department")


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
    rows = _rows(app, scope, week, department, grid_unit, sort)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(1, page), pages)
    return render(request, "missed.html", {
        "rows": rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE],
        "total": len(rows),
        "people": len({r["employee_no"] for r in rows}),
        "page": page,
        "pages": pages,
        "week": week,
        "prev_week": weeks.shift(week, -1),
        "next_week": weeks.shift(week, 1),
        "department": department,
        "grid_unit": grid_unit,
        "sort": sort or "department",
        "departments": departments(session, scope),
        "grid_units": grid_units(session, scope, department),
        "excuse_error": request.session.pop("excuse_error", None),
    })


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
    from testrota.compliance.export import MISSED_HEADERS, write_csv, write_xlsx

    if fmt not in ("xlsx", "csv"):
        raise HTTPException(404)
    week = weeks.normalise(week, app.now(), app.tz)
    lang = request_language(request)
    rows = [
        {**r, "category": category_name(r.get("category"), lang) or r.get("category")}
        for r in _rows(app, scope, week, department, grid_unit, sort)
    ]
    stem = "-".join(x for x in ("missed", week, department, grid_unit) if x)
    disposition = (
        f"attachment; filename=\"missed-{week}.{fmt}\"; filename*=UTF-8''{quote(stem)}.{fmt}"
    )
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")  # so Excel in China reads the UTF-8 as UTF-8
        write_csv(out, rows, EXPORT_COLUMNS)
        return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": disposition})
    buf = io.BytesIO()
    write_xlsx(buf, rows, EXPORT_COLUMNS, headers=MISSED_HEADERS, title=f"missed {week}",
               datetime_columns=["slot_start"], date_columns=["last_test_date"])
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
    employee_no: Annotated[str, Form()],
    reason: Annotated[str, Form()],
    appointment_id: OptionalIdForm = None,
    back: Annotated[str, Form()] = "/missed",
) -> Response:
    from testrota.compliance.service import OutOfScope

    _ = translator(request_language(request))
    target = back if back.startswith("/missed") and not back.startswith("//") else "/missed"
    if not scope.is_everything:
        # The same check the service makes, made first so nothing is even looked up.
        person = services.person_department(app, employee_no)
        if person is None or not scope.allows(person):
            raise HTTPException(403, _("This person is not in your departments."))
    try:
        result = services.excuse(app, scope, employee_no=employee_no.strip(), reason=reason,
                                 actor=user.name, appointment_id=appointment_id)
    except OutOfScope as exc:
        raise HTTPException(403, str(exc)) from exc
    except UserError as exc:
        request.session["excuse_error"] = str(exc)
        return RedirectResponse(target, 303)
    flash(request, _("Excused {name}: {n} appointment(s).", name=result["name"],
                     n=len(result["excused"])))
    return RedirectResponse(target, 303)


"""Positive-result alerts and the contacts to test, with an .xlsx/.csv export.

The page the alert texts link to. A supervisor sees the alerts that concern their departments
and only their own people among the contacts; a case in another department is shown as such,
without who it is.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.alerts import (
    MAX_CLOSE_REASON,
    MAX_NOTE,
    AddAlertNote,
    AlertContactRow,
    AlertDetail,
    AlertQuery,
    AlertRow,
    Alerts,
    CloseAlert,
    ContactTest,
    ExportAlert,
    NoSuchAlert,
    add_alert_note,
    alert_detail,
    close_alert,
    export_alert,
    list_alerts,
)
from testrota.app import App
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.auth.users import UserInfo
from testrota.errors import UserError
from testrota.statuses import AlertStatus
from testrota.web.deps import AppDep, CurrentUser, SupervisorScope, verify_csrf
from testrota.web.i18n import code_text, translator
from testrota.web.ids import IdPath
from testrota.web.render import flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

EXPORT_COLUMNS = [
    "alert_id",
    "status",
    "case_employee_no",
    "case_name",
    "case_department",
    "sampled_at",
    "site",
    "contact_employee_no",
    "contact_name",
    "contact_department",
    "contact_grid_unit",
    "contact_phone",
    "reason",
    "extra_slot_start",
]
EXPORT_HEADERS = {
    "alert_id": "预警 Alert",
    "status": "状态 Status",
    "case_employee_no": "阳性工号 Case employee no.",
    "case_name": "阳性姓名 Case name",
    "case_department": "阳性部门 Case department",
    "sampled_at": "采样时间 Sampled at",
    "site": "采样点 Site",
    "contact_employee_no": "密接工号 Contact employee no.",
    "contact_name": "密接姓名 Contact name",
    "contact_department": "密接部门 Contact department",
    "contact_grid_unit": "密接网格 Contact grid unit",
    "contact_phone": "密接手机 Contact phone",
    "reason": "关联方式 Reason",
    "extra_slot_start": "加检时段 Extra test",
}


def reason_label(reason: str, lang: str) -> str:
    _ = translator(lang)
    return {"grid_unit": _("same grid unit"), "same_slot": _("same slot")}.get(reason, reason)


def export_rows(alerts: list[AlertRow], lang: str) -> list[dict[str, Any]]:
    """One row per contact (an alert without contacts in scope gives one row of its own)."""
    _ = translator(lang)
    other = _("a positive case in another department")
    rows = []
    for a in alerts:
        case = {
            "alert_id": a.id,
            "status": _("open") if a.status == AlertStatus.OPEN else _("closed"),
            "case_employee_no": a.employee_no if a.case_visible else other,
            "case_name": a.name,
            "case_department": a.department,
            "sampled_at": a.sampled_at,
            "site": a.site,
        }
        contacts: list[AlertContactRow | None] = [*a.contacts] if a.contacts else [None]
        for c in contacts:
            rows.append(
                {
                    **case,
                    **(
                        {
                            "contact_employee_no": c.employee_no,
                            "contact_name": c.name,
                            "contact_department": c.department,
                            "contact_grid_unit": c.grid_unit,
                            "contact_phone": c.phone,
                            "reason": reason_label(c.reason, lang),
                            "extra_slot_start": c.extra_slot_start,
                        }
                        if c
                        else {}
                    ),
                }
            )
    return rows


def _alerts(app: App, scope: Scope, closed: bool) -> list[AlertRow]:
    return list_alerts(app, Alerts(scope, closed=closed))


@router.get("/alerts")
def alerts_page(
    request: Request, app: AppDep, scope: SupervisorScope, closed: bool = False
) -> Response:
    return render(
        request,
        "alerts.html",
        {
            "alerts": _alerts(app, scope, closed),
            "closed": closed,
        },
    )


@router.get("/alerts.{fmt}")
def alerts_export(
    request: Request, app: AppDep, scope: SupervisorScope, fmt: str, closed: bool = False
) -> Response:
    from testrota.compliance.export import write_csv, write_xlsx

    if fmt not in ("xlsx", "csv"):
        raise HTTPException(404)
    rows = export_rows(_alerts(app, scope, closed), request_language(request))
    disposition = f'attachment; filename="alerts.{fmt}"'
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")  # so Excel in China reads the UTF-8 as UTF-8
        write_csv(out, rows, EXPORT_COLUMNS, tz=app.tz)
        return Response(
            out.getvalue().encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    buf = io.BytesIO()
    write_xlsx(buf, rows, EXPORT_COLUMNS, headers=EXPORT_HEADERS, title="alerts", tz=app.tz)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": disposition},
    )


# --- one alert: the case, its contacts' tests as they arrive, notes, export, closing -------------

DETAIL_COLUMNS = [
    "contact_employee_no",
    "contact_name",
    "contact_department",
    "contact_grid_unit",
    "contact_phone",
    "reason",
    "extra_slot_start",
    "tested_at",
    "result",
]
DETAIL_HEADERS = {
    **EXPORT_HEADERS,
    "tested_at": "检测时间 Tested at",
    "result": "结果 Result",
}


def _detail_or_404(app: App, alert_id: int, scope: Scope, reader: str) -> AlertDetail:
    try:
        return alert_detail(app, AlertQuery(alert_id, scope, reader))
    except NoSuchAlert as exc:
        raise HTTPException(404) from exc


def _alert_page(
    request: Request,
    app: App,
    alert_id: int,
    scope: Scope,
    user: UserInfo,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "alert.html",
        {
            "d": _detail_or_404(app, alert_id, scope, str(Actor.web(user.name))),
            "errors": errors or {},
            "max_note": MAX_NOTE,
            "max_reason": MAX_CLOSE_REASON,
        },
        status_code=status_code,
    )


@router.get("/alerts/{alert_id}")
def alert_page(
    request: Request, app: AppDep, scope: SupervisorScope, user: CurrentUser, alert_id: IdPath
) -> Response:
    return _alert_page(request, app, alert_id, scope, user)


@router.post("/alerts/{alert_id}/notes")
def alert_note(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    alert_id: IdPath,
    text: Annotated[str, Form(max_length=MAX_NOTE * 2)] = "",
) -> Response:
    _ = translator(request_language(request))
    try:
        add_alert_note(app, AddAlertNote(alert_id, text, Actor.web(user.name), scope))
    except NoSuchAlert as exc:
        raise HTTPException(404) from exc
    except UserError as exc:
        return _alert_page(request, app, alert_id, scope, user, {"note": exc.render(_)}, 400)
    flash(request, _("Note saved."))
    return RedirectResponse(f"/alerts/{alert_id}#notes", 303)


@router.post("/alerts/{alert_id}/close")
def alert_close(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    alert_id: IdPath,
    reason: Annotated[str, Form(max_length=MAX_CLOSE_REASON * 2)] = "",
) -> Response:
    _ = translator(request_language(request))
    if not reason.strip():
        errors = {"close": _("Say why the alert can be closed: it is kept in the audit log.")}
        return _alert_page(request, app, alert_id, scope, user, errors, 400)
    try:
        close_alert(app, CloseAlert(alert_id, Actor.web(user.name), scope, reason=reason))
    except UserError as exc:
        return _alert_page(request, app, alert_id, scope, user, {"close": exc.render(_)}, 400)
    flash(request, _("Alert closed."))
    return RedirectResponse(f"/alerts/{alert_id}", 303)


def detail_rows(d: AlertDetail, lang: str) -> list[dict[str, Any]]:
    """One row per contact and test (a contact not tested yet: one row without a result)."""
    rows = []
    for c in d.alert.contacts:
        base = {
            "contact_employee_no": c.employee_no,
            "contact_name": c.name,
            "contact_department": c.department,
            "contact_grid_unit": c.grid_unit,
            "contact_phone": c.phone,
            "reason": reason_label(c.reason, lang),
            "extra_slot_start": c.extra_slot_start,
        }
        tests: list[ContactTest | None] = [*d.tests.get(c.employee_no, [])] or [None]
        for t in tests:
            rows.append(
                {
                    **base,
                    "tested_at": t.sampled_at if t else None,
                    "result": code_text("result", t.result, lang) if t else "",
                }
            )
    return rows


@router.get("/alerts/{alert_id}/contacts.xlsx")
def alert_export(
    request: Request, app: AppDep, scope: SupervisorScope, user: CurrentUser, alert_id: IdPath
) -> Response:
    from testrota.compliance.export import write_xlsx

    try:
        d = export_alert(app, ExportAlert(alert_id, Actor.web(user.name), scope))
    except NoSuchAlert as exc:
        raise HTTPException(404) from exc
    buf = io.BytesIO()
    rows = detail_rows(d, request_language(request))
    write_xlsx(buf, rows, DETAIL_COLUMNS, headers=DETAIL_HEADERS, title="contacts", tz=app.tz)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="alert-{alert_id}.xlsx"'},
    )

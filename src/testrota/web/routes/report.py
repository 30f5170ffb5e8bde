"""The group's daily report page (日报): a unit's figures with its units below, drill-down
from the group to a team, red/yellow rates, the bottom units ranked, exports and the
confirmation upward."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.report import (
    ConfirmReport,
    DailyReport,
    DailyReportOut,
    OutOfUnits,
    confirm_report,
    daily_report,
)
from testrota.actions.report_trend import DEFAULT_WEEKS, ReportTrend, TrendOut, report_trend
from testrota.app import App
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.errors import UserError
from testrota.org.daily import DailyRow
from testrota.org.trend import MAX_WEEKS
from testrota.statuses import UnitMode
from testrota.web.deps import AppDep, CurrentUser, HRUser, SupervisorScope, verify_csrf
from testrota.web.i18n import translator
from testrota.web.render import flash, render, request_language
from testrota.web.unplaced import unplaced_lines

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
MAX_UNIT_TEXT = 400


def report_day(app: App, text: str) -> date:
    if not text:
        return app.now().astimezone(app.tz).date() - timedelta(days=1)
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise UserError("--date {value!r}: write it like 2022-05-09", value=text[:20]) from None


def _unit(app: App, unit: str, u: int | None) -> str | None:
    if u is not None:
        from sqlalchemy import select

        from testrota.org.units import UNIT

        with app.read_engine.connect() as conn:
            path = conn.execute(select(UNIT.c.path).where(UNIT.c.id == u)).scalar()
        if path is None:
            raise HTTPException(404)
        return str(path)
    return unit.strip()[:MAX_UNIT_TEXT] or None


def _report(app: App, scope: Scope, name: str, day: date, unit: str | None) -> DailyReportOut:
    try:
        return daily_report(app, DailyReport(day, Actor.web(name), unit=unit, scope=scope))
    except OutOfUnits:
        raise HTTPException(404) from None


def colour(rate: float | None, red_below: float, yellow_below: float) -> str:
    """``bad``, ``warn`` or ``ok`` for a rate (the page's red/yellow/green); "" without one."""
    if rate is None:
        return ""
    return "bad" if rate < red_below else "warn" if rate < yellow_below else "ok"


def bottom(rows: list[DailyRow], count: int) -> list[DailyRow]:
    """The units (not grid units) with someone due, lowest rate first, then the most untested."""
    ranked = [r for r in rows if r.kind == "unit" and r.required and r.rate is not None]
    return sorted(ranked, key=lambda r: (r.rate, -r.untested, r.path))[:count]


@router.get("/report/daily")
def daily_page(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    date: str = "",
    unit: str = "",
    u: int | None = None,
    weeks: str = "",
) -> Response:
    day = report_day(app, date)
    out = _report(app, scope, user.name, day, _unit(app, unit, u))
    trend = trend_of(app, scope, user.name, day, out.unit, _weeks(weeks))
    # Every level below, for the ranking of the bottom units; the table shows the next one.
    top = out.rows[0]
    children = [r for r in out.rows[1:] if r.level == top.level + 1]
    policy = app.policy.report
    crumbs = []
    parts = top.path.split("/")
    for i in range(1, len(parts)):
        path = "/".join(parts[:i])
        if scope.allows_unit(path):
            crumbs.append((path, parts[i - 1]))
    return render(
        request,
        "report_daily.html",
        {
            "day": day,
            "prev_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "top": top,
            "rows": children,
            "crumbs": crumbs,
            "reasons": policy.excuse_reasons,
            "bottom": bottom(out.rows[1:], policy.bottom_units),
            "colour": lambda rate: colour(rate, policy.red_below, policy.yellow_below),
            "red_below": policy.red_below,
            "yellow_below": policy.yellow_below,
            # a unit asked to confirm, a day that is over
            "can_confirm": top.confirmation is not None
            and day < app.now().astimezone(app.tz).date(),
            "can_set_mode": user.role in ("admin", "hr"),
            "modes": [m.value for m in UnitMode],
            "trend": trend.weeks,
        },
    )


def _weeks(text: str) -> int:
    """The trend's number of weeks from the address: the default when absent or not a number,
    else kept within 1 .. MAX_WEEKS (a page never refuses over it)."""
    try:
        asked = int(text.strip()[:3]) if text.strip() else DEFAULT_WEEKS
    except ValueError:
        return DEFAULT_WEEKS
    return min(max(asked, 1), MAX_WEEKS)


def trend_of(app: App, scope: Scope, name: str, day: date, unit: str, weeks: int) -> TrendOut:
    try:
        return report_trend(app, ReportTrend(day, Actor.web(name), unit, weeks, scope))
    except OutOfUnits:
        raise HTTPException(404) from None


@router.get("/report/daily/trend.json")
def trend_json(
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    date: str = "",
    unit: str = "",
    weeks: str = "",
) -> Response:
    """The trend of the report page as JSON: ``{unit, day, weeks: [{week, first, last,
    required, tested, rate}]}``, ``rate`` null for a week nobody was due."""
    from fastapi.responses import JSONResponse

    day = report_day(app, date)
    out = trend_of(app, scope, user.name, day, _unit(app, unit, None) or "", _weeks(weeks))
    return JSONResponse(trend_document(out, day))


def trend_document(out: TrendOut, day: date) -> dict[str, Any]:
    """The trend as the page's JSON and the API give it."""
    return {
        "unit": out.unit,
        "day": day.isoformat(),
        "weeks": [
            {
                "week": w.week,
                "first": w.first.isoformat(),
                "last": w.last.isoformat(),
                "required": w.required,
                "tested": w.tested,
                "rate": w.rate,
            }
            for w in out.weeks
        ],
    }


@router.get("/report/daily.{fmt}")
def daily_export(
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    fmt: str,
    date: str = "",
    unit: str = "",
    u: int | None = None,
) -> Response:
    from testrota.compliance.export import write_csv
    from testrota.org import workbook

    if fmt not in ("xlsx", "csv"):
        raise HTTPException(404)
    day = report_day(app, date)
    try:
        out = daily_report(
            app, DailyReport(day, Actor.web(user.name), unit=_unit(app, unit, u), scope=scope)
        )
    except OutOfUnits:
        raise HTTPException(404) from None
    reasons, tz = app.policy.report.excuse_reasons, app.tz
    stem = f"日报-{out.unit.rsplit('/', 1)[-1]}-{day.isoformat()}"
    disposition = (
        f'attachment; filename="daily-{day.isoformat()}.{fmt}"; '
        f"filename*=UTF-8''{quote(stem)}.{fmt}"
    )
    if fmt == "csv":
        text = io.StringIO()
        text.write("\ufeff")  # so Excel in China reads the UTF-8 as UTF-8
        write_csv(
            text, [workbook.flat(r, tz) for r in out.rows], workbook.csv_columns(reasons), tz=tz
        )
        return Response(
            text.getvalue().encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    buf = io.BytesIO()
    workbook.write_daily_xlsx(buf, out.rows, reasons=reasons, day=day, unit=out.unit, tz=tz)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": disposition},
    )


@router.post("/report/daily/confirm")
def confirm(
    request: Request,
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    date: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request_language(request))
    day = report_day(app, date)
    target = f"/report/daily?date={day.isoformat()}&unit={quote(unit[:MAX_UNIT_TEXT])}"
    try:
        done = confirm_report(
            app, ConfirmReport(day, unit[:MAX_UNIT_TEXT], Actor.web(user.name), note, scope)
        )
    except OutOfUnits:
        raise HTTPException(404) from None
    except UserError as exc:
        flash(request, exc.render(_), "error")
        return RedirectResponse(target, status_code=303)
    if done.late:
        message = _("Confirmed {unit} for {day}, after the deadline.", unit=done.unit, day=day)
    else:
        message = _("Confirmed {unit} for {day}.", unit=done.unit, day=day)
    flash(request, message)
    return RedirectResponse(target, status_code=303)


@router.post("/report/daily/mode")
def set_unit_mode(
    request: Request,
    app: AppDep,
    user: HRUser,
    unit: Annotated[str, Form()],
    mode: Annotated[str, Form()],
    start: Annotated[str, Form()],
    reason: Annotated[str, Form()],
    end: Annotated[str, Form()] = "",
    date: Annotated[str, Form()] = "",
) -> Response:
    """HR and admins put a unit in an emergency mode (the same use case as ``mode set``)."""
    from testrota.actions.modes import SetMode, set_mode

    _ = translator(request_language(request))
    back = f"/report/daily?date={quote(date[:10])}&unit={quote(unit[:MAX_UNIT_TEXT])}"
    try:
        first = report_day(app, start)
        last = report_day(app, end) if end.strip() else None
        done = set_mode(
            app, SetMode(unit[:MAX_UNIT_TEXT], mode, first, reason, Actor.web(user.name), end=last)
        )
    except UserError as exc:
        flash(request, exc.render(_), "error")
        return RedirectResponse(back, status_code=303)
    flash(
        request,
        _(
            "{unit} is in mode {mode} from {day}.",
            unit=done.unit,
            mode=_(done.mode),
            day=done.start,
        ),
    )
    if done.replanned:
        flash(
            request,
            _(
                "Re-planned {weeks}: {texted} people texted that their plan changed.",
                weeks=", ".join(done.replanned),
                texted=done.texted,
            ),
        )
    if done.not_texted:
        flash(
            request,
            _(
                "{n} people whose plan changed were not texted: TESTROTA_SECRET_KEY is not set.",
                n=done.not_texted,
            ),
            "warn",
        )
    for line in unplaced_lines(_, done.unplaced):
        flash(request, line, "warn")
    return RedirectResponse(back, status_code=303)

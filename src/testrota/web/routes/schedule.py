"""The schedule's week view by site, day and slot; every site's day; HR's re-plan button."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.plan import PlanWeek, plan_week
from testrota.audit import Actor
from testrota.errors import UserError
from testrota.web import weeks
from testrota.web.deps import AppDep, CurrentUser, HRUser, SessionDep, SupervisorScope, verify_csrf
from testrota.web.i18n import translator
from testrota.web.queries.schedule import day_view, week_view
from testrota.web.render import flash, render, request_language
from testrota.web.unplaced import unplaced_lines

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/schedule")
def schedule_page(
    request: Request,
    app: AppDep,
    session: SessionDep,
    scope: SupervisorScope,
    user: CurrentUser,
    week: str = "",
    site: str = "",
) -> Response:
    week = weeks.normalise(week, app.now(), app.tz)
    days = weeks.days_of(week)
    view = week_view(session, scope, week, site, app.tz, days)
    today = app.now().astimezone(app.tz).date()
    return render(
        request,
        "schedule.html",
        {
            "view": view,
            "prev_week": weeks.shift(week, -1),
            "next_week": weeks.shift(week, 1),
            "can_plan": user.role in ("admin", "hr"),
            "report": request.session.pop("plan_report", None),
            "day_link": today if today in days else days[0],
        },
    )


def _parse_day(text: str) -> date:
    try:
        if len(text) > 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise UserError("{value} is not a date: write it as 2022-05-09", value=text[:40]) from None


@router.get("/schedule/day")
def schedule_day(
    request: Request,
    app: AppDep,
    session: SessionDep,
    scope: SupervisorScope,
    day: Annotated[str, Query(alias="date")] = "",
    site: str = "",
) -> Response:
    _ = translator(request_language(request))
    today = app.now().astimezone(app.tz).date()
    error, status = None, 200
    try:
        shown = _parse_day(day.strip()) if day.strip() else today
    except UserError as exc:
        error, status, shown = exc.render(_), 400, today
    view = day_view(session, scope, shown, app.tz)
    site = site.strip()
    chosen = site if any(s.code == site for s in view.sites) else ""
    slots = sum(len(s.slots) for s in view.sites)
    return render(
        request,
        "schedule_day.html",
        {
            "view": view,
            "prev_day": shown - timedelta(days=1),
            "next_day": shown + timedelta(days=1),
            "error": error,
            "chosen": chosen,
            "anchor": {s.code: i for i, s in enumerate(view.sites, 1)},
            # every site's slots on the page, or (a group's 60 sites, 2,880 slots and 740 KB a
            # day) the one site chosen from the table of sites
            "inline": not chosen and slots <= DAY_SLOTS_INLINE,
            "slots": slots,
        },
        status_code=status,
    )


DAY_SLOTS_INLINE = 1_000  # more slots in a day than this: the day view shows one site's


@router.post("/schedule/plan")
def replan(
    request: Request,
    app: AppDep,
    user: HRUser,
    week: Annotated[str, Form()],
) -> Response:
    _ = translator(request_language(request))
    week = weeks.normalise(week, app.now(), app.tz)
    try:
        planned = plan_week(app, PlanWeek(Actor.web(user.name), week))
    except UserError as exc:
        flash(request, exc.render(_), "error")
        return RedirectResponse(f"/schedule?week={week}", 303)
    request.session["plan_report"] = {
        "week": week,
        "required": planned.report.get("required"),
        "scheduled": planned.report.get("scheduled"),
        "unscheduled": planned.unscheduled,
        "unplaced": unplaced_lines(_, planned.unplaced),
        "warnings": planned.warnings[:5],
    }
    flash(request, _("Week {week} planned.", week=week))
    return RedirectResponse(f"/schedule?week={week}", 303)

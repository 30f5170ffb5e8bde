"""The dashboard: open positive alerts on top, the emergency modes of the reader's units
during the week viewed, this week's figures, and two charts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.unit_modes import UnitModes, unit_modes
from testrota.web import weeks
from testrota.web.charts import Bar, bar_chart, line_chart
from testrota.web.deps import AppDep, CurrentUser, get_supervisor_scope
from testrota.web.i18n import translator
from testrota.web.render import render, request_language

router = APIRouter(include_in_schema=False)

# What each mode asks of a unit's people, as the planner and the daily report apply it.
MODE_MEANINGS = {
    "normal": "Normal: the weekly plan as usual.",
    "static": "Static control: everyone in the unit is tested every day, each grid unit in "
    "slots of its own.",
    "onsite": "Closed-loop production on site: people living on site are tested every day; "
    "the others are not booked at a site.",
    "wfh": "Working from home: nobody is booked at a site, and results from community "
    "testing count.",
    "keep-production": "Keeping production going: every key post needs a tested person each "
    "day; the daily report shows whether it had one.",
}


@router.get("/")
def dashboard(request: Request, app: AppDep, user: CurrentUser, week: str = "") -> Response:
    if user.role == "site":
        return RedirectResponse("/checkin", 303)
    scope = get_supervisor_scope(user, app)
    _ = translator(request_language(request))
    week = weeks.normalise(week, app.now(), app.tz)
    data = request.app.state.dashboard.get(app, scope, week)
    days = weeks.days_of(week)
    target = app.policy.web.compliance_target
    # A department with nothing booked and no test this week (the week not planned yet) has no
    # bar, as a trend week without data has no dot: 0 % would read as everyone missing.
    bars = [
        Bar(
            d.department or "–",
            d.rate if d.scheduled or d.tests else None,
            f"{d.tests}/{d.required}",
        )
        for d in sorted(data.departments, key=lambda d: (d.rate is None, d.rate or 0))
    ]
    return render(
        request,
        "dashboard.html",
        {
            "d": data,
            "week": week,
            "prev_week": weeks.shift(week, -1),
            "next_week": weeks.shift(week, 1),
            "bars": bar_chart(bars, title=_("Compliance by department"), target=target)
            if bars
            else None,
            "line": line_chart(
                [(t.week[5:], t.rate) for t in data.trend],
                title=_("Compliance over recent weeks"),
                no_data=_("no data"),
            )
            if data.trend
            else None,
            "target": target,
            # The modes in force on any day of the week viewed, not today's: a past week's
            # figures are read against the modes that applied then.
            "modes": unit_modes(app, UnitModes(scope, days[0], days[-1])),
            "week_days": days,
            "mode_meanings": MODE_MEANINGS,
        },
    )

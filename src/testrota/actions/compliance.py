"""Compliance per department and grid unit with its trend over recent weeks (the CLI's
``compliance``, ``/api/compliance``), and the dashboard's figures built on it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from testrota.actions.alerts import AlertRow, Alerts, list_alerts
from testrota.actions.flagging import flag_due
from testrota.app import App
from testrota.auth.scope import Scope
from testrota.compliance.facts import effective_category, rate_lookup
from testrota.compliance.reports import ComplianceReport, GroupFigures, assemble, resolve_week
from testrota.compliance.reports import compliance_report as report_in
from testrota.compliance.weekly import GroupCompliance, TrendPoint
from testrota.db.models import Appointment, Person
from testrota.errors import UserError
from testrota.statuses import AppointmentStatus
from testrota.weeks import IsoWeek, recent_weeks

__all__ = [
    "Compliance",
    "ComplianceReport",
    "Dashboard",
    "DashboardFigures",
    "GroupFigures",
    "TrendPoint",
    "compliance_report",
    "dashboard_figures",
]

MAX_TREND_WEEKS = 52


@dataclass(frozen=True)
class Compliance:
    week: str | None = None  # an ISO week, 2022-W19; None: this week
    scope: Scope = field(default_factory=Scope.everything)  # the departments counted
    weeks: int | None = None  # weeks in the trend, ending with ``week``; None: the policy's
    from_raw: bool = False  # count person by person, not from the weekly roll-up (a check)
    # False: the departments and the total only (the dashboard's), the report's grid units
    # left empty; the weekly roll-up is then summed by department, some 30 groups a week
    # instead of 12,000 at 300,000 people
    grid_units: bool = True


def compliance_report(app: App, query: Compliance) -> ComplianceReport:
    """Required, scheduled, done, missed, excused, tests and the rate, per department and grid
    unit (and in total), with each one's trend. Flags what is due first."""
    if query.weeks is not None and not 1 <= query.weeks <= MAX_TREND_WEEKS:
        raise UserError(
            "a trend of {weeks} weeks: it covers 1 to {limit} weeks",
            weeks=query.weeks,
            limit=MAX_TREND_WEEKS,
        )
    policy, now = app.policy, app.now()
    wk = resolve_week(query.week, now, policy)
    flag_due(app)
    departments = query.scope.departments
    with Session(app.read_engine) as session:
        if not query.from_raw:
            found = _from_rollup(app, session, wk, query)
            if found is not None:
                return found
        report = report_in(
            session,
            wk,
            now,
            policy,
            weeks=query.weeks,
            rates=rate_lookup(app.config_dir, policy),
            departments=None if departments is None else sorted(departments),
            units=query.scope.units,
        )
    return report if query.grid_units else replace(report, grid_units=[])


def _from_rollup(
    app: App,
    session: Session,
    wk: IsoWeek,
    query: Compliance,
) -> ComplianceReport | None:
    """The report summed from the weekly roll-up, or None when it does not hold every week
    of the trend under this policy (then the caller counts from raw rows)."""
    from testrota.org import weekly

    departments, units, grid_units = query.scope.departments, query.scope.units, query.grid_units
    span = recent_weeks(wk, query.weeks or app.policy.testing.trend_weeks)
    conn = session.connection()
    if not weekly.held(conn, span, weekly.fingerprint(app.policy, app.config_dir)):
        return None
    wanted = None if departments is None else sorted(departments)
    groups = weekly.read(conn, span, wanted, units, by_grid_unit=grid_units)
    history = []
    history_units = []
    for w in span:
        by_unit = groups.get(str(w), {})
        departments_of: dict[tuple[str, str | None], GroupCompliance] = {}
        units_of: dict[tuple[str, str | None], GroupCompliance] = {}
        for (dep, unit), g in by_unit.items():
            if grid_units:
                units_of[(dep, unit)] = g
            d = departments_of.get((dep, None))
            if d is None:
                d = departments_of[(dep, None)] = GroupCompliance(department=dep, grid_unit=None)
            d.add_group(g)
        history.append((w, departments_of))
        history_units.append((w, units_of))
    return assemble(wk, app.now(), span, history, history_units)


@dataclass(frozen=True)
class DashboardFigures:
    week: str  # an ISO week
    scope: Scope = field(default_factory=Scope.everything)
    from_raw: bool = False  # count person by person, not from the weekly roll-up (a check)


@dataclass(frozen=True)
class Dashboard:
    """This week at a glance for the reader's departments."""

    week: str
    computed_at: datetime
    high_risk: int  # active people with a high-risk category, in scope
    total: GroupFigures
    departments: list[GroupFigures]
    trend: list[TrendPoint]  # the total's rate over recent weeks
    alerts: list[AlertRow]  # open positive alerts that concern the scope
    capacity: list[str] = field(default_factory=list)  # the SMS sender cannot keep up


def dashboard_figures(app: App, query: DashboardFigures) -> Dashboard:
    """The compliance report's total and departments, the open alerts, the head-count of
    high-risk people, and (for a reader of every department) whether the SMS sender can send
    the next two days' reminders in time."""
    report = compliance_report(
        app, Compliance(query.week, query.scope, from_raw=query.from_raw, grid_units=False)
    )
    alerts = list_alerts(app, Alerts(query.scope))
    with Session(app.read_engine) as session:
        count = (
            select(func.count())
            .select_from(Person)
            .where(col(Person.active).is_(True), effective_category().is_not(None))
        )
        where = query.scope.where(col(Person.department))
        if where is not None:
            count = count.where(where)
        high_risk = int(session.execute(count).scalar_one())
        capacity = _capacity_warnings(app, session) if query.scope.is_everything else []
    return Dashboard(
        week=report.week,
        computed_at=app.now(),
        high_risk=high_risk,
        total=report.total,
        departments=report.departments,
        trend=report.total.trend,
        alerts=alerts,
        capacity=capacity,
    )


def _capacity_warnings(app: App, session: Session) -> list[str]:
    """Whether the sender can send the next two days' reminders in time, at the policy's rate."""
    from testrota.notify.capacity import capacity_warning, reminder_windows

    now = app.now()
    query = (
        select(col(Appointment.starts_at), func.count())
        .where(
            col(Appointment.status) == AppointmentStatus.SCHEDULED,
            col(Appointment.starts_at) > now,
            col(Appointment.starts_at) < now + timedelta(hours=48),
        )
        .group_by(col(Appointment.starts_at))
    )
    # Counted by start time: 300,000 people's next two days are some 200,000 appointments at a
    # hundred start times, and working out each one's reminders held the GIL for seconds (every
    # other request of the process waited) where a hundred times give the same windows.
    windows: Counter[tuple[datetime, datetime]] = Counter()
    for start, count in session.execute(query):
        for window in reminder_windows([start], app.tz, app.policy.reminders):
            windows[window] += int(count)
    if not windows:
        return []
    warning = capacity_warning(windows, app.policy.sms.rate_per_second)
    warnings = [warning.message] if warning else []
    if app.policy.channels.rate_per_second:
        # Each provider's own ceiling, for the texts that go through it.
        from testrota.notify.queries import channel_rate, reminder_window_counts_by_channel

        by_channel = reminder_window_counts_by_channel(
            session.connection(),
            now,
            now + timedelta(hours=48),
            app.policy,
            app.settings.sms_backend,
        )
        for channel, channel_windows in sorted(by_channel.items()):
            if channel not in app.policy.channels.rate_per_second:
                continue
            found = capacity_warning(channel_windows, channel_rate(channel, app.policy))
            if found:
                warnings.append(f"{channel}: {found.message}")
    return warnings

"""Where a week is planned: the CLI's ``plan``, the schedule page's re-plan button, the
Friday job and the demo all call :func:`plan_week`; ``plan --show`` calls :func:`show_plan`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from testrota.app import App
from testrota.audit import Actor
from testrota.errors import UserError
from testrota.weeks import current_week, normalise_week


@dataclass(frozen=True)
class PlanWeek:
    actor: Actor
    week: str | None = None  # an ISO week such as 2022-W19; None: the current week
    check_sms: bool = True  # add whether the sender can get each day's reminders out in time


@dataclass(frozen=True)
class PlannedWeek:
    week: str
    # The planner's report as stored with the plan and printed by ``plan --json``: plain JSON
    # (counts, shares, the unscheduled people with their reasons, warnings).
    report: dict[str, Any]

    @property
    def unscheduled(self) -> int:
        return len(self.report.get("unscheduled") or [])

    @property
    def unplaced(self) -> dict[str, int]:
        """How many people were left unplaced for each reason code (``no_slot_of_own``, …)."""
        return unplaced_by_reason(self.report.get("unscheduled") or [])

    @property
    def warnings(self) -> list[str]:
        return [str(w) for w in self.report.get("warnings") or []]


def unplaced_by_reason(unscheduled: list[dict[str, Any]]) -> dict[str, int]:
    """People counted once per reason from a plan report's ``unscheduled`` rows (one row per
    test that could not be placed: a person short of two tests has two)."""
    people: dict[str, set[str]] = {}
    for row in unscheduled:
        people.setdefault(str(row.get("reason")), set()).add(str(row.get("employee_no")))
    return {reason: len(nos) for reason, nos in sorted(people.items())}


def _week(app: App, week: str | None) -> str:
    return normalise_week(week) if week else current_week(app.now(), app.policy.tz)


def plan_week(app: App, cmd: PlanWeek) -> PlannedWeek:
    """Plan (or re-plan) a week and store it; slots that have started are left as they are.
    The plan run and its ``plan.week`` audit event are written in one transaction."""
    from testrota.scheduling.service import plan_week_service

    week = _week(app, cmd.week)
    report = plan_week_service(
        app.engine,
        week,
        app.policy,
        config_dir=app.settings.config_dir,
        now=app.now(),
        actor=cmd.actor,
        check_sms=cmd.check_sms,
    )
    return PlannedWeek(week, report)


def show_plan(app: App, week: str | None = None) -> PlannedWeek:
    """The report of the week's most recent plan; refused when the week was never planned."""
    from testrota.scheduling.service import latest_report

    label = _week(app, week)
    report = latest_report(app.read_engine, label)
    if report is None:
        raise UserError(
            "{week} has not been planned yet: run `testrota plan --week {week}`", week=label
        )
    return PlannedWeek(label, report)

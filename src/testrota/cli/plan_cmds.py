"""``testrota plan`` and ``testrota schedule``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from testrota.cli.common import (
    DbOption,
    FormatOption,
    JsonOption,
    emit_json,
    make_app,
    output_format,
    rows_as,
    user_errors,
)
from testrota.cli.lang import escape, header, say

WeekOption = Annotated[
    str | None,
    typer.Option("--week", help="ISO week, e.g. 2022-W19. Default: the current week."),
]

SCHEDULE_COLUMNS = [
    "employee_no",
    "name",
    "department",
    "grid_unit",
    "site",
    "starts_at",
    "ends_at",
    "status",
    "reason",
]
SLOT_COLUMNS = ["site", "date", "weekday", "time", "booked", "capacity", "grid_units"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``testrota`` app."""
    app.command("plan")(plan)
    app.command("schedule")(schedule)


def plan(
    week: WeekOption = None,
    show: Annotated[
        bool, typer.Option("--show", help="Print the week's last stored report; plan nothing.")
    ] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Plan a week's tests and store the plan; re-running replaces only its future part."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.plan import PlanWeek, plan_week, show_plan
        from testrota.audit import Actor

        planned = show_plan(app, week) if show else plan_week(app, PlanWeek(Actor.cli(), week))
        report = planned.report
        if json_out:
            emit_json(report)
        else:
            _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summary = Table(title=say("Plan {week}", week=report["week"]), show_header=False)
    summary.add_column("figure")
    summary.add_column("value", justify="right")

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    rows = [
        ("tests scheduled / required", f"{report['scheduled']} / {report['required']}"),
        ("people", str(report.get("people", ""))),
        ("unscheduled people", str(len(report["unscheduled"]))),
        (
            "rows kept / added / cancelled",
            f"{report.get('kept', 0)} / {report.get('added', 0)} / {report.get('cancelled', 0)}",
        ),
        ("slots holding a single grid unit", pct(report.get("single_unit_slot_share"))),
        (
            "people whose slots did not move since last week",
            pct(report.get("unchanged_share"))
            + say(
                " ({n} of {total})",
                n=report.get("unchanged_people", 0),
                total=report.get("compared_people", 0),
            ),
        ),
        ("two tests 3 or 4 days apart", pct(report.get("spaced_3_4_share"))),
    ]
    for name, value in rows:
        summary.add_row(say(name), value)
    console.print(summary)
    for rule in report.get("surge", []):
        console.print(
            "[bold]"
            + escape(say("surge"))
            + "[/bold] "
            + escape(
                say(
                    "{name}: {tests_per_week} tests a week {start}..{end} ({days_this_week} days "
                    "this week), {people} people",
                    **{k: rule[k] for k in ("name", "tests_per_week", "start", "end")},
                    days_this_week=rule["days_this_week"],
                    people=rule["people"],
                )
            )
        )
    for warning in report.get("warnings", []):
        console.print("[yellow]" + escape(say("warning")) + "[/yellow] " + escape(str(warning)))
    util = report.get("utilisation", [])
    if util:
        table = Table(title=say("Utilisation per site and day"))
        table.add_column(header("site"))
        dates = sorted({u["date"] for u in util})
        for d in dates:
            table.add_column(d[5:], justify="right")
        by_site: dict[str, dict[str, str]] = {}
        for u in util:
            by_site.setdefault(u["site"], {})[u["date"]] = (
                f"{u['booked']}/{u['capacity']}" if u["capacity"] else "-"
            )
        for site, cells in sorted(by_site.items()):
            table.add_row(site, *(cells.get(d, "-") for d in dates))
        console.print(table)
    unscheduled = report["unscheduled"]
    if unscheduled:
        table = Table(title=say("Unscheduled ({n} people)", n=len(unscheduled)))
        for col in ("employee_no", "department", "grid_unit", "missing", "reason"):
            table.add_column(header(col))
        for u in unscheduled[:50]:
            table.add_row(
                u["employee_no"],
                u.get("department", ""),
                u.get("grid_unit", ""),
                str(u.get("missing", "")),
                unscheduled_reason(u),
            )
        console.print(table)
        if len(unscheduled) > 50:
            console.print(say("… and {n} more (use --json for all)", n=len(unscheduled) - 50))


def schedule(
    week: WeekOption = None,
    person: Annotated[
        str | None, typer.Option("--person", help="Only this employee number's appointments.")
    ] = None,
    fmt: FormatOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Include cancelled appointments.")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The week's plan: by site, day and slot (table), or each appointment (json, csv, --person)."""
    with user_errors():
        fmt = output_format(fmt, json_out)
        app = make_app(db)
        from testrota.scheduling.service import schedule_rows, slot_summary
        from testrota.weeks import current_week, normalise_week

        label = normalise_week(week) if week else current_week(app.clock.now(), app.policy.tz)
        if fmt == "table" and person is None:
            rows_as(
                fmt,
                slot_summary(app.engine, label, app.policy),
                SLOT_COLUMNS,
                title=say("Schedule {week}", week=label),
            )
            return
        rows = schedule_rows(
            app.engine, label, app.policy, employee_no=person, include_cancelled=all_
        )
        rows_as(
            fmt,
            rows,
            SCHEDULE_COLUMNS,
            title=say("Schedule {week}", week=label),
            codes={"status": "appointment", "reason": "reason"},
        )


def unscheduled_reason(row: dict[str, Any]) -> str:
    """Why a person was not scheduled, in the CLI's language: the words of the reason's code
    (the report's English ``message`` is those words, so English reads as before)."""
    from testrota.scheduling.model import REASONS

    words = REASONS.get(row["reason"])
    return say(words) if words else str(row.get("message", row["reason"]))

"""Commands of the compliance area: check-in, results, missed, compliance, alerts, excuses."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from testrota.audit import Actor
from testrota.cli.common import (
    DbOption,
    ExcuseCodeOption,
    ExportFormatOption,
    FormatOption,
    JsonOption,
    emit_json,
    export_format,
    make_app,
    output_format,
    rows_as,
    user_errors,
    writable_output,
)
from testrota.cli.lang import code as words
from testrota.cli.lang import count_header, escape, header, in_language, problem, say
from testrota.cli.lang import current as current_language
from testrota.errors import UserError
from testrota.jsonable import jsonable

if TYPE_CHECKING:
    from testrota.app import App
    from testrota.auth.scope import Scope
    from testrota.compliance.alerts import ContactsBooking
    from testrota.compliance.importing import ResultsImport
    from testrota.compliance.reports import ComplianceReport, GroupFigures, MissedRow
T = TypeVar("T")
WeekOption = Annotated[
    str | None, typer.Option("--week", help="ISO week, e.g. 2022-W19 (default: this week).")
]
DepartmentOption = Annotated[
    list[str] | None,
    typer.Option("--department", help="Only this department (repeat for several)."),
]


def register(app: typer.Typer) -> None:
    app.command("checkin")(checkin)
    results = typer.Typer(
        help="Test results: import lab sheets, record one result.", no_args_is_help=True
    )
    results.command("import")(results_import)
    results.command("add")(results_add)
    app.add_typer(results, name="results")
    app.command("missed")(missed)
    app.command("compliance")(compliance)
    alerts = typer.Typer(help="Positive-result alerts and their contacts.")
    alerts.callback(invoke_without_command=True)(alerts_list)
    alerts.command("close")(alerts_close)
    app.add_typer(alerts, name="alerts")
    app.command("excuse")(excuse)
    app.command("flag")(flag)
    app.command("status")(status)


def _at(text: str | None, app: App) -> datetime:
    """``--at``: ISO 8601; a time without an offset is local time in the policy's zone."""
    if not text:
        return app.clock.now()
    from testrota.compliance.results_parse import parse_sampled_at

    try:
        return parse_sampled_at(text, app.policy.tz)
    except ValueError as exc:
        raise UserError("--at: {problem}", problem=str(exc)) from None


def checkin(
    employee_no: Annotated[
        str, typer.Argument(help="Employee number or personal code (typed or scanned).")
    ],
    site: Annotated[str | None, typer.Option("--site", help="Testing site code.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When the sample was taken (default: now).")
    ] = None,
    tube: Annotated[
        str | None, typer.Option("--tube", help="The open tube the swab goes into.")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Record that a person was sampled at a testing site."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.checkin import CheckIn, check_in

        result = check_in(
            app,
            CheckIn(
                employee_no, Actor.cli(), site=site, at=_at(at, app) if at else None, tube=tube
            ),
        )
        if json_out:
            emit_json(jsonable(result, app.tz))
        else:
            parts = [say(p["template"], **p["params"]) for p in result.message_parts]
            typer.echo(" ".join(parts) if parts else result.message)


def results_import(
    file: Annotated[Path, typer.Argument(help="Result sheet: .xlsx, .xls, .ods or .csv.")],
    sheet: Annotated[str | None, typer.Option("--sheet", help="Read only this sheet.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show everything, write nothing.")
    ] = False,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors", help="Write the rows that match nobody and the row errors to this .xlsx."
        ),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Import test results (lab, outside booths); rows matching nobody are listed."""
    with user_errors():
        if errors is not None:
            writable_output(errors, "--errors", ".xlsx")
        app = make_app(db)
        from testrota.actions.results import ImportResults, import_results

        def progress(stage: str) -> None:
            if not json_out:
                typer.echo(say("… {stage}", stage=say(stage)), err=True)

        summary = import_results(
            app,
            ImportResults(
                file,
                Actor.cli(),
                sheet=sheet,
                dry_run=dry_run,
                errors_report=errors,
                lang=current_language(),
                progress=progress,
            ),
        )
        if json_out:
            emit_json(in_language(jsonable(summary, app.tz)))
        else:
            _print_results_import(summary)


def _print_results_import(summary: ResultsImport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = summary.file_name + (say(" (dry run: nothing written)") if summary.dry_run else "")
    counts = Table(title=title)
    figures = {
        "rows": summary.rows,
        "recorded": summary.recorded,
        "added": summary.added,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "positives": summary.positives,
        "unmatched": len(summary.unmatched),
        "errors": len(summary.errors),
    }
    for key in figures:
        counts.add_column(count_header(key), justify="right")
    counts.add_row(*(str(v) for v in figures.values()))
    console.print(counts)
    for title, items, cols in (
        ("{n} rows that match no person", summary.unmatched, ("sheet", "row", "value", "message")),
        ("{n} row errors", summary.errors, ("sheet", "row", "column", "value", "message")),
    ):
        if items:
            table = Table(title=say(title, n=len(items)))
            for c in cols:
                table.add_column(header(c))
            for item in items[:200]:
                table.add_row(
                    *(problem(item) if c == "message" else str(getattr(item, c)) for c in cols)
                )
            console.print(table)
            if len(items) > 200:
                console.print(say("… and {n} more (use --json for all)", n=len(items) - 200))
    for alert in summary.alerts:
        console.print(
            "[bold red]"
            + escape(say("POSITIVE"))
            + "[/] "
            + escape(
                say(
                    "{employee_no}: alert {alert_id}, {contacts} contacts (testrota alerts)",
                    employee_no=alert.employee_no,
                    alert_id=alert.alert_id,
                    contacts=alert.contacts,
                )
            )
        )
    _print_booking(summary.contacts_booking, console.print)
    if summary.tubes is not None:
        t = summary.tubes
        console.print(
            say(
                "tubes: {negative} negative, {positive} positive, {invalid} invalid, "
                "{unknown} unknown; {members} samples updated",
                **t,
            )
        )
    if summary.rechecks is not None:
        r = summary.rechecks
        console.print(
            say(
                "single-tube rechecks booked: {booked} of {people} ({already} already, "
                "{unscheduled} without a slot{error}), {texted} texted",
                booked=r.booked,
                people=r.people,
                already=r.already,
                unscheduled=len(r.unscheduled),
                error="; " + r.error if r.error else "",
                texted=r.texted,
            )
        )


def _print_booking(booking: ContactsBooking | None, echo: Callable[[str], Any]) -> None:
    if booking is not None:
        echo(
            say(
                "contacts booked for an extra test: {booked} of {contacts}",
                booked=booking.booked,
                contacts=booking.contacts,
            )
            + (f" ({booking.error})" if booking.error else "")
        )


def results_add(
    employee_no: Annotated[str, typer.Argument(help="Employee number.")],
    result: Annotated[
        str, typer.Option("--result", help="negative, positive, pending or invalid (阴性/阳性…).")
    ],
    at: Annotated[str | None, typer.Option("--at", help="Sampling time (default: now).")] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Site code, or an outside site's name.")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Record one result by hand (a lab phoning in a positive, an outside booth's slip)."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.results import RecordResult, record_result

        out = record_result(
            app,
            RecordResult(
                employee_no, result, Actor.cli(), sampled_at=_at(at, app) if at else None, site=site
            ),
        )
        if json_out:
            emit_json(jsonable(out, app.tz))
        else:
            typer.echo(
                say(
                    "{employee_no} ({name}): {result} at {at}: {status}",
                    employee_no=out.employee_no,
                    name=out.name,
                    result=words("result", out.result),
                    at=out.sampled_at.astimezone(app.tz).isoformat(),
                    status=out.status,
                )
            )
            for alert in out.alerts:
                typer.echo(
                    say(
                        "POSITIVE: alert {alert_id} with {contacts} contacts (testrota alerts)",
                        alert_id=alert.alert_id,
                        contacts=alert.contacts,
                    )
                )
            _print_booking(out.contacts_booking, typer.echo)


def missed(
    week: WeekOption = None,
    department: DepartmentOption = None,
    grid_unit: Annotated[
        str | None, typer.Option("--grid-unit", help="Only this grid unit.")
    ] = None,
    fmt: ExportFormatOption = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (xlsx: default missed-WEEK.xlsx)."),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Who missed a test: the list a supervisor follows up."""
    with user_errors():
        fmt = export_format(fmt, json_out, output)
        app = make_app(db)
        from testrota.actions.missed import Missed, list_missed
        from testrota.weeks import resolve_week

        wk = str(resolve_week(week, app.now(), app.policy))
        rows = list_missed(app, Missed(wk, _departments(department), grid_unit=grid_unit))
        tz = app.tz
        if fmt == "xlsx":
            from testrota.compliance.export import MISSED_COLUMNS, MISSED_HEADERS, write_xlsx

            target = output or Path(f"missed-{wk}.xlsx")
            write_xlsx(
                target,
                rows,
                MISSED_COLUMNS,
                headers=MISSED_HEADERS,
                title=f"漏检 missed {wk}",
                tz=tz,
            )
            typer.echo(
                say("{n} missed tests written to {target}", n=len(rows), target=target), err=True
            )
        elif fmt == "csv":
            from testrota.compliance.export import MISSED_COLUMNS, write_csv

            _to_text(output, lambda out: write_csv(out, rows, MISSED_COLUMNS, tz=tz))
        elif fmt == "json":
            doc = jsonable(rows, tz)
            if output is not None:
                import json

                output.write_text(
                    json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
                )
            else:
                emit_json(doc)
        else:
            shown = [_table_row(r, tz) for r in rows]
            rows_as(
                "table",
                shown,
                TABLE_COLUMNS,
                title=say("Missed tests {week} ({n})", week=wk, n=len(rows)),
            )


def _to_text(output: Path | None, write: Any) -> None:
    if output is None:
        write(sys.stdout)
        return
    # utf-8-sig: Excel in China opens a BOM-less UTF-8 CSV as GBK and garbles the names.
    with output.open("w", encoding="utf-8-sig", newline="") as fh:
        write(fh)


# A terminal is narrow: the table keeps what a supervisor scans; json/csv/xlsx have every field.
TABLE_COLUMNS = [
    "employee_no",
    "name",
    "department",
    "grid_unit",
    "role",
    "slot",
    "tests",
    "in_row",
    "last_test",
]


# The catalogue's keys for the days of the week (周一 … 周日), by date.weekday(); strftime's
# %a would follow the process's locale instead of --lang.
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _table_row(row: MissedRow, tz: tzinfo) -> dict[str, Any]:
    tests = f"{row.tests_this_week}/{row.required}"
    # English keeps the short "ok" it always printed; Chinese says 已达标, as the web page does
    compliant = "ok" if current_language() == "en" else say("compliant")
    slot = row.slot_start.astimezone(tz)
    return {
        "employee_no": row.employee_no,
        "name": row.name,
        "department": row.department,
        "grid_unit": row.grid_unit,
        "role": row.role,
        "slot": say(WEEKDAYS[slot.weekday()]) + slot.strftime(" %m-%d %H:%M"),
        "tests": tests + (" " + compliant if row.compliant_this_week else ""),
        "in_row": row.weeks_missed_in_row,
        "last_test": row.last_test_date.isoformat() if row.last_test_date else "-",
    }


def compliance(
    week: WeekOption = None,
    department: DepartmentOption = None,
    weeks: Annotated[
        int | None, typer.Option("--weeks", help="Weeks in the trend (default: policy).")
    ] = None,
    fmt: FormatOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Compliance per department and grid unit, with the trend over recent weeks."""
    with user_errors():
        fmt = output_format(fmt, json_out)
        if weeks is not None and not 1 <= weeks <= 52:
            raise UserError("--weeks must be between 1 and 52")
        app = make_app(db)
        from testrota.actions.compliance import Compliance, compliance_report

        report = compliance_report(app, Compliance(week, _departments(department), weeks))
        if fmt == "json":
            emit_json(jsonable(report, app.tz))
            return
        if fmt == "csv":
            from testrota.compliance.export import write_csv

            flat = [
                *({"level": "department", **_figures(g)} for g in report.departments),
                *({"level": "grid_unit", **_figures(g)} for g in report.grid_units),
                {"level": "total", **_figures(report.total)},
            ]
            columns = [
                "level",
                "department",
                "grid_unit",
                "people",
                "required",
                "scheduled",
                "done",
                "missed",
                "excused",
                "tests",
                "compliant_people",
                "rate",
            ]
            write_csv(sys.stdout, flat, [*columns, "trend"])
            return
        _print_compliance(report)


def _figures(g: GroupFigures) -> dict[str, Any]:
    """A group's figures as one CSV row: the trend as ``2022-W18=33% 2022-W19=40%``."""
    return {
        "department": g.department,
        "grid_unit": g.grid_unit,
        "people": g.people,
        "required": g.required,
        "scheduled": g.scheduled,
        "done": g.done,
        "missed": g.missed,
        "excused": g.excused,
        "tests": g.tests,
        "compliant_people": g.compliant_people,
        "rate": g.rate,
        "trend": " ".join(f"{t.week}={_pct(t.rate)}" for t in g.trend),
    }


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


_SHORT = {"required": "req."}


def _print_compliance(report: ComplianceReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    weeks = " ".join(w.split("-")[1] for w in report.weeks)
    levels: tuple[tuple[str, list[GroupFigures], list[str]], ...] = (
        ("Compliance {week}: departments", [*report.departments, report.total], ["department"]),
        ("Compliance {week}: grid units", report.grid_units, ["department", "grid_unit"]),
    )
    for title, groups, level_cols in levels:
        table = Table(title=say(title, week=report.week))
        # Narrow terminals: the table keeps the key figures; json/csv have every field.
        cols = [*level_cols, "people", "required", "tests", "missed", "rate"]
        for c in cols:
            if c in level_cols:
                table.add_column(header(c), no_wrap=True, min_width=6)
            else:
                table.add_column(header(_SHORT.get(c, c)), justify="right")
        table.add_column(say("trend {weeks}", weeks=weeks))
        for g in groups:
            cells = [
                _pct(g.rate)
                if c == "rate"
                else str(getattr(g, c) or "")
                if c in level_cols
                else str(getattr(g, c))
                for c in cols
            ]
            if g is report.total:
                cells[0] = "[bold]" + escape(say("total")) + "[/]"
            table.add_row(*cells, " ".join(_pct(t.rate) for t in g.trend))
        console.print(table)


def alerts_list(
    ctx_: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Closed alerts too.")] = False,
    department: DepartmentOption = None,
    fmt: FormatOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Open positive-result alerts with the people to look at (same grid unit, same slot)."""
    if ctx_.invoked_subcommand is not None:
        return
    with user_errors():
        fmt = output_format(fmt, json_out)
        app = make_app(db)
        from testrota.actions.alerts import Alerts, list_alerts

        alerts = list_alerts(app, Alerts(_departments(department), closed=all_))
        if fmt == "json":
            emit_json(jsonable(alerts, app.tz))
            return
        tz = app.tz
        if fmt == "csv":
            from testrota.compliance.export import write_csv

            flat = [
                {
                    "alert_id": a.id,
                    "status": a.status,
                    "case_employee_no": a.employee_no,
                    "case_name": a.name,
                    "sampled_at": a.sampled_at,
                    "site": a.site,
                    **(
                        {f"contact_{k}": getattr(c, k) for k in CONTACT_FIELDS}
                        if c
                        else dict.fromkeys(f"contact_{k}" for k in CONTACT_FIELDS)
                    ),
                }
                for a in alerts
                for c in _or_none(a.contacts)
            ]
            columns = [
                "alert_id",
                "status",
                "case_employee_no",
                "case_name",
                "sampled_at",
                "site",
                *(f"contact_{k}" for k in CONTACT_FIELDS),
            ]
            write_csv(sys.stdout, flat, columns, tz=tz)
            return
        if not alerts:
            typer.echo(say("no open alerts"), err=True)
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        for a in alerts:
            case = (
                f"{a.name} ({a.employee_no}), {a.department} / {a.grid_unit or '-'}"
                if a.case_visible
                else say("a positive case in another department")
            )
            table = Table(
                title=say(
                    "Alert {id} ({status}): {case}, sampled {at} at {site}: {contacts} contacts",
                    id=a.id,
                    status=words("alert", a.status),
                    case=case,
                    at=_local(a.sampled_at, tz),
                    site=a.site or "-",
                    contacts=a.contact_count,
                )
            )
            for name in ("employee_no", "name", "department", "grid_unit", "reason", "extra test"):
                table.add_column(header(name))
            for c in a.contacts:
                table.add_row(
                    c.employee_no,
                    c.name,
                    c.department,
                    c.grid_unit,
                    words("contact_reason", c.reason),
                    _local(c.extra_slot_start, tz) or "-",
                )
            console.print(table)


def _or_none(items: list[T]) -> list[T | None]:
    """The items, or one None in their place (a row of its own for an alert without any)."""
    return [*items] if items else [None]


CONTACT_FIELDS = ("employee_no", "name", "department", "grid_unit", "reason", "extra_slot_start")


def _local(value: datetime | None, tz: tzinfo) -> str:
    """A time as the terminal shows it: local, to the minute."""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def _departments(department: list[str] | None) -> Scope:
    """``--department`` (repeatable): those departments only; none given: all of them."""
    from testrota.auth.scope import Scope

    return Scope.of(department) if department else Scope.everything()


def alerts_close(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Close an alert once the case has been handled."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.alerts import CloseAlert, close_alert

        out = close_alert(app, CloseAlert(alert_id, Actor.cli()))
        if json_out:
            emit_json(jsonable(out, app.tz))
        else:
            typer.echo(
                say("alert {id} closed", id=alert_id)
                if out.changed
                else say("alert {id} was already closed", id=alert_id)
            )


def excuse(
    employee_no: Annotated[str, typer.Argument(help="Employee number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (leave, sick, trip ...).")],
    week: WeekOption = None,
    on: Annotated[
        str | None,
        typer.Option(
            "--date", help="Excuse that day's appointments (YYYY-MM-DD), also ones not yet due."
        ),
    ] = None,
    appointment: Annotated[
        int | None, typer.Option("--appointment", help="Excuse this appointment id.")
    ] = None,
    code: ExcuseCodeOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Excuse a person's missed tests of a week (or one day's appointments) with a reason."""
    with user_errors():
        day: date | None = None
        if on:
            try:
                day = date.fromisoformat(on.strip())
            except ValueError:
                raise UserError("--date {text!r}: write it like 2022-05-09", text=on) from None
        app = make_app(db)
        from testrota.actions.excuse import Excuse
        from testrota.actions.excuse import excuse as excuse_appointments

        out = excuse_appointments(
            app,
            Excuse(
                employee_no,
                reason,
                Actor.cli(),
                week=week,
                on=day,
                appointment_id=appointment,
                code=code,
            ),
        )
        if json_out:
            emit_json(jsonable(out, app.tz))
        else:
            for e in out.excused:
                typer.echo(
                    say(
                        "excused {employee_no} ({name}) {at} at {site} (was {previous}): {reason}",
                        employee_no=out.employee_no,
                        name=out.name,
                        at=e.slot_start.astimezone(app.tz).isoformat(),
                        site=e.site,
                        previous=words("appointment", e.previous_status),
                        reason=out.reason,
                    )
                )


def flag(json_out: JsonOption = False, db: DbOption = None) -> None:
    """Flag due appointments as done or missed now (the worker does this every few minutes)."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.flagging import FlagDue, flag_due

        report = flag_due(app, FlagDue())
        if json_out:
            emit_json(jsonable(report))
        else:
            typer.echo(
                say("flagged {missed} missed, {done} done", missed=report.missed, done=report.done),
                err=True,
            )


def status(
    employee_no: Annotated[str, typer.Argument(help="Employee number.")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """A person's standing this week: green (compliant), amber (due) or red (missed)."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.status import Status, person_status

        out = person_status(app, Status(employee_no))
        if json_out:
            emit_json(jsonable(out, app.tz))
        else:
            next_slot = (
                out.next_slot_start.astimezone(app.tz).isoformat() if out.next_slot_start else None
            )
            typer.echo(
                say(
                    "{status}: {name} ({employee_no}) {tests}/{required} tests in {week}",
                    status=say(out.status.upper()),
                    name=out.name,
                    employee_no=out.employee_no,
                    tests=out.tests_this_week,
                    required=out.required,
                    week=out.week,
                )
                + (say(", {n} missed", n=out.missed_this_week) if out.missed_this_week else "")
                + (
                    say("; next slot {at} at {site}", at=next_slot, site=out.next_slot_site)
                    if next_slot
                    else ""
                )
            )

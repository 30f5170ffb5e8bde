"""Commands of the compliance area: check-in, results, missed, compliance, alerts, excuses."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from testrota.app import App
from testrota.audit import Actor
from testrota.cli.common import (
    DbOption,
    FormatOption,
    JsonOption,
    emit_json,
    make_app,
    output_format,
    rows_as,
    user_errors,
    writable_output,
)
from testrota.errors import UserError
from testrota.jsonable import jsonable

ACTOR = "cli"
WeekOption = Annotated[
    str | None, typer.Option("--week", help="ISO week, e.g. 2022-W19 (default: this week).")
]
DepartmentOption = Annotated[
    list[str] | None,
    typer.Option("--department", help="Only this department (repeat for several)."),
]


def register(app: typer.Typer) -> None:
    app.command("checkin")(checkin)
    results = typer.Typer(help="Test results: import lab sheets, record one result.",
                          no_args_is_help=True)
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
        raise UserError(f"--at: {exc}") from None


def checkin(
    employee_no: Annotated[str, typer.Argument(help="Employee number (typed or scanned).")],
    site: Annotated[str | None, typer.Option("--site", help="Testing site code.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When the sample was taken (default: now).")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Record that a person was sampled at a testing site."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.checkin import CheckIn, check_in

        result = check_in(app, CheckIn(employee_no, Actor.cli(), site=site,
                                       at=_at(at, app) if at else None))
        if json_out:
            emit_json(jsonable(result, app.tz))
        else:
            typer.echo(result.message)


def results_import(
    file: Annotated[Path, typer.Argument(help="Result sheet: .xlsx, .xls, .ods or .csv.")],
    sheet: Annotated[str | None, typer.Option("--sheet", help="Read only this sheet.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show everything, write nothing.")
    ] = False,
    errors: Annotated[
        Path | None, typer.Option("--errors", help="Write the rows that match nobody and the "
                                  "row errors to this .xlsx.")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Import test results (lab, outside booths); rows matching nobody are listed."""
    with user_errors():
        if errors is not None:
            writable_output(errors, "--errors", ".xlsx")
        app = make_app(db)
        from testrota.compliance.service import import_results

        def progress(stage: str) -> None:
            if not json_out:
                typer.echo(f"… {stage}", err=True)

        summary = import_results(
            app.engine,
            file,
            app.policy,
            app.config_dir,
            ACTOR,
            app.clock.now(),
            sheet=sheet,
            dry_run=dry_run,
            progress=progress,
            errors_report=errors,
        )
        if json_out:
            emit_json(summary)
        else:
            _print_results_import(summary)


def _print_results_import(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = summary["file_name"] + (" (dry run: nothing written)" if summary["dry_run"] else "")
    counts = Table(title=title)
    keys = ("rows", "recorded", "added", "updated", "unchanged", "positives")
    for key in (*keys, "unmatched", "errors"):
        counts.add_column(key, justify="right")
    counts.add_row(
        *(str(summary[k]) for k in keys),
        str(len(summary["unmatched"])),
        str(len(summary["errors"])),
    )
    console.print(counts)
    for title, key, cols in (
        ("rows that match no person", "unmatched", ("sheet", "row", "value", "message")),
        ("row errors", "errors", ("sheet", "row", "column", "value", "message")),
    ):
        items = summary[key]
        if items:
            table = Table(title=f"{len(items)} {title}")
            for c in cols:
                table.add_column(c)
            for item in items[:200]:
                table.add_row(*(str(item.get(c, "")) for c in cols))
            console.print(table)
            if len(items) > 200:
                console.print(f"… and {len(items) - 200} more (use --json for all)")
    for alert in summary.get("alerts", []):
        console.print(
            f"[bold red]POSITIVE[/] {alert['employee_no']}: alert {alert['alert_id']}, "
            f"{alert['contacts']} contacts (testrota alerts)"
        )
    booking = summary.get("contacts_booking")
    if booking:
        console.print(f"contacts booked for an extra test: {booking.get('booked', 0)}"
                      + (f" ({booking['error']})" if booking.get("error") else ""))


def results_add(
    employee_no: Annotated[str, typer.Argument(help="Employee number.")],
    result: Annotated[
        str, typer.Option("--result", help="negative, positive, pending or invalid (阴性/阳性…).")
    ],
    at: Annotated[
        str | None, typer.Option("--at", help="Sampling time (default: now).")
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Site code, or an outside site's name.")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Record one result by hand (a lab phoning in a positive, an outside booth's slip)."""
    with user_errors():
        app = make_app(db)
        from testrota.compliance.service import record_result

        out = record_result(
            app.engine,
            employee_no,
            _at(at, app),
            result,
            actor=ACTOR,
            now=app.clock.now(),
            policy=app.policy,
            config_dir=app.config_dir,
            site=site,
        )
        if json_out:
            emit_json(out)
        else:
            typer.echo(f"{out['employee_no']} ({out['name']}): {out['result']} at "
                       f"{out['sampled_at']}: {out['status']}")
            for alert in out["alerts"]:
                typer.echo(f"POSITIVE: alert {alert['alert_id']} with {alert['contacts']} "
                           "contacts (testrota alerts)")


def missed(
    week: WeekOption = None,
    department: DepartmentOption = None,
    grid_unit: Annotated[
        str | None, typer.Option("--grid-unit", help="Only this grid unit.")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="table (the default), json, csv or xlsx; "
                                 "--json is --format json.", show_default=False)
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (xlsx: default "
                                  "missed-WEEK.xlsx).")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Who missed a test: the list a supervisor follows up."""
    with user_errors():
        fmt = output_format(fmt, json_out, ("table", "json", "csv", "xlsx"))
        if output is not None and fmt == "table":
            raise UserError("--output needs --format json, csv or xlsx")
        if output is not None:
            writable_output(output, "--output")
        app = make_app(db)
        from testrota.compliance.reports import MISSED_COLUMNS, missed_list, resolve_week

        now = app.clock.now()
        wk = resolve_week(week, now, app.policy)
        rows = missed_list(
            app.engine, now, app.policy, week=str(wk), departments=department or None,
            grid_unit=grid_unit, config_dir=app.config_dir,
        )
        if fmt == "xlsx":
            from testrota.compliance.export import MISSED_HEADERS, write_xlsx

            target = output or Path(f"missed-{wk}.xlsx")
            write_xlsx(target, rows, MISSED_COLUMNS, headers=MISSED_HEADERS,
                       title=f"漏检 missed {wk}", datetime_columns=["slot_start"],
                       date_columns=["last_test_date"])
            typer.echo(f"{len(rows)} missed tests written to {target}", err=True)
        elif fmt == "csv":
            from testrota.compliance.export import write_csv

            _to_text(output, lambda out: write_csv(out, rows, MISSED_COLUMNS))
        elif fmt == "json":
            if output is not None:
                import json

                output.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n",
                                  encoding="utf-8")
            else:
                emit_json(rows)
        else:
            shown = [_table_row(r) for r in rows]
            rows_as("table", shown, TABLE_COLUMNS, title=f"Missed tests {wk} ({len(rows)})")


def _to_text(output: Path | None, write: Any) -> None:
    if output is None:
        write(sys.stdout)
        return
    # utf-8-sig: Excel in China opens a BOM-less UTF-8 CSV as GBK and garbles the names.
    with output.open("w", encoding="utf-8-sig", newline="") as fh:
        write(fh)


# A terminal is narrow: the table keeps what a supervisor scans; json/csv/xlsx have every field.
TABLE_COLUMNS = ["employee_no", "name", "department", "grid_unit", "role", "slot", "tests",
                 "in_row", "last_test"]


def _table_row(row: dict[str, Any]) -> dict[str, Any]:
    start = datetime.fromisoformat(row["slot_start"])
    tests = f"{row['tests_this_week']}/{row['required']}"
    return {
        **row,
        "slot": start.strftime("%a %m-%d %H:%M"),
        "tests": tests + (" ok" if row["compliant_this_week"] else ""),
        "in_row": row["weeks_missed_in_row"],
        "last_test": row["last_test_date"] or "-",
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
        from testrota.compliance.service import compliance_report

        report = compliance_report(
            app.engine, app.clock.now(), app.policy, week=week,
            departments=department or None, weeks=weeks, config_dir=app.config_dir,
        )
        if fmt == "json":
            emit_json(report)
            return
        flat = [
            {"level": "department", **g} for g in report["departments"]
        ] + [{"level": "grid_unit", **g} for g in report["grid_units"]]
        flat.append({"level": "total", **report["total"]})
        columns = ["level", "department", "grid_unit", "people", "required", "scheduled",
                   "done", "missed", "excused", "tests", "compliant_people", "rate"]
        if fmt == "csv":
            from testrota.compliance.export import write_csv

            for row in flat:
                row["trend"] = " ".join(
                    f"{t['week']}={_pct(t['rate'])}" for t in row["trend"]
                )
            write_csv(sys.stdout, flat, [*columns, "trend"])
            return
        _print_compliance(report, columns)


def _pct(rate: Any) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


_SHORT = {"required": "req."}


def _print_compliance(report: dict[str, Any], columns: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    weeks = " ".join(w.split("-")[1] for w in report["weeks"])
    for title, key, level_cols in (
        ("departments", "departments", ["department"]),
        ("grid units", "grid_units", ["department", "grid_unit"]),
    ):
        table = Table(title=f"Compliance {report['week']}: {title}")
        # Narrow terminals: the table keeps the key figures; json/csv have every field.
        cols = [*level_cols, "people", "required", "tests", "missed", "rate"]
        for c in cols:
            if c in level_cols:
                table.add_column(c, no_wrap=True, min_width=6)
            else:
                table.add_column(_SHORT.get(c, c), justify="right")
        table.add_column(f"trend {weeks}")
        for g in [*report[key], *([report["total"]] if key == "departments" else [])]:
            cells = [
                _pct(g[c]) if c == "rate" else str(g[c] if g[c] is not None else "")
                for c in cols
            ]
            if key == "departments" and g is report["total"]:
                cells[0] = "[bold]total[/]"
            table.add_row(*cells, " ".join(_pct(t["rate"]) for t in g["trend"]))
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
        from testrota.compliance.service import list_alerts

        alerts = list_alerts(
            app.engine, app.policy, status=None if all_ else "open",
            departments=department or None,
        )
        if fmt == "json":
            emit_json(alerts)
            return
        flat = [
            {
                "alert_id": a["id"],
                "status": a["status"],
                "case_employee_no": a["employee_no"],
                "case_name": a["name"],
                "sampled_at": a["sampled_at"],
                "site": a["site"],
                **{f"contact_{k}": c[k] for k in ("employee_no", "name", "department",
                                                  "grid_unit", "reason", "extra_slot_start")},
            }
            for a in alerts
            for c in (a["contacts"] or [dict.fromkeys(
                ("employee_no", "name", "department", "grid_unit", "reason",
                 "extra_slot_start"))])
        ]
        if fmt == "csv":
            from testrota.compliance.export import write_csv

            write_csv(sys.stdout, flat, list(flat[0]) if flat else ["alert_id"])
            return
        if not alerts:
            typer.echo("no open alerts", err=True)
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        for a in alerts:
            case = (f"{a['name']} ({a['employee_no']}), {a['department']} / "
                    f"{a['grid_unit'] or '-'}" if a["case_visible"]
                    else "a positive case in another department")
            table = Table(
                title=f"Alert {a['id']} ({a['status']}): {case}, sampled {a['sampled_at']} at "
                f"{a['site'] or '-'}: {a['contact_count']} contacts"
            )
            for c in ("employee_no", "name", "department", "grid_unit", "reason", "extra test"):
                table.add_column(c)
            for c in a["contacts"]:
                table.add_row(c["employee_no"], c["name"], c["department"], c["grid_unit"],
                              c["reason"], c["extra_slot_start"] or "-")
            console.print(table)


def alerts_close(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Close an alert once the case has been handled."""
    with user_errors():
        app = make_app(db)
        from testrota.compliance.service import close_alert

        out = close_alert(app.engine, alert_id, ACTOR, app.clock.now())
        if json_out:
            emit_json(out)
        else:
            typer.echo(f"alert {alert_id} closed" if out["changed"] else
                       f"alert {alert_id} was already closed")


def excuse(
    employee_no: Annotated[str, typer.Argument(help="Employee number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (leave, sick, trip ...).")],
    week: WeekOption = None,
    on: Annotated[
        str | None, typer.Option("--date", help="Excuse that day's appointments (YYYY-MM-DD), "
                                 "also ones not yet due.")
    ] = None,
    appointment: Annotated[
        int | None, typer.Option("--appointment", help="Excuse this appointment id.")
    ] = None,
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
                raise UserError(f"--date {on!r}: write it like 2022-05-09") from None
        app = make_app(db)
        from testrota.compliance.service import excuse as excuse_service

        out = excuse_service(
            app.engine, employee_no, reason, actor=ACTOR, now=app.clock.now(),
            policy=app.policy, week=week, on=day, appointment_id=appointment,
        )
        if json_out:
            emit_json(out)
        else:
            for e in out["excused"]:
                typer.echo(f"excused {out['employee_no']} ({out['name']}) {e['slot_start']} "
                           f"at {e['site']} (was {e['previous_status']}): {out['reason']}")


def flag(json_out: JsonOption = False, db: DbOption = None) -> None:
    """Flag due appointments as done or missed now (the worker does this every few minutes)."""
    with user_errors():
        app = make_app(db)
        from testrota.compliance.service import flag_due

        report = flag_due(app.engine, app.clock.now(), app.policy)
        if json_out:
            emit_json({"missed": report.missed, "done": report.done})
        else:
            typer.echo(f"flagged {report.missed} missed, {report.done} done", err=True)


def status(
    employee_no: Annotated[str, typer.Argument(help="Employee number.")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """A person's standing this week: green (compliant), amber (due) or red (missed)."""
    with user_errors():
        app = make_app(db)
        from testrota.compliance.service import person_status

        out = person_status(
            app.engine, employee_no, app.clock.now(), app.policy, config_dir=app.config_dir
        )
        if json_out:
            emit_json(out)
        else:
            typer.echo(
                f"{out['status'].upper()}: {out['name']} ({out['employee_no']}) "
                f"{out['tests_this_week']}/{out['required']} tests in {out['week']}"
                + (f", {out['missed_this_week']} missed" if out["missed_this_week"] else "")
                + (f"; next slot {out['next_slot_start']} at {out['next_slot_site']}"
                   if out["next_slot_start"] else "")
            )

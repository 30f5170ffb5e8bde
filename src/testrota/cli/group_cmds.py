"""Commands of the group (issue 15): the unit tree and the daily report (日报)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from testrota.audit import Actor
from testrota.cli.common import (
    DbOption,
    ExportFormatOption,
    FormatOption,
    JsonOption,
    emit_json,
    export_format,
    make_app,
    output_format,
    rows_as,
    user_errors,
)
from testrota.cli.lang import code, say
from testrota.errors import UserError
from testrota.jsonable import jsonable

UNIT_COLUMNS = ["path", "name", "level", "level_name", "kind", "code", "people"]
# The JSON contract of ``report daily`` (issue 15), in this order; more fields follow.
REPORT_FIELDS = [
    "path",
    "name",
    "level",
    "people",
    "employees",
    "co_residents",
    "third_party",
    "required",
    "tested",
    "untested",
    "untested_by_reason",
    "rate",
    "pooled",
    "single",
    "pool_positive",
    "positive",
    "booster_share",
    "extra",
    "confirmed",
]
TABLE_COLUMNS = [
    "unit",
    "people",
    "required",
    "tested",
    "untested",
    "rate",
    "extra",
    "mode",
    "confirmed",
]


def register(app: typer.Typer) -> None:
    app.command("units")(units)
    report = typer.Typer(help="The group's daily report (日报) and its confirmation upward.")
    report.command("daily")(report_daily)
    report.command("confirm")(report_confirm)
    app.add_typer(report, name="report")
    mode = typer.Typer(help="Units' emergency modes (静态管控, 驻厂, 居家办公, 保产保供).")
    mode.command("set")(mode_set)
    app.add_typer(mode, name="mode")
    rollup = typer.Typer(help="The daily roll-up the reports and the dashboard read.")
    rollup.command("rebuild")(rollup_rebuild)
    app.add_typer(rollup, name="rollup")


def rollup_rebuild(
    first: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD); default: the first.")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Last day (YYYY-MM-DD); default: the last.")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Count the daily roll-up again from raw rows (after an upgrade, or a new time zone)."""
    with user_errors():
        start = _day(first, "--from") if first else None
        end = _day(last, "--to") if last else None
        app = make_app(db)
        from testrota.actions.rollup import RebuildRollup, rebuild_rollup

        done = rebuild_rollup(app, RebuildRollup(Actor.cli(), start, end))
        if json_out:
            emit_json(jsonable(done, app.tz))
        else:
            typer.echo(
                f"counted {done.days} days from {done.first or '-'} to {done.last or '-'}: "
                f"{done.rows} unit-days"
            )


def units(fmt: FormatOption = None, json_out: JsonOption = False, db: DbOption = None) -> None:
    """The group's units, from the root down to teams and grid units, with their people."""
    with user_errors():
        chosen = output_format(fmt, json_out)
        app = make_app(db)
        from testrota.actions.units import ListUnits, list_units

        listed = jsonable(list_units(app, ListUnits(Actor.cli())), app.tz)
        rows_as(
            chosen,
            listed,
            UNIT_COLUMNS,
            title=say("Units ({n})", n=len(listed)),
            codes={"kind": "unit_kind"},
            # a unit's name is 名称: the field's own words (姓名) are a person's name
            words={"name": "unit_name"},
        )


def _day(text: str, option: str = "--date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            "{option} {value!r}: write it like 2022-05-09", option=option, value=text
        ) from None


def report_daily(
    on: Annotated[str, typer.Option("--date", help="The day (YYYY-MM-DD), local time.")],
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="A unit's path (or code); default: the whole group."),
    ] = None,
    levels: Annotated[
        int | None, typer.Option("--levels", help="Levels below the unit to show (default: all).")
    ] = None,
    fmt: ExportFormatOption = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (xlsx: default 日报-DATE.xlsx)."),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """One day's testing figures per unit, each including the units below it."""
    with user_errors():
        chosen = export_format(fmt, json_out, output, xlsx_suffix=True)
        day = _day(on)
        app = make_app(db)
        from testrota.actions.report import DailyReport, daily_report
        from testrota.org import workbook

        out = daily_report(app, DailyReport(day, Actor.cli(), unit=unit, levels=levels))
        tz, reasons = app.tz, app.policy.report.excuse_reasons
        if chosen == "xlsx":
            target = output or Path(f"日报-{day.isoformat()}.xlsx")
            workbook.write_daily_xlsx(
                target, out.rows, reasons=reasons, day=day, unit=out.unit, tz=tz
            )
            typer.echo(
                say("{n} units written to {target}", n=len(out.rows), target=target), err=True
            )
        elif chosen == "csv":
            from testrota.compliance.export import write_csv

            flat = [workbook.flat(r, tz) for r in out.rows]
            columns = workbook.csv_columns(reasons)
            if output is None:
                write_csv(sys.stdout, flat, columns, tz=tz)
            else:
                with output.open("w", encoding="utf-8-sig", newline="") as fh:
                    write_csv(fh, flat, columns, tz=tz)
        elif chosen == "json":
            doc = [_json_row(jsonable(r, tz)) for r in out.rows]
            if output is None:
                emit_json(doc)
            else:
                output.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", "utf-8")
        else:
            shown = [_table_row(r) for r in out.rows]
            rows_as(
                "table",
                shown,
                TABLE_COLUMNS,
                title=say("Daily report {unit} {day}", unit=out.unit, day=day),
            )


def report_confirm(
    on: Annotated[str, typer.Option("--date", help="The day whose figures (YYYY-MM-DD).")],
    unit: Annotated[str, typer.Option("--unit", help="The unit's path (or code).")],
    note: Annotated[str, typer.Option("--note", help="What was checked; shown upward.")] = "",
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Confirm a unit's daily figures upward (分级把关); the figures now are kept."""
    with user_errors():
        day = _day(on)
        app = make_app(db)
        from testrota.actions.report import ConfirmReport, confirm_report

        done = confirm_report(app, ConfirmReport(day, unit, Actor.cli(), note=note))
        if json_out:
            emit_json(jsonable(done, app.tz))
        else:
            typer.echo(
                say(
                    "confirmed {unit} {day} (late): tested {tested} of {required} required"
                    if done.late
                    else "confirmed {unit} {day} (on time): tested {tested} of {required} required",
                    unit=done.unit,
                    day=done.day,
                    tested=done.figures["tested"],
                    required=done.figures["required"],
                )
            )


def mode_set(
    mode: Annotated[str, typer.Argument(help="normal, static, onsite, wfh or keep-production.")],
    unit: Annotated[str, typer.Option("--unit", help="The unit's path (or code).")],
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (the notice, the case).")],
    end: Annotated[
        str | None, typer.Option("--to", help="Last day (default: until set again).")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Put a unit and everything below it in an emergency mode from a day."""
    with user_errors():
        first = _day(start, "--from")
        last = _day(end, "--to") if end else None
        app = make_app(db)
        from testrota.actions.modes import SetMode, set_mode

        done = set_mode(app, SetMode(unit, mode, first, reason, Actor.cli(), end=last))
        if json_out:
            emit_json(jsonable(done, app.tz))
        else:
            until = say(" to {end}", end=done.end) if done.end else ""
            typer.echo(
                say(
                    "{unit}: {mode} from {start}",
                    unit=done.unit,
                    mode=code("mode", done.mode),
                    start=done.start,
                )
                + until
            )
            for line in mode_set_lines(done.replanned, done.texted, done.not_texted):
                typer.echo(line)


def mode_set_lines(replanned: list[str], texted: int, not_texted: int) -> list[str]:
    """What a mode change did beyond the mode: the weeks planned again and who heard of it.
    People not texted are named apart, since the clerk must then tell them another way."""
    lines: list[str] = []
    if replanned:
        lines.append(say("weeks planned again: {weeks}", weeks=", ".join(replanned)))
    if texted:
        lines.append(say('"your plan changed" texted to {n} people', n=texted))
    if not_texted:
        lines.append(
            say(
                "{n} people whose plan changed could not be texted (no TESTROTA_SECRET_KEY to "
                "sign their link): tell them another way",
                n=not_texted,
            )
        )
    return lines


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    ordered = {k: row[k] for k in REPORT_FIELDS}
    ordered.update({k: v for k, v in row.items() if k not in ordered and k != "unit_id"})
    return ordered


def _table_row(row: Any) -> dict[str, Any]:
    return {
        "unit": "  " * row.level + row.name,
        "people": row.people,
        "required": row.required,
        "tested": row.tested,
        "untested": row.untested,
        "rate": "" if row.rate is None else f"{row.rate:.1%}",
        "extra": row.extra,
        "mode": code("mode", row.mode),
        "confirmed": _confirmed(row),
    }


def _confirmed(row: Any) -> str:
    """Who confirmed the unit's figures, else where its confirmation stands (late, waiting),
    in the CLI's language; English keeps the codes scripts read."""
    conf = row.confirmed
    if not conf:
        return code("confirmation", row.confirmation)
    if conf["changed"]:
        return say("changed: {by}", by=conf["by"])
    return str(conf["by"])

"""Commands of sampling day: badge sheets of personal codes (and, with them, tubes)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

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
)
from testrota.cli.lang import code, say
from testrota.errors import UserError
from testrota.jsonable import jsonable

if TYPE_CHECKING:
    from testrota.actions.tubes import TubeView
    from testrota.app import App

SHEET_SUFFIXES = (".png", ".pdf")


def register(app: typer.Typer) -> None:
    app.command("badges")(badges)
    tube = typer.Typer(help="Pooled tubes (混管) at a testing site.", no_args_is_help=True)
    tube.command("open")(tube_open)
    tube.command("close")(tube_close)
    tube.command("pack")(tube_pack)
    app.add_typer(tube, name="tube")
    app.command("tubes")(tubes)
    app.command("pools")(pools)


TUBE_COLUMNS = [
    "code",
    "site",
    "ratio",
    "status",
    "members",
    "opened_at",
    "closed_at",
    "result",
]


def _at(text: str | None, app: App) -> datetime | None:
    """``--at``: ISO 8601; a time without an offset is local time in the policy's zone."""
    if not text:
        return None
    from testrota.compliance.results_parse import parse_sampled_at

    try:
        return parse_sampled_at(text, app.policy.tz)
    except ValueError as exc:
        raise UserError("--at: {problem}", problem=str(exc)) from None


def tube_row(view: TubeView, app: App) -> dict[str, object]:
    """The JSON shape of a tube (README): the contract's fields first, then the rest."""
    row: dict[str, object] = jsonable(view, app.tz)
    row.pop("already", None)
    return row


def _say(view: TubeView, what: str) -> str:
    """``what``: the tube was opened or closed."""
    template = (
        "Tube {code} open{again} at {site}: {members}/{ratio}{left}, {status}."
        if what == "open"
        else "Tube {code} closed{again} at {site}: {members}/{ratio}{left}, {status}."
    )
    return say(
        template,
        code=view.code,
        again=say(" (already)") if view.already else "",
        site=view.site,
        members=len(view.members),
        ratio=view.ratio,
        left=say(", {n} place(s) left", n=view.places_left) if view.status == "open" else "",
        status=code("tube", view.status),
    )


def tube_open(
    code: Annotated[str, typer.Argument(help="The barcode on the tube.")],
    site: Annotated[str, typer.Option("--site", help="Testing site code.")],
    ratio: Annotated[
        int | None,
        typer.Option("--ratio", help="Swabs it takes: 1, 5, 10 or 20 (default: the policy's)."),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When it was opened (default: now).")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Open a tube at a site; swabs go in with `testrota checkin EMPNO --tube CODE`."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.tubes import OpenTube, open_tube

        view = open_tube(app, OpenTube(code, site, Actor.cli(), ratio=ratio, at=_at(at, app)))
        if json_out:
            emit_json({**tube_row(view, app), "already": view.already})
        else:
            typer.echo(_say(view, "open"))


def tube_close(
    code: Annotated[str, typer.Argument(help="The barcode on the tube.")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Close a tube before its ratio (it closes by itself when full)."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.tubes import CloseTube, close_tube

        view = close_tube(app, CloseTube(code, Actor.cli()))
        if json_out:
            emit_json({**tube_row(view, app), "already": view.already})
        else:
            typer.echo(_say(view, "closed"))


def tube_pack(
    site: Annotated[str, typer.Option("--site", help="Testing site code.")],
    count: Annotated[
        int, typer.Option("--count", help="The tubes counted into the courier's box.")
    ],
    day: Annotated[
        str | None, typer.Option("--date", help="The local day, YYYY-MM-DD (default: today).")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Hand the day's closed tubes to the courier: the count must be the system's."""
    with user_errors():
        wanted = _day(day)
        app = make_app(db)
        from testrota.actions.tubes import PackTubes, pack_tubes

        packed = pack_tubes(app, PackTubes(site, count, Actor.cli(), wanted))
        if json_out:
            emit_json(jsonable(packed, app.tz))
        else:
            typer.echo(
                say(
                    "{n} tube(s), {swabs} swabs packed{again} at {site} for {day}: {tubes}",
                    n=len(packed.tubes),
                    swabs=packed.swabs,
                    again=say(" (already)") if packed.already else "",
                    site=packed.site,
                    day=packed.day.isoformat(),
                    tubes=" ".join(packed.tubes),
                )
            )


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text else None
    except ValueError:
        raise UserError("--date {day!r}: use YYYY-MM-DD", day=text) from None


def tubes(
    day: Annotated[
        str | None, typer.Option("--date", help="The local day, YYYY-MM-DD (default: today).")
    ] = None,
    site: Annotated[str | None, typer.Option("--site", help="Only this site.")] = None,
    fmt: FormatOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The tubes of a day with their members: code, site, ratio, status, result."""
    with user_errors():
        chosen = output_format(fmt, json_out)
        wanted = _day(day)
        app = make_app(db)
        from testrota.actions.tubes import ListTubes, list_tubes

        rows = [tube_row(v, app) for v in list_tubes(app, ListTubes(wanted, site))]
        if chosen == "json":
            emit_json(rows)
            return
        flat = [{**r, "members": " ".join(cast(list[str], r["members"]))} for r in rows]
        columns = [*TUBE_COLUMNS, "places_left", "grid_unit", "gene_text", "ct", "packed_at"]
        rows_as(
            chosen,
            flat,
            columns if chosen == "csv" else TUBE_COLUMNS,
            title=say("Tubes"),
            codes={"status": "tube", "result": "tube_result"},
        )


def badges(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The sheet to write: FILE.png or FILE.pdf.")
    ],
    department: Annotated[
        str | None, typer.Option("--department", help="Everyone active in this department.")
    ] = None,
    grid_unit: Annotated[
        str | None, typer.Option("--grid-unit", help="Everyone active in this grid unit.")
    ] = None,
    mask_names: Annotated[
        bool,
        typer.Option("--mask-names", help="Print names masked (张*丰), e.g. for a notice board."),
    ] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Print a sheet of personal codes (QR badges) for people without a smartphone."""
    with user_errors():
        suffix = output.suffix.lower()
        if suffix not in SHEET_SUFFIXES:
            raise UserError("--output {path}: give a name ending in .png or .pdf", path=str(output))
        from testrota.cli.common import writable_output

        writable_output(output, "--output", suffix)
        app = make_app(db)
        from testrota.actions.codes import BadgeSheet, badge_sheet

        sheet = badge_sheet(
            app,
            BadgeSheet(
                Actor.cli(),
                cast(Literal["png", "pdf"], suffix[1:]),
                department=department,
                grid_unit=grid_unit,
                mask_names=mask_names,
            ),
        )
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(f".{output.name}.partial")
        partial.write_bytes(sheet.data)
        partial.replace(output)  # a reader never sees half a sheet
        for warning in sheet.warnings:
            typer.echo(say("Warning: {warning}", warning=warning), err=True)
        if json_out:
            emit_json(
                {
                    "output": str(output),
                    "people": sheet.people,
                    "pages": sheet.pages,
                    "valid_until": sheet.valid_until.isoformat(),
                    "font": sheet.font,
                    "warnings": sheet.warnings,
                }
            )
        else:
            typer.echo(
                say(
                    "{people} badges on {pages} page(s), valid until {until}: {output}",
                    people=sheet.people,
                    pages=sheet.pages,
                    until=sheet.valid_until.isoformat(),
                    output=output,
                )
            )


def pools(
    days: Annotated[
        int, typer.Option("--days", min=1, max=60, help="Positive pools of this many days.")
    ] = 7,
    fmt: FormatOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Positive pooled tubes with their members and each member's single-tube recheck."""
    with user_errors():
        chosen = output_format(fmt, json_out)
        app = make_app(db)
        from testrota.actions.pools import PositivePools, positive_pools

        found = positive_pools(app, PositivePools(days))
        if chosen == "json":
            emit_json(jsonable(found, app.tz))
            return
        rows = [
            {
                "tube": p.tube,
                "site": p.site,
                "day": p.day,
                "employee_no": m.employee_no,
                "name": m.name,
                "grid_unit": m.grid_unit,
                "state": m.state,
                "recheck_at": m.recheck_at.astimezone(app.tz) if m.recheck_at else None,
                "recheck_site": m.recheck_site,
                "recheck_status": m.recheck_status,
            }
            for p in found
            for m in p.members
        ]
        columns = list(rows[0]) if rows else ["tube", "site", "day", "employee_no", "state"]
        rows_as(chosen, rows, columns, title=say("Positive pools"))

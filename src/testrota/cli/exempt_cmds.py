"""``testrota exempt``: days a person is excused and not planned (leave, or positive until a
return date). The commands parse and render; :mod:`testrota.actions.exemptions` does the work."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from testrota.audit import Actor
from testrota.cli.common import (
    DbOption,
    ExcuseCodeOption,
    FormatOption,
    JsonOption,
    emit_json,
    make_app,
    output_format,
    rows_as,
    user_errors,
)
from testrota.cli.lang import code as words
from testrota.cli.lang import say
from testrota.errors import UserError
from testrota.jsonable import jsonable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from testrota.app import App
    from testrota.compliance.excuse import ExcusedAppointment

COLUMNS = [
    "id",
    "employee_no",
    "name",
    "department",
    "grid_unit",
    "start_date",
    "end_date",
    "reason",
    "created_by",
    "created_at",
]


def register(app: typer.Typer) -> None:
    exempt = typer.Typer(
        help="Exemptions: days a person is excused and not planned (leave, positive).",
        no_args_is_help=True,
    )
    exempt.command("add")(exempt_add)
    exempt.command("list")(exempt_list)
    exempt.command("end")(exempt_end)
    app.add_typer(exempt, name="exempt")


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            "{option} {text!r}: write it like 2022-05-09", option=option, text=text
        ) from None


def exempt_add(
    employee_no: Annotated[str, typer.Argument(help="Employee number.")],
    start: Annotated[
        str, typer.Option("--from", help="The first day excused (YYYY-MM-DD).", show_default=False)
    ],
    end: Annotated[
        str,
        typer.Option(
            "--to", help="The last day excused, included (YYYY-MM-DD).", show_default=False
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (leave, sick, positive ...).")],
    code: ExcuseCodeOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Exempt a person for some days: they are not planned then, and their appointments in
    those days that are not done are excused, with their reminders cancelled."""
    with user_errors():
        first, last = _day(start, "--from"), _day(end, "--to")
        assert first is not None and last is not None
        app = make_app(db)
        from testrota.actions.exemptions import AddExemption, add_exemption

        out = add_exemption(
            app, AddExemption(employee_no, first, last, reason, Actor.cli(), code=code)
        )
        if json_out:
            emit_json(jsonable(out, app.tz))
            return
        typer.echo(
            say(
                "exemption {id}: {employee_no} ({name}) excused {start} to {end}: {reason}",
                id=out.id,
                employee_no=out.employee_no,
                name=out.name,
                start=out.start_date.isoformat(),
                end=out.end_date.isoformat(),
                reason=out.reason,
            )
        )
        _excused_lines(app, out.excused)


def _excused_lines(app: App, excused: Sequence[ExcusedAppointment]) -> None:
    for e in excused:
        typer.echo(
            say(
                "  excused {at} at {site} (was {previous})",
                at=e.slot_start.astimezone(app.tz).isoformat(),
                site=e.site,
                previous=words("appointment", e.previous_status),
            )
        )


def exempt_list(
    active_on: Annotated[
        str | None,
        typer.Option(
            "--active-on",
            help="Only exemptions covering this day (YYYY-MM-DD); default: those not over yet.",
        ),
    ] = None,
    fmt: FormatOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Exemptions not over yet (or covering one day), by first day."""
    with user_errors():
        fmt = output_format(fmt, json_out)
        day = _day(active_on, "--active-on")
        app = make_app(db)
        from testrota.actions.exemptions import Exemptions, list_exemptions

        rows = list_exemptions(app, Exemptions(active_on=day))
        if fmt == "table" and not rows:
            typer.echo(say("no exemptions"), err=True)
            return
        rows_as(fmt, jsonable(rows, app.tz), COLUMNS, title=say("Exemptions"))


def exempt_end(
    exemption_id: Annotated[int, typer.Argument(help="The exemption's id (exempt list).")],
    on: Annotated[
        str | None,
        typer.Option(
            "--on",
            help="The person's first day back (YYYY-MM-DD; default today). An exemption that "
            "has not begun by then is removed.",
        ),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """End an exemption early; the coming appointments it excused are scheduled again."""
    with user_errors():
        back_on = _day(on, "--on")
        app = make_app(db)
        from testrota.actions.exemptions import EndExemption, end_exemption

        out = end_exemption(app, EndExemption(exemption_id, Actor.cli(), back_on=back_on))
        if json_out:
            emit_json({**jsonable(out, app.tz), "removed": out.removed})
            return
        if out.end_date is None:
            line = say(
                "exemption {id} of {employee_no} ({name}) removed",
                id=out.id,
                employee_no=out.employee_no,
                name=out.name,
            )
        else:
            line = say(
                "exemption {id} of {employee_no} ({name}) now ends on {end}",
                id=out.id,
                employee_no=out.employee_no,
                name=out.name,
                end=out.end_date.isoformat(),
            )
        typer.echo(line)
        if out.restored:
            typer.echo(say("{n} coming appointments scheduled again", n=len(out.restored)))

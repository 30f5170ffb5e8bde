"""Commands of sampling day: badge sheets of personal codes (and, with them, tubes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, cast

import typer

from testrota.audit import Actor
from testrota.cli.common import DbOption, JsonOption, emit_json, make_app, user_errors
from testrota.errors import UserError

SHEET_SUFFIXES = (".png", ".pdf")


def register(app: typer.Typer) -> None:
    app.command("badges")(badges)


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
            typer.echo(f"Warning: {warning}", err=True)
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
                f"{sheet.people} badges on {sheet.pages} page(s), valid until "
                f"{sheet.valid_until.isoformat()}: {output}"
            )

"""``testrota i18n export``: every word of the catalogue, both languages, for a translator."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from testrota.cli.common import FormatOption, JsonOption, emit_json, user_errors
from testrota.cli.lang import say


def register(app: typer.Typer) -> None:
    i18n = typer.Typer(help="The words of the interface, for translators.", no_args_is_help=True)
    i18n.command("export")(export)
    app.add_typer(i18n, name="i18n")


def export(
    fmt: FormatOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Every message template, status and category with its English and Chinese: po (gettext,
    the default), csv (Excel, WPS) or json."""
    with user_errors():
        from testrota.cli.common import output_format, writable_output
        from testrota.web.i18n_export import FORMATS, as_csv, as_po, as_rows, entries

        chosen = output_format(fmt or ("json" if json_out else "po"), json_out, FORMATS)
        if output is not None:
            writable_output(output, "--output")
        found = entries()
        if chosen == "json" and output is None:
            emit_json(as_rows(found))
            return
        if chosen == "json":
            import json

            text = json.dumps(as_rows(found), ensure_ascii=False, indent=1) + "\n"
        else:
            text = as_po(found) if chosen == "po" else as_csv(found)
        if output is None:
            sys.stdout.write(text)
            return
        # utf-8-sig for the CSV: Excel in China opens a BOM-less UTF-8 CSV as GBK.
        output.write_text(text, encoding="utf-8-sig" if chosen == "csv" else "utf-8")
        typer.echo(say("wrote {output} ({n} texts)", output=output, n=len(found)), err=True)

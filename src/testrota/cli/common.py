"""What every command shares: ``--db``, the settings, the engine, JSON output, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from testrota.errors import UserError

if TYPE_CHECKING:
    # Imported when a command runs, not for `--help`: settings and the app pull in pydantic,
    # a fifth of a second of start-up.
    from testrota.app import App

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL; overrides TESTROTA_DATABASE_URL.", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
# The excused tests' reason code (``excuse``, ``exempt add``), as the daily report splits them.
ExcuseCodeOption = Annotated[
    str | None,
    typer.Option(
        "--code",
        help="Reason code for the daily report: leave, quarantine, trip, recovering, other "
        "(policy report.excuse_reasons; default other).",
    ),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="table (the default), json or csv; --json is --format json.",
        show_default=False,
    ),
]
# A listing that can also be written as a workbook.
ExportFormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="table (the default), json, csv or xlsx; --json is --format json.",
        show_default=False,
    ),
]


def make_app(db: str | None) -> App:
    """The command's :class:`App`: settings from the environment, ``--db`` over them."""
    from pydantic import ValidationError

    from testrota.app import build_app
    from testrota.settings import SettingsError, get_settings

    try:
        settings = get_settings()
    except (SettingsError, ValidationError) as exc:
        raise _settings_error(exc) from exc
    from testrota.observability.logging import setup_cli_logging

    setup_cli_logging(settings)
    return build_app(settings.with_database(db))


def _settings_error(exc: Exception) -> UserError:
    """Unusable settings as a message: ours (:class:`SettingsError`, also when pydantic wraps
    one) keep their template; pydantic's own words (English) go in as a parameter."""
    from pydantic import ValidationError

    from testrota.settings import SettingsError

    if isinstance(exc, ValidationError):
        errors = exc.errors()
        ours = errors[0].get("ctx", {}).get("error") if len(errors) == 1 else None
        if isinstance(ours, SettingsError):
            return UserError(ours.template, **ours.params)
    if isinstance(exc, SettingsError):
        return UserError(exc.template, **exc.params)
    if isinstance(exc, ValidationError):
        return UserError(
            "{problems}",
            problems="; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
                for err in exc.errors()
            ),
        )
    if isinstance(exc, UserError):
        return exc
    return UserError("{problems}", problems=str(exc))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(document: Any) -> None:
    """One JSON document on stdout, and nothing else there."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, default=_json_default) + "\n")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` (already in the CLI's language) as the one error line."""
    from testrota.cli.lang import say

    typer.echo(say("Error: {message}", message=message), err=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a :class:`UserError` (or unsafe settings) into one line on stderr and exit 2; a
    database that cannot be reached, has no schema, is busy or refused a change into one line
    and exit 1 (:mod:`testrota.db.trouble`)."""
    try:
        yield
    except UserError as exc:
        from testrota.cli.lang import render

        raise fail(render(exc), exc.exit_code) from None
    except Exception as exc:
        from pydantic import ValidationError

        from testrota.cli.lang import render
        from testrota.db.trouble import database_trouble
        from testrota.settings import SettingsError

        if isinstance(exc, SettingsError | ValidationError):
            raise fail(render(_settings_error(exc))) from None
        trouble = database_trouble(exc)
        if trouble is not None:
            raise fail(render(trouble), trouble.exit_code) from None
        raise


F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "csv")


def output_format(fmt: str | None, json_out: bool, allowed: Sequence[str] = FORMATS) -> str:
    """The format a listing command prints: ``--json`` is ``--format json``, and asking for
    two different formats is an error rather than a guess."""
    chosen = fmt.strip().lower() if fmt is not None else None
    if json_out and chosen not in (None, "json"):
        raise UserError("--json and --format {fmt} ask for two formats: give one of them", fmt=fmt)
    chosen = "json" if json_out else (chosen or "table")
    if chosen not in allowed:
        raise UserError(
            "unknown format {fmt!r}: use {choices} or {last}",
            fmt=fmt,
            choices=", ".join(allowed[:-1]),
            last=allowed[-1],
        )
    return chosen


def export_format(
    fmt: str | None, json_out: bool, output: Path | None, *, xlsx_suffix: bool = False
) -> str:
    """The format of a listing that may go to ``--output``: a table is only printed, and the
    file is checked before any work (named ``.xlsx`` for a workbook when ``xlsx_suffix``)."""
    chosen = output_format(fmt, json_out, (*FORMATS, "xlsx"))
    if output is not None:
        if chosen == "table":
            raise UserError("--output needs --format json, csv or xlsx")
        writable_output(output, "--output", ".xlsx" if xlsx_suffix and chosen == "xlsx" else None)
    return chosen


def writable_output(path: Path, option: str, suffix: str | None = None) -> Path:
    """Refuse, before any work is done, an output file that could not be written: a folder, a
    name without ``suffix``, a place this process cannot create files in. Probed by creating
    (and removing) a file beside it, as the writers do, since permission bits say nothing to
    root or on a read-only mount."""
    import os
    import tempfile

    if path.is_dir():
        if suffix:
            raise UserError(
                "{option} {path} is a directory; give a file name, e.g. {example}",
                option=option,
                path=path,
                example=path / ("errors" + suffix),
            )
        raise UserError(
            "{option} {path} is a directory; give a file name", option=option, path=path
        )
    if suffix is not None and path.suffix.lower() != suffix:
        raise UserError(
            "{option} {path}: the file is written as {suffix}; give a name ending in {suffix}",
            option=option,
            path=path,
            suffix=suffix,
        )
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the writer creates the missing folders below this one
    if not folder.is_dir():
        raise UserError(
            "{option} {path}: {folder} is a file, not a folder",
            option=option,
            path=path,
            folder=folder,
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".testrota-probe-", dir=folder)
    except OSError as exc:
        raise UserError(
            "{option} {path}: cannot write in {folder} ({problem}); choose another place",
            option=option,
            path=path,
            folder=folder,
            problem=exc.strerror or exc,
        ) from None
    os.close(fd)
    os.unlink(probe)
    return path


def rows_as(
    fmt: str,
    rows: list[dict[str, Any]],
    columns: list[str],
    title: str = "",
    codes: dict[str, str] | None = None,
    words: dict[str, str] | None = None,
) -> None:
    """Render plain rows as a rich table (stdout), JSON or CSV. ``codes`` names the columns
    that hold stored codes and of which kind (``{"status": "appointment"}``): a table shows
    them in words in Chinese; JSON and CSV keep the codes. ``words`` heads a column with
    another field's words where its own would mislead (``{"name": "unit_name"}``)."""
    if fmt == "json":
        emit_json(rows)
    elif fmt == "csv":
        # The web export's writer: a cell Excel would run as a formula stays text.
        from testrota.compliance.export import write_csv

        write_csv(sys.stdout, rows, columns)
    elif fmt == "table":
        from testrota.cli.lang import header, shown

        kinds = codes or {}
        heads = [header(col, (words or {}).get(col)) for col in columns]
        cells = [
            [shown(row.get(c), kinds.get(c)) if row.get(c) is not None else "" for c in columns]
            for row in rows
        ]
        if not _print_plain(title, heads, cells):
            _print_rich(title, heads, cells)
    else:
        raise UserError(
            "unknown format {fmt!r}: use {choices} or {last}",
            fmt=fmt,
            choices="table, json",
            last="csv",
        )


def _print_plain(title: str, heads: list[str], cells: list[list[str]]) -> bool:
    """Draw the table without rich (:mod:`testrota.cli.plain_table`); False when it must be
    rich: a terminal narrower than the table (rich wraps the cells), or an output that cannot
    take the box-drawing characters."""
    import os

    from testrota.cli.plain_table import lines

    out = sys.stdout
    if not (getattr(out, "encoding", None) or "").lower().replace("-", "").startswith("utf"):
        return False
    terminal = out.isatty()
    limit, bold = None, False
    if terminal:
        import shutil

        limit = shutil.get_terminal_size().columns
        bold = not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    drawn = lines(title, heads, cells, max_width=limit, bold=bold)
    if drawn is None:
        return False
    out.write("\n".join(drawn) + "\n")
    return True


def _print_rich(title: str, heads: list[str], cells: list[list[str]]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title) if title else None)
    for head in heads:
        table.add_column(escape(head))
    for row in cells:
        table.add_row(*(escape(c) for c in row))
    Console().print(table)

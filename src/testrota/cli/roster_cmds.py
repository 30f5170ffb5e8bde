"""``testrota init``, ``import`` and ``people``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    writable_output,
)
from testrota.cli.lang import category, count_header, header, in_language, problem, say
from testrota.cli.lang import current as current_language
from testrota.cli.roster_words import cleared_field, column_warning
from testrota.jsonable import jsonable

if TYPE_CHECKING:
    from testrota.auth.stale import StaleScope
    from testrota.roster.service import ImportReport


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("people")(people)
    app.command("import")(import_)


def init(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Create or upgrade the database schema."""
    with user_errors():
        app = make_app(db)
        from testrota.db.schema import upgrade

        revision = upgrade(app.engine)
        if json_out:
            emit_json({"database": app.engine.url.render_as_string(), "revision": revision})
        else:
            typer.echo(say("schema at revision {revision}", revision=revision), err=True)


def people(
    all_: Annotated[bool, typer.Option("--all", help="Include deactivated people.")] = False,
    high_risk: Annotated[bool, typer.Option("--high-risk", help="Only high-risk people.")] = False,
    department: Annotated[str | None, typer.Option("--department")] = None,
    fmt: FormatOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List people (active only unless --all)."""
    with user_errors():
        fmt = output_format(fmt, json_out)
        app = make_app(db)
        from testrota.actions.people import ListPeople, list_people
        from testrota.roster.people import PEOPLE_COLUMNS, PeopleFilter

        rows = list_people(
            app,
            ListPeople(
                PeopleFilter(
                    department=department or "",
                    high_risk=True if high_risk else None,
                    active=None if all_ else True,
                )
            ),
        )
        rows_as(
            fmt,
            jsonable(rows, app.tz),
            PEOPLE_COLUMNS,
            title=say("People"),
            codes={
                "person_type": "person_type",
                "matched_by": "matched_by",
                "risk_category": "category",
            },
        )


def import_(
    file: Annotated[Path, typer.Argument(help="Roster file: .xlsx, .xls, .ods or .csv.")],
    sheet: Annotated[str | None, typer.Option("--sheet", help="Import only this sheet.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show everything, write nothing.")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="The file is the whole roster: deactivate the missing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Allow --full to deactivate more than the policy share.")
    ] = False,
    errors: Annotated[
        Path | None, typer.Option("--errors", help="Write the row errors to this .xlsx.")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Import a staff roster: people, their high-risk category and the reason."""
    with user_errors():
        if errors is not None:
            writable_output(errors, "--errors", ".xlsx")
        app = make_app(db)
        from testrota.actions.roster import ImportRoster, import_roster

        report = import_roster(
            app,
            ImportRoster(
                file,
                Actor.cli(),
                sheet=sheet,
                dry_run=dry_run,
                full=full,
                force=force,
                errors_report=errors,
                lang=current_language(),
                progress=_stderr_progress(json_out),
            ),
        )
        if json_out:
            emit_json(in_language(jsonable(report, app.tz)))
        else:
            _print_import(report)


def _stderr_progress(quiet: bool) -> Callable[[str], None]:
    def report(stage: str) -> None:
        if not quiet:
            typer.echo(say("… {stage}", stage=say(stage)), err=True)

    return report


def _print_import(report: ImportReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = report.file + (say(" (dry run: nothing written)") if report.dry_run else "")
    counts = Table(title=title)
    keys = ("rows", "added", "updated", "unchanged", "deactivated", "skipped", "high_risk")
    for key in keys:
        counts.add_column(count_header(key), justify="right")
    counts.add_row(*(str(getattr(report, k)) for k in keys))
    console.print(counts)
    if report.high_risk_by_category:
        cats = Table(title=say("High-risk people by category"))
        cats.add_column(header("category"))
        cats.add_column(header("people"), justify="right")
        for code, n in report.high_risk_by_category.items():
            cats.add_row(category(code), str(n))
        console.print(cats)
    if report.released:
        console.print(
            say(
                "would release {n} coming appointments of leavers and of people no longer "
                "high-risk",
                n=report.released,
            )
            if report.dry_run
            else say(
                "released {n} coming appointments of leavers and of people no longer high-risk "
                "({texts} pending texts cancelled)",
                n=report.released,
                texts=report.released_texts,
            ),
            highlight=False,
            markup=False,
        )
    _print_stale(console, report.stale_scopes)
    for cleared in report.changes.cleared:
        shown = ", ".join(cleared.employee_nos[:20])
        more = " …" if cleared.people > 20 else ""
        console.print(f"{cleared_field(cleared)}: {shown}{more}", highlight=False, markup=False)
    for warning in report.warnings:
        console.print(
            say("warning: {message}", message=column_warning(warning)),
            highlight=False,
            markup=False,
        )
    if report.errors:
        errs = Table(title=say("{n} row errors", n=len(report.errors)))
        for col in ("sheet", "row", "column", "value", "message"):
            errs.add_column(header(col))
        for e in report.errors[:100]:
            errs.add_row(e.sheet, str(e.row), e.column, str(e.value), problem(e))
        console.print(errs)
    for s in report.skipped_sheets:
        console.print(say("skipped sheet {name!r}: {reason}", name=s.name, reason=problem(s)))


def _print_stale(console: Any, stale: list[StaleScope]) -> None:
    """Supervisors who now see no one: each entry, then the one command that changes the
    supervisor's list (the option replaces it whole, so it is printed once a supervisor)."""
    for i, entry in enumerate(stale):
        console.print(
            say("warning: {message}", message=problem(entry)), highlight=False, markup=False
        )
        if i + 1 == len(stale) or stale[i + 1].user != entry.user:
            console.print(
                "  " + say("change it with {command} or on the users page", command=entry.fix),
                highlight=False,
                markup=False,
            )

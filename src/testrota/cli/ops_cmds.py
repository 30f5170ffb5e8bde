"""Operations: ``testrota doctor``, ``testrota export-person``, ``testrota erase-person``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from testrota.audit import Actor
from testrota.cli.common import (
    DbOption,
    JsonOption,
    emit_json,
    make_app,
    user_errors,
    writable_output,
)
from testrota.cli.lang import say
from testrota.errors import UserError
from testrota.jsonable import jsonable

if TYPE_CHECKING:
    from testrota.observability.doctor import Check

_MARK = {
    "ok": ("ok", "green"),
    "warn": ("warn", "yellow"),
    "fail": ("FAIL", "bold red"),
    "skip": ("skip", "dim"),
}


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``testrota`` app."""
    app.command("doctor")(doctor)
    app.command("export-person")(export_person)
    app.command("erase-person")(erase_person)


def _actor(by: str | None) -> Actor:
    """``--by NAME`` or the login name at the terminal: ``cli:<name>`` in the audit log."""
    return Actor.cli(by.strip() if by and by.strip() else None)


def doctor(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Check configuration, database and schema, Twilio (without sending), the webhook URL,
    sender capacity for the coming week and the workers; say what is wrong and how to fix it.
    Exit code 1 when a check fails."""
    from pydantic import ValidationError

    from testrota.observability.doctor import diagnose, settings_failure, summary
    from testrota.settings import SettingsError, get_settings

    checks: list[Check]
    try:
        settings = get_settings().with_database(db)
    except (SettingsError, ValidationError) as exc:
        checks = [settings_failure(_settings_text(exc))]
    else:
        from testrota.clock import clock_from_settings

        checks = diagnose(settings, clock_from_settings(settings))
    report = summary(checks)
    if json_out:
        emit_json(report)
    else:
        _print_checks(checks)
    if not report["ok"]:
        raise typer.Exit(1)


def _settings_text(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
    return str(exc)


def _print_checks(checks: list[Check]) -> None:
    from rich.cells import cell_len
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    names = [_check_name(c.name) for c in checks]
    width = max(cell_len(n) for n in names)
    for check, name in zip(checks, names, strict=True):
        label, style = _MARK[check.status]
        message, fix = _check_words(check)
        padded = name + " " * (width - cell_len(name))
        console.print(f"[{style}]{label:<4}[/]  {escape(padded)}  {escape(message)}")
        if check.status in ("warn", "fail") and fix:
            console.print(f"      {' ' * width}  [dim]{escape(say('fix:'))}[/] {escape(fix)}")
    failed = sum(1 for c in checks if c.status == "fail")
    warned = sum(1 for c in checks if c.status == "warn")
    console.print(
        say("{failed} failed, {warned} warnings", failed=failed, warned=warned)
        if failed or warned
        else say("all good")
    )


def _check_name(name: str) -> str:
    """A check's name in the CLI's language; a config file's name is kept as written."""
    if name.startswith("config "):
        return f"{say('config')} {name.removeprefix('config ')}"
    return say(name)


def _check_words(check: Check) -> tuple[str, str]:
    """A check's finding and fix in the CLI's language (English reads as ``--json`` has it)."""
    if check.words is None:
        return say(check.message), say(check.fix) if check.fix else ""
    message, fix = check.words
    return say(message.template, **message.params), say(fix.template, **fix.params)


def export_person(
    employee_no: Annotated[str, typer.Argument(help="Employee number.")],
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the JSON here instead of stdout.")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who asks (audit log); default: your login name.")
    ] = None,
    db: DbOption = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help="The document is JSON already; with --output, print {output, counts} on stdout.",
        ),
    ] = False,
) -> None:
    """Everything held on one person (record, classification, appointments, results, texts,
    replies, alerts, exemptions, audit events) as one JSON document."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.privacy import ExportPerson
        from testrota.actions.privacy import export_person as export

        if output is not None:
            writable_output(output, "--output")
        document = jsonable(export(app, ExportPerson(employee_no, _actor(by))), app.tz)
        if output is None:
            emit_json(document)
            return
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(
                "cannot write {output}: {error}", output=str(output), error=exc.strerror
            ) from None
    if json_out:
        emit_json({"output": str(output), "counts": document["counts"]})
    else:
        typer.echo(
            say("wrote {output} ({n} records)", output=output, n=sum(document["counts"].values())),
            err=True,
        )


def erase_person(
    employee_no: Annotated[str, typer.Argument(help="Employee number.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (audit log; write no personal data in it).")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do it: erasure cannot be undone.")] = False,
    deactivate: Annotated[
        bool,
        typer.Option(
            "--deactivate",
            help="Also take a person still on the roster off it "
            "(else only people already off the roster are erased).",
        ),
    ] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="The admin user erasing (must be an active admin user); default: your login name.",
        ),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Anonymise one person who left (admins): name, phone, ID number, texts and replies
    erased; appointments and results stay, anonymous, so the compliance figures do not
    change."""
    with user_errors():
        if not yes:
            raise UserError(
                "erasing {employee_no} cannot be undone; add --yes to go ahead "
                "(testrota export-person first keeps a copy)",
                employee_no=employee_no,
            )
        app = make_app(db)
        from testrota.actions.privacy import ErasePerson
        from testrota.actions.privacy import erase_person as erase

        report = erase(
            app,
            ErasePerson(
                employee_no,
                reason,
                _actor(by),
                deactivate=deactivate,
                as_user=bool(by and by.strip()),
            ),
        )
    if json_out:
        emit_json(jsonable(report))
        return
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items() if v)
    sys.stdout.write(
        say(
            "erased {erased}: now {employee_no}",
            erased=report.erased,
            employee_no=report.employee_no,
        )
        + (f" ({counts})" if counts else "")
        + "\n"
    )

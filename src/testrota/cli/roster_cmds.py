"""``testrota init``, ``import`` and ``people``."""

from __future__ import annotations

from typing import Annotated

import typer

from testrota.cli.common import (
    DbOption,
    JsonOption,
    emit_json,
    make_context,
    rows_as,
    user_errors,
)

FormatOption = Annotated[str, typer.Option("--format", help="table, json or csv.")]


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("people")(people)


def init(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Create or upgrade the database schema."""
    with user_errors():
        ctx = make_context(db)
        from testrota.db.schema import upgrade

        revision = upgrade(ctx.engine)
        if json_out:
            emit_json({"database": ctx.engine.url.render_as_string(), "revision": revision})
        else:
            typer.echo(f"schema at revision {revision}", err=True)



def people(
    all_: Annotated[bool, typer.Option("--all", help="Include deactivated people.")] = False,
    high_risk: Annotated[bool, typer.Option("--high-risk", help="Only high-risk people.")] = False,
    department: Annotated[str | None, typer.Option("--department")] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """List people (active only unless --all)."""
    with user_errors():
        ctx = make_context(db)
        from sqlmodel import Session

        from testrota.roster.people import PEOPLE_COLUMNS, list_people

        with Session(ctx.engine) as session:
            rows = list_people(
                session, include_inactive=all_, high_risk_only=high_risk, department=department
            )
        rows_as(fmt, rows, PEOPLE_COLUMNS, title="People")

"""``testrota roles`` (review, map, unmap, reclassify) and ``testrota override``."""

from __future__ import annotations

from typing import Annotated

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
from testrota.cli.lang import say
from testrota.jsonable import jsonable

ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why; kept in the audit log with who and when.")
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who makes the change (audit log); default: your login name."),
]
DepartmentOption = Annotated[
    str | None,
    typer.Option("--department", help="Only for this department (default: every department)."),
]


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``testrota`` app."""
    roles_app = typer.Typer(
        help="Distinct role titles and their high-risk category; HR's mappings.",
        add_completion=False,
    )
    roles_app.callback(invoke_without_command=True)(roles)
    roles_app.command("map")(roles_map)
    roles_app.command("unmap")(roles_unmap)
    roles_app.command("reclassify")(roles_reclassify)
    app.add_typer(roles_app, name="roles")
    app.command("override")(override)


def _actor(by: str | None) -> Actor:
    """``--by NAME`` or the login name at the terminal: ``cli:<name>`` in the audit log."""
    return Actor.cli(by.strip() if by and by.strip() else None)


def roles(
    ctx: typer.Context,
    unmatched: Annotated[
        bool, typer.Option("--unmatched", help="Only titles no rule matched, most common first.")
    ] = False,
    fmt: FormatOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List every distinct (role, department) of active people with its head-count, category
    and how it was matched (title, synonym, department, column, override)."""
    if ctx.invoked_subcommand is not None:
        return
    with user_errors():
        fmt = output_format(fmt, json_out)
        app = make_app(db)
        from testrota.actions.risk import ListRoles, list_roles
        from testrota.risk.service import ROLE_COLUMNS

        rows = list_roles(app, ListRoles(unmatched_only=unmatched))
        title = say("Unmatched roles") if unmatched else say("Roles")
        rows_as(fmt, jsonable(rows), ROLE_COLUMNS, title=title, codes={"matched_by": "matched_by"})
        if fmt == "table":
            people = sum(r.head_count for r in rows)
            typer.echo(
                say(
                    "{pairs} role/department pairs, {people} active people",
                    pairs=len(rows),
                    people=people,
                ),
                err=True,
            )


def roles_map(
    title: Annotated[str, typer.Argument(help="The role title as the roster writes it.")],
    category: Annotated[str, typer.Argument(help="Category code or name (any script), or 'none'.")],
    reason: ReasonOption,
    department: DepartmentOption = None,
    by: ByOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Map a role title to a category (or to 'none': not high-risk) for everyone with it."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.risk import MapRole, map_role

        result = map_role(app, MapRole(title, category, reason, _actor(by), department=department))
        if json_out:
            emit_json(jsonable(result))
            return
        code = result.category
        target = f"{code} ({app.vocabulary.name(code)})" if code else say("not high-risk")
        where = (
            say("in {department}", department=result.department)
            if result.department
            else say("in every department")
        )
        typer.echo(
            say(
                "{role} {where} -> {target}; {n} people reclassified",
                role=result.role,
                where=where,
                target=target,
                n=result.affected,
            )
            + _released_text(result.released)
        )


def roles_unmap(
    title: Annotated[str, typer.Argument(help="The mapped role title.")],
    reason: ReasonOption,
    department: DepartmentOption = None,
    by: ByOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Remove HR's mapping of a role title; the matching rules decide again."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.risk import UnmapRole, unmap_role

        result = unmap_role(app, UnmapRole(title, reason, _actor(by), department=department))
        if json_out:
            emit_json(jsonable(result))
            return
        typer.echo(
            say(
                "removed the mapping of {role}; {n} people reclassified",
                role=result.role,
                n=result.affected,
            )
            + _released_text(result.released)
        )


def roles_reclassify(
    by: ByOption = None, json_out: JsonOption = False, db: DbOption = None
) -> None:
    """Match everyone again with the current risk_categories.yaml and HR's mappings."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.risk import Reclassify, reclassify

        result = reclassify(app, Reclassify(_actor(by)))
        if json_out:
            emit_json(jsonable(result))
            return
        vocab = app.vocabulary
        by_category = ", ".join(f"{vocab.name(c)} {n}" for c, n in result.by_category.items())
        typer.echo(
            say(
                "{people} people, {changed} changed; {high_risk} active high-risk",
                people=result.people,
                changed=result.changed,
                high_risk=result.high_risk,
            )
            + (f": {by_category}" if by_category else "")
            + _released_text(result.released)
        )


def override(
    employee_no: Annotated[str, typer.Argument(help="Employee number.")],
    category: Annotated[
        str,
        typer.Argument(
            help="Category code or name, 'none' (not high-risk) or 'clear' (remove the override)."
        ),
    ],
    reason: ReasonOption,
    by: ByOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Set one person's high-risk category; it beats every rule and survives re-imports."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.risk import OverridePerson, override_person

        result = override_person(app, OverridePerson(employee_no, category, reason, _actor(by)))
        if json_out:
            emit_json(jsonable(result))
            return
        code = result.category
        if result.cleared:
            text = say(
                "{employee_no}: override removed, now {category}",
                employee_no=result.employee_no,
                category=code or say("not high-risk"),
            )
        else:
            shown = f"{code} ({app.vocabulary.name(code)})" if code else say("not high-risk")
            text = say(
                "{employee_no}: {category} (was {old})",
                employee_no=result.employee_no,
                category=shown,
                old=result.old_category or say("not high-risk"),
            )
        typer.echo(text + _released_text(result.released))


def _released_text(n: int) -> str:
    if not n:
        return ""
    if n == 1:
        return say("; 1 coming appointment released")
    return say("; {n} coming appointments released", n=n)

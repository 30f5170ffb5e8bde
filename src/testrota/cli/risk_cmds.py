"""``testrota roles`` (review, map, unmap, reclassify) and ``testrota override``."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

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

ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why; kept in the audit log with who and when.")
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who makes the change (audit log); default: your login name."),
]
DepartmentOption = Annotated[
    str | None,
    typer.Option(
        "--department", help="Only for this department (default: every department)."
    ),
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


def _actor(by: str | None) -> str:
    if by and by.strip():
        return by.strip()
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in a bare container
        return "cli"


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
        from sqlmodel import Session

        from testrota.risk.service import ROLE_COLUMNS, list_roles
        from testrota.risk.vocabulary import load_vocabulary

        vocab = load_vocabulary(app.config_dir)
        with Session(app.engine) as session:
            rows = list_roles(session, unmatched_only=unmatched, vocab=vocab)
        title = "Unmatched roles" if unmatched else "Roles"
        rows_as(fmt, rows, ROLE_COLUMNS, title=title)
        if fmt == "table":
            people = sum(r["head_count"] for r in rows)
            typer.echo(f"{len(rows)} role/department pairs, {people} active people", err=True)


def roles_map(
    title: Annotated[str, typer.Argument(help="The role title as the roster writes it.")],
    category: Annotated[
        str, typer.Argument(help="Category code or name (any script), or 'none'.")
    ],
    reason: ReasonOption,
    department: DepartmentOption = None,
    by: ByOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Map a role title to a category (or to 'none': not high-risk) for everyone with it."""
    with user_errors():
        app = make_app(db)
        from testrota.db.engine import session_scope
        from testrota.risk.service import parse_category, set_role_override
        from testrota.risk.vocabulary import load_vocabulary

        vocab = load_vocabulary(app.config_dir)
        code = parse_category(category, vocab)
        with session_scope(app.engine) as session:
            result = set_role_override(
                session, title, department, code, reason, _actor(by), app.clock.now(),
                vocab=vocab, policy=app.policy,
            )
        _report(result, json_out, _mapped_text(result, vocab.name(code) if code else None))


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
        from testrota.db.engine import session_scope
        from testrota.risk.service import clear_role_override
        from testrota.risk.vocabulary import load_vocabulary

        vocab = load_vocabulary(app.config_dir)
        with session_scope(app.engine) as session:
            result = clear_role_override(
                session, title, department, reason, _actor(by), app.clock.now(),
                vocab=vocab, policy=app.policy,
            )
        _report(
            result,
            json_out,
            f"removed the mapping of {result['role']}; {result['affected']} people reclassified"
            + _released_text(result),
        )


def roles_reclassify(
    by: ByOption = None, json_out: JsonOption = False, db: DbOption = None
) -> None:
    """Match everyone again with the current risk_categories.yaml and HR's mappings."""
    with user_errors():
        app = make_app(db)
        from testrota.db.engine import session_scope
        from testrota.risk.service import reclassify_people
        from testrota.risk.vocabulary import load_vocabulary

        vocab = load_vocabulary(app.config_dir)
        with session_scope(app.engine) as session:
            result = reclassify_people(session, vocab, app.clock.now(), _actor(by),
                                       policy=app.policy)
        by_category = ", ".join(f"{vocab.name(c)} {n}" for c, n in result["by_category"].items())
        _report(
            result,
            json_out,
            f"{result['people']} people, {result['changed']} changed; "
            f"{result['high_risk']} active high-risk" + (f": {by_category}" if by_category else "")
            + _released_text(result),
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
        from testrota.db.engine import session_scope
        from testrota.risk.service import (
            CLEAR_WORDS,
            clear_person_override,
            parse_category,
            set_person_override,
        )
        from testrota.risk.vocabulary import load_vocabulary

        vocab = load_vocabulary(app.config_dir)
        now, actor = app.clock.now(), _actor(by)
        with session_scope(app.engine) as session:
            if category.strip().casefold() in CLEAR_WORDS:
                result = clear_person_override(
                    session, employee_no, reason, actor, now, vocab=vocab,
                    policy=app.policy,
                )
                now_is = result["category"] or "not high-risk"
                text = f"{result['employee_no']}: override removed, now {now_is}"
                text += _released_text(result)
            else:
                code = parse_category(category, vocab)
                result = set_person_override(
                    session, employee_no, code, reason, actor, now, vocab=vocab,
                    policy=app.policy,
                )
                shown = f"{code} ({vocab.name(code)})" if code else "not high-risk"
                was = result["old_category"] or "not high-risk"
                text = f"{result['employee_no']}: {shown} (was {was})"
                text += _released_text(result)
        _report(result, json_out, text)


def _mapped_text(result: dict[str, Any], name: str | None) -> str:
    target = f"{result['category']} ({name})" if result["category"] else "not high-risk"
    where = f"in {result['department']}" if result["department"] else "in every department"
    return (
        f"{result['role']} {where} -> {target}; {result['affected']} people reclassified"
        + _released_text(result)
    )


def _released_text(result: dict[str, Any]) -> str:
    n = result.get("released") or 0
    if not n:
        return ""
    return f"; {n} coming appointment{'s' if n != 1 else ''} released"


def _report(result: dict[str, Any], json_out: bool, text: str) -> None:
    if json_out:
        emit_json(result)
    else:
        typer.echo(text)

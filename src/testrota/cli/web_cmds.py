"""``testrota serve``, ``testrota users ...`` and ``testrota demo``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from testrota.audit import Actor
from testrota.cli.common import (
    DbOption,
    FormatOption,
    JsonOption,
    emit_json,
    make_app,
    output_format,
    user_errors,
)
from testrota.cli.lang import code, in_language, say
from testrota.errors import UserError
from testrota.jsonable import jsonable

if TYPE_CHECKING:
    from testrota.auth.stale import StaleScope

users_app = typer.Typer(help="Users of the web app.", no_args_is_help=True)

HostOption = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOption = Annotated[int, typer.Option("--port", help="Port to listen on.")]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.add_typer(users_app, name="users")


def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    with_worker: Annotated[
        bool, typer.Option("--with-worker", help="Also run the periodic jobs in this process.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Serve the web app (uvicorn). Needs TESTROTA_SECRET_KEY."""
    with user_errors():
        app = make_app(db)
        from testrota.web.app import create_app, settle_process

        web = create_app(app.settings, with_worker=with_worker)
    settle_process()
    _run_uvicorn(web, host, port)


def _run_uvicorn(app: object, host: str, port: int) -> None:
    import uvicorn

    typer.echo(say("serving on {url}", url=f"http://{host}:{port}"), err=True)
    # Our logging (masked, request ids, one access line) replaces uvicorn's own: its access line
    # would log full paths, personal-link tokens included.
    uvicorn.run(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level="info",
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UserError("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The sign-in name.")],
    role: Annotated[str, typer.Option("--role", help="admin, hr, supervisor or site.")],
    department: Annotated[
        list[str] | None,
        typer.Option("--department", help="A department a supervisor sees (repeat for more)."),
    ] = None,
    unit: Annotated[
        list[str] | None,
        typer.Option(
            "--unit",
            help="A unit a supervisor sees with everything below it: its path or code "
            "(repeat for more).",
        ),
    ] = None,
    language: Annotated[str, typer.Option("--language", help="zh or en.")] = "zh",
    phone: Annotated[
        str | None, typer.Option("--phone", help="For the supervisors' daily digest.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Add a web user; the password is asked for (or read with --password-stdin)."""
    with user_errors():
        app = make_app(db)
        from testrota.actions.users import AddUser, add_user
        from testrota.auth.passwords import check_password_rules

        password = _read_password(password_stdin)
        check_password_rules(password)
        info = add_user(
            app,
            AddUser(
                Actor.cli(),
                name,
                role,
                password,
                departments=tuple(department or ()),
                units=tuple(unit or ()),
                language=language,
                phone=phone,
            ),
        )
        if json_out:
            emit_json(
                {
                    "name": info.name,
                    "role": info.role,
                    "departments": list(info.departments),
                    **({"units": list(info.units)} if info.units else {}),
                    "language": info.language,
                }
            )
        else:
            seen = [*info.departments, *info.units]
            scope = f" ({', '.join(seen)})" if seen else ""
            typer.echo(
                say("added {role} {name}", role=code("role", info.role), name=info.name) + scope,
                err=True,
            )


@users_app.command("list")
def users_list(
    fmt: FormatOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List web users."""
    with user_errors():
        fmt = output_format(fmt, json_out)
        app = make_app(db)
        from sqlmodel import Session

        from testrota.actions.stale_scopes import FindStaleScopes, find_stale_scopes
        from testrota.auth.sessions import SessionRule, live_counts
        from testrota.auth.users import list_users
        from testrota.cli.common import rows_as

        stale = find_stale_scopes(app, FindStaleScopes(Actor.cli()))
        with Session(app.engine) as session:
            signed_in = live_counts(session, app.clock.now(), SessionRule.of(app.policy.web))
            rows = [
                {
                    "name": u.name,
                    "role": u.role,
                    "departments": ", ".join(u.departments),
                    "units": ", ".join(u.units),
                    "language": u.language,
                    "active": u.active,
                    "sign_ins": signed_in.get(u.id, 0),
                    "stale": "; ".join(_stale_cell(s) for s in stale if s.user == u.name),
                }
                for u in list_users(session)
            ]
        if fmt == "json":
            for r in rows:
                r["departments"] = [d for d in str(r["departments"]).split(", ") if d]
                r["units"] = [u for u in str(r["units"]).split(", ") if u]
                r["stale"] = in_language(jsonable([s for s in stale if s.user == r["name"]]))
        rows_as(
            fmt,
            rows,
            ["name", "role", "departments", "units", "language", "active", "sign_ins", "stale"],
            title=say("Users"),
        )
        fixes = list(dict.fromkeys(s.fix for s in stale))
        if fmt == "table" and fixes:
            typer.echo(say("change a supervisor who sees no one with:"), err=True)
            for fix in fixes:
                typer.echo("  " + fix, err=True)


def _stale_cell(stale: StaleScope) -> str:
    """A supervisor's entry that covers nobody, as the table's cell says it."""
    if stale.moved_to:
        return say(
            "{entry}: no one on the roster (its {n} people are now in {to})",
            entry=stale.entry,
            n=stale.moved_people,
            to=stale.moved_to,
        )
    return say("{entry}: no one on the roster", entry=stale.entry)


@users_app.command("set")
def users_set(
    name: Annotated[str, typer.Argument(help="The sign-in name.")],
    unit: Annotated[
        list[str] | None,
        typer.Option(
            "--unit",
            help="The units the user sees, replacing theirs: a path or code (repeat for more).",
        ),
    ] = None,
    no_units: Annotated[
        bool, typer.Option("--no-units", help="Take all the user's units away.")
    ] = False,
    department: Annotated[
        list[str] | None,
        typer.Option(
            "--department", help="The departments the user sees, replacing theirs (repeat)."
        ),
    ] = None,
    no_departments: Annotated[
        bool, typer.Option("--no-departments", help="Take all the user's departments away.")
    ] = False,
    role: Annotated[
        str | None, typer.Option("--role", help="admin, hr, supervisor or site.")
    ] = None,
    language: Annotated[str | None, typer.Option("--language", help="zh or en.")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Change an existing user's units, departments, role or language, as /admin/users does."""
    with user_errors():
        if unit and no_units:
            raise UserError("--unit and --no-units cannot be used together")
        if department and no_departments:
            raise UserError("--department and --no-departments cannot be used together")
        units = () if no_units else (tuple(unit) if unit else None)
        departments = () if no_departments else (tuple(department) if department else None)
        if units is None and departments is None and role is None and language is None:
            raise UserError(
                "nothing to change: give --unit, --no-units, --department, --no-departments, "
                "--role or --language"
            )
        app = make_app(db)
        from sqlmodel import Session

        from testrota.actions.users import ChangeUser, change_user
        from testrota.auth.users import find_user

        with Session(app.engine) as s:
            user = find_user(s, name)
        info = change_user(
            app,
            ChangeUser(
                Actor.cli(),
                user.id,
                role=role,
                departments=departments,
                units=units,
                language=language,
            ),
        )
        if json_out:
            emit_json(
                {
                    "name": info.name,
                    "role": info.role,
                    "departments": list(info.departments),
                    "units": list(info.units),
                    "language": info.language,
                }
            )
        else:
            seen = [*info.departments, *info.units]
            scope = f" ({', '.join(seen)})" if seen else ""
            typer.echo(say("changed {name}", name=info.name) + scope, err=True)


@users_app.command("set-password")
def users_set_password(
    name: Annotated[str, typer.Argument(help="The sign-in name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Set a user's password."""
    with user_errors():
        app = make_app(db)
        from sqlmodel import Session

        from testrota.auth.passwords import check_password_rules
        from testrota.auth.users import find_user, update_user
        from testrota.db.engine import session_scope

        with Session(app.engine) as s:
            user = find_user(s, name)
        password = _read_password(password_stdin)
        check_password_rules(password)
        with session_scope(app.engine) as session:
            update_user(session, user.id, now=app.clock.now(), actor=Actor.cli(), password=password)
        if json_out:
            emit_json({"name": name, "password_changed": True})
        else:
            typer.echo(
                say("password of {name} changed; their sign-ins are ended", name=name), err=True
            )


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="The sign-in name.")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Disable a user: they cannot sign in, and their sign-ins end at once."""
    _set_active(name, False, db, json_out)


@users_app.command("enable")
def users_enable(
    name: Annotated[str, typer.Argument(help="The sign-in name.")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Enable a disabled user again."""
    _set_active(name, True, db, json_out)


def _set_active(name: str, active: bool, db: str | None, json_out: bool) -> None:
    with user_errors():
        app = make_app(db)
        from testrota.auth.users import find_user, update_user
        from testrota.db.engine import session_scope

        with session_scope(app.engine) as session:
            user = find_user(session, name)
            update_user(session, user.id, now=app.clock.now(), actor=Actor.cli(), active=active)
        if json_out:
            emit_json({"name": name, "active": active})
        else:
            typer.echo(
                say("{name} enabled", name=name)
                if active
                else say("{name} disabled; their sign-ins are ended", name=name),
                err=True,
            )


@users_app.command("sessions")
def users_sessions(
    name: Annotated[
        str | None, typer.Argument(help="Only this user's sign-ins.", show_default=False)
    ] = None,
    fmt: FormatOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List the live sign-ins: who, since when, last seen, from which address and browser."""
    with user_errors():
        fmt = output_format(fmt, json_out)
        app = make_app(db)
        from sqlmodel import Session

        from testrota.auth.sessions import SessionRule, live_sessions
        from testrota.auth.users import find_user
        from testrota.cli.common import rows_as

        with Session(app.engine) as session:
            uid = find_user(session, name).id if name else None
            rows = [
                {
                    "id": s.id,
                    "user": s.user_name,
                    "signed_in_at": s.created_at,
                    "last_seen_at": s.last_seen_at,
                    "ip": s.ip,
                    "browser": s.user_agent,
                }
                for s in live_sessions(
                    session, app.clock.now(), SessionRule.of(app.policy.web), user_id=uid
                )
            ]
        rows_as(
            fmt,
            rows,
            ["id", "user", "signed_in_at", "last_seen_at", "ip", "browser"],
            title=say("Sign-ins"),
        )


@users_app.command("sign-out")
def users_sign_out(
    name: Annotated[str, typer.Argument(help="The sign-in name.")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """End every sign-in of a user (they sign in again with their password)."""
    with user_errors():
        app = make_app(db)
        from testrota.auth.users import end_sign_ins, find_user
        from testrota.db.engine import session_scope

        with session_scope(app.engine) as session:
            user = find_user(session, name)
            ended = end_sign_ins(session, user.id, now=app.clock.now(), actor=Actor.cli())
        if json_out:
            emit_json({"name": name, "ended": ended})
        else:
            typer.echo(say("{name}: {n} sign-in(s) ended", name=name, n=ended), err=True)


def demo(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Seed and print the users, then stop.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Seed the sample rosters with a realistic past week, create demo users, then serve."""
    with user_errors():
        app = make_app(db)
        from testrota.web.demo import demo_settings, seed_demo

        settings = demo_settings(app.settings, host, port)
        report = seed_demo(settings)
        for line in report.lines():
            typer.echo(line, err=True)
        typer.echo("\n" + say("Demo users (name / password / role):"))
        for user in report.users:
            typer.echo(
                f"  {user.name:<12} {user.password:<16} {user.role}"
                + (f"  ({', '.join(user.departments)})" if user.departments else "")
            )
        if no_serve:
            return
        from testrota.web.app import create_app

        web = create_app(settings, with_worker=True)
    _run_uvicorn(web, host, port)

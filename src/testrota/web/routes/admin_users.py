"""The users page: admins and HR add users, change roles, departments and units, reset
passwords.

HR may manage every role but admin; only an admin creates, changes or disables an admin.
Units are chosen from the tree's list or found by searching their paths (``?find=``); adding
and changing go through the same use cases as ``testrota users add`` (testrota.actions.users).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.stale_scopes import FindStaleScopes, find_stale_scopes
from testrota.actions.units import ensure_units
from testrota.actions.users import (
    MAX_UNIT_TEXT,
    AddUser,
    ChangeUser,
    add_user,
    change_user,
    find_units,
    unit_choices,
)
from testrota.audit import Actor
from testrota.auth.scope import ROLES, Scope
from testrota.auth.sessions import SessionRule, live_counts
from testrota.auth.stale import StaleScope
from testrota.auth.users import UserInfo, end_sign_ins, get_user, list_users
from testrota.db.engine import session_scope
from testrota.errors import UserError
from testrota.roster.people import departments as known_departments
from testrota.web.deps import AppDep, HRUser, SessionDep, end_read, verify_csrf
from testrota.web.i18n import translator
from testrota.web.ids import IdPath
from testrota.web.render import flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def split_departments(text: str) -> list[str]:
    return [d.strip() for d in re.split(r"[\n,，;；]+", text) if d.strip()]


def split_units(text: str) -> tuple[str, ...]:
    """Unit paths or codes, one a line or separated by commas or semicolons (a path's own
    separator is ``/``)."""
    return tuple(split_departments(text))


def _may_manage(actor: UserInfo, role: str) -> bool:
    return actor.role == "admin" or role != "admin"


def _page(
    request: Request,
    session: SessionDep,
    actor: UserInfo,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
    find: str = "",
) -> Response:
    roles = [r for r in ROLES if _may_manage(actor, r)]
    app = request.app.state.testrota
    ensure_units(app, Actor.web(actor.name))
    stale: dict[str, list[StaleScope]] = {}
    for entry in find_stale_scopes(app, FindStaleScopes(Actor.web(actor.name), actor.role)):
        stale.setdefault(entry.user, []).append(entry)
    return render(
        request,
        "admin_users.html",
        {
            "users": list_users(session),
            "roles": roles,
            "departments": known_departments(session.connection(), Scope.everything()),
            "units": unit_choices(app),
            "find": find,
            "found": find_units(app, find) if find.strip() else None,
            "error": error,
            "form": form or {"role": "supervisor", "language": "zh"},
            "actor": actor,
            "sign_ins": live_counts(session, app.now(), SessionRule.of(app.policy.web)),
            "stale": stale,  # supervisors' entries with nobody on the roster, by user
        },
        status_code=status_code,
    )


@router.get("/admin/users")
def users_page(
    request: Request,
    session: SessionDep,
    actor: HRUser,
    find: Annotated[str, Query(max_length=MAX_UNIT_TEXT)] = "",
) -> Response:
    return _page(request, session, actor, find=find)


@router.post("/admin/users")
def users_add(
    request: Request,
    app: AppDep,
    session: SessionDep,
    actor: HRUser,
    name: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()],
    departments: Annotated[str, Form(max_length=4000)] = "",
    units: Annotated[str, Form(max_length=20_000)] = "",
    language: Annotated[str, Form()] = "zh",
) -> Response:
    _ = translator(request_language(request))
    form = {
        "name": name,
        "role": role,
        "departments": departments,
        "units": units,
        "language": language,
    }
    if not _may_manage(actor, role):
        raise HTTPException(403, _("Only an admin can add an admin."))
    end_read(session)
    try:
        add_user(
            app,
            AddUser(
                Actor.web(actor.name),
                name.strip(),
                role,
                password,
                departments=tuple(split_departments(departments)),
                units=split_units(units),
                language=language,
            ),
        )
    except UserError as exc:
        return _page(request, session, actor, status_code=400, error=exc.render(_), form=form)
    flash(request, _("User {name} added.", name=name.strip()))
    return RedirectResponse("/admin/users", 303)


@router.post("/admin/users/{user_id}")
def users_change(
    request: Request,
    app: AppDep,
    session: SessionDep,
    actor: HRUser,
    user_id: IdPath,
    role: Annotated[str, Form()],
    departments: Annotated[str, Form(max_length=4000)] = "",
    # None: a form without the field (an older page) leaves the units as they are
    units: Annotated[str | None, Form(max_length=20_000)] = None,
    language: Annotated[str, Form()] = "zh",
    active: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request_language(request))
    target = get_user(session, user_id)
    end_read(session)
    if target is None:
        raise HTTPException(404, _("No such user."))
    if not (_may_manage(actor, target.role) and _may_manage(actor, role)):
        raise HTTPException(403, _("Only an admin can change an admin."))
    if target.id == actor.id and (not active or role != actor.role):
        return _page(
            request,
            session,
            actor,
            status_code=400,
            error=_("You cannot disable yourself or change your own role."),
        )
    try:
        change_user(
            app,
            ChangeUser(
                Actor.web(actor.name),
                user_id,
                role=role,
                departments=tuple(split_departments(departments)),
                units=split_units(units) if units is not None else None,
                language=language,
                active=bool(active),
                password=password or None,
                keep_session=_own_sign_in(request, actor, target),
            ),
        )
    except UserError as exc:
        return _page(request, session, actor, status_code=400, error=exc.render(_))
    flash(request, _("User {name} saved.", name=target.name))
    return RedirectResponse("/admin/users", 303)


@router.post("/admin/users/{user_id}/sign-out")
def users_sign_out(
    request: Request,
    app: AppDep,
    session: SessionDep,
    actor: HRUser,
    user_id: IdPath,
) -> Response:
    """Sign a user out everywhere (a lost phone, a shared browser, a suspicion)."""
    _ = translator(request_language(request))
    target = get_user(session, user_id)
    end_read(session)
    if target is None:
        raise HTTPException(404, _("No such user."))
    if not _may_manage(actor, target.role):
        raise HTTPException(403, _("Only an admin can change an admin."))
    with session_scope(app.engine) as tx:
        ended = end_sign_ins(
            tx,
            user_id,
            now=app.now(),
            actor=Actor.web(actor.name),
            keep_session=_own_sign_in(request, actor, target),
        )
    flash(request, _("{name} was signed out of {n} sign-in(s).", name=target.name, n=ended))
    return RedirectResponse("/admin/users", 303)


def _own_sign_in(request: Request, actor: UserInfo, target: UserInfo) -> int | None:
    """The actor's own sign-in when they change themselves: they stay signed in here."""
    return getattr(request.state, "session_id", None) if target.id == actor.id else None

"""The users page: admins and HR add users, change roles and departments, reset passwords.

HR may manage every role but admin; only an admin creates, changes or disables an admin.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from testrota.audit import Actor
from testrota.auth.scope import ROLES, Scope
from testrota.auth.sessions import SessionRule, live_counts
from testrota.auth.users import (
    UserInfo,
    add_user,
    end_sign_ins,
    get_user,
    list_users,
    update_user,
)
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
) -> Response:
    roles = [r for r in ROLES if _may_manage(actor, r)]
    app = request.app.state.testrota
    return render(
        request,
        "admin_users.html",
        {
            "users": list_users(session),
            "roles": roles,
            "departments": known_departments(session, Scope.everything()),
            "error": error,
            "form": form or {"role": "supervisor", "language": "zh"},
            "actor": actor,
            "sign_ins": live_counts(session, app.now(), SessionRule.of(app.policy.web)),
        },
        status_code=status_code,
    )


@router.get("/admin/users")
def users_page(request: Request, session: SessionDep, actor: HRUser) -> Response:
    return _page(request, session, actor)


@router.post("/admin/users")
def users_add(
    request: Request,
    app: AppDep,
    session: SessionDep,
    actor: HRUser,
    name: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()],
    departments: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "zh",
) -> Response:
    _ = translator(request_language(request))
    form = {"name": name, "role": role, "departments": departments, "language": language}
    if not _may_manage(actor, role):
        raise HTTPException(403, _("Only an admin can add an admin."))
    try:
        with session_scope(app.engine) as tx:
            add_user(
                tx,
                name=name.strip(),
                role=role,
                password=password,
                departments=split_departments(departments),
                language=language,
                now=app.now(),
                actor=Actor.web(actor.name),
            )
    except UserError as exc:
        return _page(request, session, actor, status_code=400, error=str(exc), form=form)
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
    departments: Annotated[str, Form()] = "",
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
        with session_scope(app.engine) as tx:
            update_user(
                tx,
                user_id,
                now=app.now(),
                actor=Actor.web(actor.name),
                role=role,
                departments=split_departments(departments),
                language=language,
                active=bool(active),
                password=password or None,
                keep_session=_own_sign_in(request, actor, target),
            )
    except UserError as exc:
        return _page(request, session, actor, status_code=400, error=str(exc))
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

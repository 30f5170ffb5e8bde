"""Sign in, sign out and the language switch."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from testrota.audit import Action, Actor, record
from testrota.auth.sessions import EndReason, SessionRule, open_session, prune_sessions
from testrota.auth.sessions import end_session as end_web_session
from testrota.auth.throttle import ThrottleRule
from testrota.auth.users import SignInRefused, sign_in, update_user
from testrota.db.engine import session_scope
from testrota.web.deps import AppDep, OptionalUser, verify_csrf
from testrota.web.i18n import LANGUAGES, translator
from testrota.web.render import render, request_language
from testrota.web.security import client_ip, end_session, session_token, start_session

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

HOME_BY_ROLE = {"site": "/checkin"}


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: an open redirect would send people elsewhere after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next, HOME_BY_ROLE.get(user.role, "/")), 303)
    _ = translator(request_language(request))
    error = {
        "expired": _("Your sign-in has expired. Please sign in again."),
        "ended": _("You have been signed out. Please sign in again."),
    }.get(str(request.session.pop("signed_out", "")))
    return render(request, "login.html", {"next": safe_next(next), "username": "", "error": error})


@router.post("/login")
def login(
    request: Request,
    app: AppDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    _ = translator(request_language(request))
    now = app.now()
    refused: SignInRefused | None = None
    ip = client_ip(request)
    earlier = session_token(request)
    with session_scope(app.engine) as session:
        try:
            user = sign_in(
                session,
                name=username.strip(),
                password=password,
                ip=ip,
                now=now,
                rule=ThrottleRule.of(app.policy.web),
            )
        except SignInRefused as exc:
            refused = exc
        else:
            if earlier is not None:
                end_web_session(session, earlier, now, EndReason.NEW_SIGN_IN)
            prune_sessions(session, now=now, rule=SessionRule.of(app.policy.web))
            token = open_session(
                session,
                user_id=user.id,
                now=now,
                ip=ip,
                user_agent=request.headers.get("user-agent", ""),
            )
    if refused is not None:
        if refused.retry_after:
            message = _(
                "Too many failed sign-ins. Try again in {minutes} min.",
                minutes=max(1, math.ceil(refused.retry_after / 60)),
            )
            status, headers = 429, {"Retry-After": str(refused.retry_after)}
        else:
            message, status, headers = _("Wrong user name or password."), 400, {}
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "username": username, "error": message},
            status_code=status,
            headers=headers,
        )
    start_session(request, token)
    home = HOME_BY_ROLE.get(user.role, "/")
    return RedirectResponse(home if next in ("", "/") else safe_next(next, home), 303)


@router.post("/logout")
def logout(request: Request, app: AppDep, user: OptionalUser) -> Response:
    token = session_token(request)
    if token is not None:
        with session_scope(app.engine) as session:
            end_web_session(session, token, app.now(), EndReason.SIGN_OUT)
            if user is not None:
                record(
                    session,
                    Actor.web(user.name),
                    Action.USER_SIGNED_OUT,
                    "user",
                    user.name,
                    at=app.now(),
                )
    end_session(request)
    return RedirectResponse("/login", 303)


@router.post("/language")
def set_language(
    request: Request,
    app: AppDep,
    user: OptionalUser,
    lang: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if lang in LANGUAGES:
        request.session["lang"] = lang
        if user is not None and user.language != lang:
            with session_scope(app.engine) as session:
                update_user(
                    session, user.id, now=app.now(), actor=Actor.web(user.name), language=lang
                )
    return RedirectResponse(safe_next(next), 303)

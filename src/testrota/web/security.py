"""Signed-cookie sign-in state and CSRF tokens.

The cookie (Starlette's ``SessionMiddleware``, signed with ``TESTROTA_SECRET_KEY`` by
itsdangerous) holds only the user id, when they signed in, when they were last seen and the CSRF
token; the user's role and departments are read from the database on every request, so a change
by an admin takes effect at once.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Any

from starlette.requests import Request

from testrota.policy import WebPolicy

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SEEN_REFRESH_SECONDS = 60


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_matches(request: Request, offered: str | None) -> bool:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not offered:
        return False
    return hmac.compare_digest(expected.encode(), offered.encode())


def start_session(request: Request, user_id: int, now: datetime) -> None:
    """Sign in: a fresh session (and a fresh CSRF token) so nothing from before carries over."""
    lang = request.session.get("lang")
    request.session.clear()
    request.session.update(
        {"uid": user_id, "login": now.timestamp(), "seen": now.timestamp(),
         "csrf": secrets.token_urlsafe(32)}
    )
    if lang:
        request.session["lang"] = lang


def end_session(request: Request) -> None:
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang


def session_user_id(request: Request, now: datetime, rule: WebPolicy) -> int | None:
    """The signed-in user id, or None when nobody is signed in or the sign-in has expired.

    Expiry is judged by the application's clock, so ``TESTROTA_NOW`` and tests control it; the
    cookie's own Max-Age (set by the middleware) is the browser-side backstop.
    """
    session: dict[str, Any] = request.session
    uid = session.get("uid")
    if not isinstance(uid, int):
        return None
    login, seen = session.get("login"), session.get("seen")
    if not isinstance(login, int | float) or not isinstance(seen, int | float):
        return None
    ts = now.timestamp()
    if ts - login > rule.session_hours * 3600 or ts - seen > rule.idle_minutes * 60:
        end_session(request)
        request.session["expired"] = True
        return None
    if ts - seen > SEEN_REFRESH_SECONDS:
        session["seen"] = ts
    return uid


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""

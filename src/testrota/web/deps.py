"""Annotated dependencies: every permission and department-scoping rule lives here.

Handlers declare what they need (``HRUser``, ``SupervisorScope``...) and never check roles
themselves, so a page, its export and its API twin cannot disagree about who may see what.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from testrota.app import App
from testrota.auth.scope import Scope, scope_for
from testrota.auth.sessions import (
    SessionRule,
    SessionState,
    find_session,
    judge,
    needs_touch,
    touch,
)
from testrota.auth.users import UserInfo
from testrota.db.engine import lookup, session_scope
from testrota.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    csrf_matches,
    end_session,
    session_token,
)


class NotSignedIn(Exception):
    """Nobody is signed in (or the sign-in expired): pages redirect, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but this role may not do this: 403."""


class CsrfRefused(Exception):
    """An unsafe request without the session's CSRF token: 403, nothing changes."""


# The dependencies that only look at what the request already holds are ``async``: FastAPI
# runs a plain ``def`` dependency in its thread pool, a thread hop each (three of a check-in's
# six were these); those that read the database stay plain, off the event loop.
async def get_app(request: Request) -> App:
    app: App = request.app.state.testrota
    return app


AppDep = Annotated[App, Depends(get_app)]


def get_session(app: AppDep) -> Iterator[Session]:
    """The request's session, for reading: writes go through the services (``app.engine``)."""
    with Session(app.read_engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def end_read(session: Session) -> None:
    """End a read transaction before calling a service that writes through its own session.

    On SQLite every transaction takes the write lock (``BEGIN IMMEDIATE``), so a request's read
    left open would block the service's write until the busy timeout. ``commit`` rather than
    ``rollback``: the session does not expire on commit, so objects read stay usable.
    """
    session.commit()


def get_optional_user(request: Request, app: AppDep) -> UserInfo | None:
    token = session_token(request)
    if token is None:
        return None
    with lookup(app.fresh_engine) as conn:
        found = find_session(conn, token)
    now = app.now()
    rule = SessionRule.of(app.policy.web)
    state = judge(found, now, rule)
    if found is None or state is not SessionState.OK:
        # Signed out, ended by a change to the user, or expired: this cookie is done with.
        end_session(request, signed_out=state.value)
        return None
    if needs_touch(found, now, rule):
        with app.write_lock, session_scope(app.engine) as tx:
            touch(tx, found.session_id, now)
    user = found.user
    request.state.user = user
    request.state.session_id = found.session_id
    return user


OptionalUser = Annotated[UserInfo | None, Depends(get_optional_user)]


async def get_current_user(user: OptionalUser) -> UserInfo:
    if user is None:
        raise NotSignedIn()
    return user


CurrentUser = Annotated[UserInfo, Depends(get_current_user)]


def require_role(*roles: str) -> Callable[[UserInfo], Awaitable[UserInfo]]:
    allowed = frozenset(roles)

    async def dependency(user: CurrentUser) -> UserInfo:
        if user.role not in allowed:
            raise Forbidden()
        return user

    return dependency


AdminUser = Annotated[UserInfo, Depends(require_role("admin"))]
UPLOAD_ROLES = ("admin", "hr")  # who manages people: rosters and results uploads too
HRUser = Annotated[UserInfo, Depends(require_role(*UPLOAD_ROLES))]
# Everyone who works with lists of people: never site staff.
OfficeUser = Annotated[UserInfo, Depends(require_role("admin", "hr", "supervisor"))]
CheckinUser = Annotated[UserInfo, Depends(require_role("admin", "hr", "site"))]
LookupUser = Annotated[UserInfo, Depends(require_role("admin", "hr", "supervisor", "site"))]


def user_scope(user: UserInfo, app: App) -> Scope:
    """The one place a signed-in user's scope is worked out: roles, departments and units."""
    if user.role == "supervisor":
        return granted_scope(user, app)
    return scope_for(user.role, user.departments)


def granted_scope(user: UserInfo, app: App) -> Scope:
    """The departments and units a user was given (each unit with everything below it), as
    a supervisor's lists are scoped."""
    if user.units:
        from testrota.org.units import departments_in

        with lookup(app.fresh_engine) as conn:
            found = departments_in(conn, user.units)
        return scope_for("supervisor", user.departments, user.units, found)
    return scope_for("supervisor", user.departments)


def get_supervisor_scope(user: OfficeUser, app: AppDep) -> Scope:
    return _with_masker(user_scope(user, app), user, app)


def _with_masker(scope: Scope, user: UserInfo, app: App) -> Scope:
    from testrota.privacy import masker_for_policy

    return replace(scope, masker=masker_for_policy(user.role, app.policy))


SupervisorScope = Annotated[Scope, Depends(get_supervisor_scope)]


def get_lookup_scope(user: LookupUser, app: AppDep) -> Scope:
    # Gate guards and site staff check anyone who comes to the gate, unless they were given
    # departments or units (a plant's own tent): then those, as a supervisor's lists are.
    # A supervisor looks up only their own.
    if user.role == "site":
        if user.departments or user.units:
            return _with_masker(granted_scope(user, app), user, app)
        return _with_masker(Scope.everything(), user, app)
    return _with_masker(user_scope(user, app), user, app)


LookupScope = Annotated[Scope, Depends(get_lookup_scope)]


async def verify_csrf(request: Request) -> None:
    """Refuse any unsafe request whose form field or header lacks the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    offered = request.headers.get(CSRF_HEADER)
    if not offered:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            offered = value if isinstance(value, str) else None
    if not csrf_matches(request, offered):
        raise CsrfRefused()

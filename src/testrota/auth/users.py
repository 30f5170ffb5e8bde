"""Users of the web app: created from the CLI or the admin page, signed in with a password."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func
from sqlmodel import Session, col, select

from testrota.audit import Action, Actor, record
from testrota.auth.passwords import hash_password, needs_rehash, verify_password
from testrota.auth.scope import ROLES
from testrota.auth.sessions import EndReason, end_user_sessions
from testrota.auth.throttle import Attempts, ThrottleRule, retry_after
from testrota.db.models import LoginAttempt, User
from testrota.errors import UserError

LANGUAGES = ("zh", "en")
NAME_MAX, IP_MAX = 100, 64  # the columns of LoginAttempt

log = logging.getLogger(__name__)


class SignInRefused(Exception):
    """Wrong name or password, a disabled user, or too many attempts (``retry_after`` > 0)."""

    def __init__(self, retry_after: int = 0) -> None:
        super().__init__("sign-in refused")
        self.retry_after = retry_after


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    role: str
    departments: tuple[str, ...]
    language: str
    active: bool
    phone: str | None = None
    units: tuple[str, ...] = ()  # unit paths: each and everything below it

    @classmethod
    def of(cls, user: User | Row[Any]) -> UserInfo:
        """From a user, or a row of the user's columns (a request's sign-in look-up)."""
        assert user.id is not None
        return cls(
            id=user.id,
            name=user.name,
            role=user.role,
            departments=tuple(user.departments or ()),
            language=user.language,
            active=user.active,
            phone=user.phone,
            units=tuple(user.units or ()),
        )


def _clean_departments(departments: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for d in departments:
        d = d.strip()
        if d and d not in seen:
            seen.append(d)
    return seen


def _check(
    name: str, role: str, departments: list[str], language: str, units: list[str] | None = None
) -> None:
    if not name.strip() or len(name) > 100 or name != name.strip():
        raise UserError("a user name must be 1-100 characters without surrounding spaces")
    if role not in ROLES:
        raise UserError(
            "unknown role {role!r}: use one of {roles}", role=role, roles=", ".join(ROLES)
        )
    if role == "supervisor" and not departments and not units:
        raise UserError("a supervisor needs at least one --department or --unit to see anything")
    if language not in LANGUAGES:
        raise UserError("unknown language {language!r}: use zh or en", language=language)


def add_user(
    session: Session,
    *,
    name: str,
    role: str,
    password: str,
    now: datetime,
    departments: Iterable[str] = (),
    language: str = "zh",
    phone: str | None = None,
    actor: Actor | None = None,
    units: Iterable[str] = (),
) -> UserInfo:
    """Create a user; a name that exists already is an error, not an update. ``actor``
    defaults to the person at the terminal; ``units`` are full unit paths (the caller resolves
    what a person typed, see testrota.org.units)."""
    depts = _clean_departments(departments)
    unit_paths = _clean_departments(units)
    _check(name, role, depts, language, unit_paths)
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise UserError("user {name!r} exists already", name=name)
    user = User(
        name=name,
        password_hash=hash_password(password),
        role=role,
        departments=depts,
        units=unit_paths,
        language=language,
        phone=phone,
        created_at=now,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor or Actor.cli(),
        Action.USER_ADDED,
        "user",
        name,
        at=now,
        details={
            "role": role,
            "departments": depts,
            **({"units": unit_paths} if unit_paths else {}),
        },
    )
    return UserInfo.of(user)


def update_user(
    session: Session,
    user_id: int,
    *,
    now: datetime,
    actor: Actor,
    role: str | None = None,
    departments: Iterable[str] | None = None,
    language: str | None = None,
    active: bool | None = None,
    password: str | None = None,
    keep_session: int | None = None,
    units: Iterable[str] | None = None,
) -> UserInfo:
    """Change a user; a new password, a new role or disabling ends the user's sign-ins.

    ``units`` are full unit paths (None: unchanged); like departments they are read on every
    request, so a change takes effect at the user's next page without signing them out.

    ``keep_session`` is the id of a sign-in to leave alone: the actor's own, when they change
    their own password, so that they are not signed out by it.
    """
    user = session.get(User, user_id)
    if user is None:
        raise UserError("no user with id {user_id}", user_id=user_id)
    before = {
        "role": user.role,
        "departments": list(user.departments),
        "units": list(user.units or ()),
        "active": user.active,
        "language": user.language,
    }
    new_role = role if role is not None else user.role
    new_depts = _clean_departments(departments) if departments is not None else user.departments
    new_lang = language if language is not None else user.language
    new_units = _clean_departments(units) if units is not None else list(user.units or ())
    _check(user.name, new_role, list(new_depts), new_lang, new_units)
    user.role, user.departments, user.language = new_role, list(new_depts), new_lang
    user.units = new_units
    if active is not None:
        user.active = active
    if password:
        user.password_hash = hash_password(password)
    session.add(user)
    after = {
        "role": user.role,
        "departments": list(user.departments),
        "units": list(user.units or ()),
        "active": user.active,
        "language": user.language,
    }
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if password:
        changed["password"] = ["*", "*"]
    reason = _end_reason(changed)
    if reason is not None:
        ended = end_user_sessions(session, user_id, now, reason, keep=keep_session)
        if ended:
            changed["sign_ins_ended"] = [ended, 0]
    if changed:
        record(
            session,
            actor,
            Action.USER_CHANGED,
            "user",
            user.name,
            at=now,
            details=changed,
        )
    return UserInfo.of(user)


def _end_reason(changed: dict[str, Any]) -> EndReason | None:
    """Why a change ends the user's sign-ins, if it does.

    Departments and language do not: they are read from the database on every request anyway.
    A new role does, although it is read the same way: whoever holds the old sign-in (a
    forgotten browser, a copied cookie) should not carry it into the new role.
    """
    if "active" in changed and changed["active"][1] is False:
        return EndReason.DISABLED
    if "password" in changed:
        return EndReason.PASSWORD
    if "role" in changed:
        return EndReason.ROLE
    return None


def end_sign_ins(
    session: Session, user_id: int, *, now: datetime, actor: Actor, keep_session: int | None = None
) -> int:
    """ "Sign out everywhere": end every sign-in of a user; returns how many were not ended yet."""
    user = session.get(User, user_id)
    if user is None:
        raise UserError("no user with id {user_id}", user_id=user_id)
    ended = end_user_sessions(session, user_id, now, EndReason.ADMIN, keep=keep_session)
    record(
        session,
        actor,
        Action.USER_SIGNED_OUT_EVERYWHERE,
        "user",
        user.name,
        at=now,
        details={"sign_ins_ended": ended},
    )
    return ended


def find_user(session: Session, name: str) -> UserInfo:
    """The user called ``name``, or a :class:`UserError` saying how to find the right one."""
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise UserError("no user named {name!r} (see `testrota users list`)", name=name)
    return UserInfo.of(user)


def list_users(session: Session) -> list[UserInfo]:
    return [UserInfo.of(u) for u in session.exec(select(User).order_by(col(User.name)))]


def get_user(session: Session, user_id: int) -> UserInfo | None:
    user = session.get(User, user_id)
    return UserInfo.of(user) if user is not None else None


def sign_in(
    session: Session,
    *,
    name: str,
    password: str,
    ip: str,
    now: datetime,
    rule: ThrottleRule,
) -> UserInfo:
    """Check a name and password; every attempt is recorded and failures are throttled.

    The caller commits the session whether this returns or raises, so failures are counted.
    """
    wait = retry_after(recent_attempts(session, name=name, ip=ip, now=now, rule=rule), rule, now)
    if wait:
        log.warning(
            "sign-in paused", extra={"user": name[:NAME_MAX], "ip": ip, "retry_after": wait}
        )
        raise SignInRefused(retry_after=wait)
    user = session.exec(select(User).where(User.name == name)).first()
    ok = verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(at=now, name=name[:NAME_MAX], ip=ip[:IP_MAX], ok=ok))
    if not ok or user is None:
        log.info("sign-in refused", extra={"user": name[:NAME_MAX], "ip": ip})
        raise SignInRefused()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    # Only a success prunes: an attacker's failures cannot make anyone pay for a delete.
    prune_login_attempts(
        session, now=now, keep=max(rule.window, rule.name_window, rule.known_address_for)
    )
    record(
        session,
        Actor.web(user.name),
        Action.USER_SIGNED_IN,
        "user",
        user.name,
        at=now,
        details={"ip": ip},
    )
    return UserInfo.of(user)


def recent_attempts(
    session: Session, *, name: str, ip: str, now: datetime, rule: ThrottleRule
) -> Attempts:
    """What the database holds about earlier attempts for this name and address.

    Each list is read newest first and cut at its limit: the pause depends only on the newest
    ``limit`` failures, so a flood of them costs no more to check than a few.
    """
    name, ip = name[:NAME_MAX], ip[:IP_MAX]
    since = now - rule.window
    failed = col(LoginAttempt.ok).is_(False)
    newest = col(LoginAttempt.at).desc()
    pair = session.exec(
        select(LoginAttempt.at, LoginAttempt.ok)
        .where(LoginAttempt.name == name, LoginAttempt.ip == ip, LoginAttempt.at > since)
        .order_by(newest, col(LoginAttempt.id).desc())
        .limit(rule.max_failures + 1)
    ).all()
    ip_failures = session.exec(
        select(LoginAttempt.at)
        .where(LoginAttempt.ip == ip, failed, LoginAttempt.at > since)
        .order_by(newest)
        .limit(rule.max_failures_per_ip)
    ).all()
    name_failures = session.exec(
        select(LoginAttempt.at)
        .where(LoginAttempt.name == name, failed, LoginAttempt.at > now - rule.name_window)
        .order_by(newest)
        .limit(rule.max_failures_per_name)
    ).all()
    known = (
        rule.known_address_for > timedelta(0)
        and session.exec(
            select(LoginAttempt.id)
            .where(
                LoginAttempt.name == name,
                LoginAttempt.ip == ip,
                col(LoginAttempt.ok).is_(True),
                LoginAttempt.at > now - rule.known_address_for,
            )
            .limit(1)
        ).first()
        is not None
    )
    return Attempts(
        pair=[(at, bool(ok)) for at, ok in reversed(pair)],
        ip_failures=list(ip_failures),
        name_failures=list(name_failures),
        known_address=known,
    )


def prune_login_attempts(session: Session, *, now: datetime, keep: timedelta) -> int:
    """Delete attempts older than ``keep``; returns how many."""
    cutoff = now - keep
    count = session.exec(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at < cutoff)
    ).one()
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.at) < cutoff))
    return int(count)

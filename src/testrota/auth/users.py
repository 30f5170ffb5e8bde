"""Users of the web app: created from the CLI or the admin page, signed in with a password."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from testrota.auth.passwords import hash_password, needs_rehash, verify_password
from testrota.auth.scope import ROLES
from testrota.auth.throttle import ThrottleRule, retry_after
from testrota.db.models import AuditEvent, LoginAttempt, User
from testrota.errors import UserError

LANGUAGES = ("zh", "en")


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

    @classmethod
    def of(cls, user: User) -> UserInfo:
        assert user.id is not None
        return cls(
            id=user.id,
            name=user.name,
            role=user.role,
            departments=tuple(user.departments or ()),
            language=user.language,
            active=user.active,
            phone=user.phone,
        )


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int = "",
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            details=details or {},
        )
    )


def _clean_departments(departments: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for d in departments:
        d = d.strip()
        if d and d not in seen:
            seen.append(d)
    return seen


def _check(name: str, role: str, departments: list[str], language: str) -> None:
    if not name.strip() or len(name) > 100 or name != name.strip():
        raise UserError("a user name must be 1-100 characters without surrounding spaces")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == "supervisor" and not departments:
        raise UserError("a supervisor needs at least one --department to see anything")
    if language not in LANGUAGES:
        raise UserError(f"unknown language {language!r}: use zh or en")


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
    actor: str = "cli",
) -> UserInfo:
    """Create a user; a name that exists already is an error, not an update."""
    depts = _clean_departments(departments)
    _check(name, role, depts, language)
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise UserError(f"user {name!r} exists already")
    user = User(
        name=name,
        password_hash=hash_password(password),
        role=role,
        departments=depts,
        language=language,
        phone=phone,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit(
        session,
        actor=actor,
        action="user.add",
        entity="user",
        entity_id=name,
        now=now,
        details={"role": role, "departments": depts},
    )
    return UserInfo.of(user)


def update_user(
    session: Session,
    user_id: int,
    *,
    now: datetime,
    actor: str,
    role: str | None = None,
    departments: Iterable[str] | None = None,
    language: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> UserInfo:
    user = session.get(User, user_id)
    if user is None:
        raise UserError(f"no user with id {user_id}")
    before = {"role": user.role, "departments": list(user.departments), "active": user.active,
              "language": user.language}
    new_role = role if role is not None else user.role
    new_depts = _clean_departments(departments) if departments is not None else user.departments
    new_lang = language if language is not None else user.language
    _check(user.name, new_role, list(new_depts), new_lang)
    user.role, user.departments, user.language = new_role, list(new_depts), new_lang
    if active is not None:
        user.active = active
    if password:
        user.password_hash = hash_password(password)
    session.add(user)
    after = {"role": user.role, "departments": list(user.departments), "active": user.active,
             "language": user.language}
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if password:
        changed["password"] = ["*", "*"]
    if changed:
        audit(session, actor=actor, action="user.change", entity="user", entity_id=user.name,
              now=now, details=changed)
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
    since = now - rule.window
    name_failures = list(
        session.exec(
            select(LoginAttempt.at).where(
                LoginAttempt.name == name, col(LoginAttempt.ok).is_(False),
                LoginAttempt.at > since,
            )
        )
    )
    ip_failures = list(
        session.exec(
            select(LoginAttempt.at).where(
                LoginAttempt.ip == ip, col(LoginAttempt.ok).is_(False), LoginAttempt.at > since
            )
        )
    )
    wait = retry_after(name_failures, ip_failures, rule, now)
    if wait:
        raise SignInRefused(retry_after=wait)
    user = session.exec(select(User).where(User.name == name)).first()
    ok = verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(at=now, name=name[:100], ip=ip[:64], ok=ok))
    if not ok or user is None:
        raise SignInRefused()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    audit(session, actor=user.name, action="user.sign_in", entity="user", entity_id=user.name,
          now=now, details={"ip": ip})
    return UserInfo.of(user)


def prune_login_attempts(session: Session, *, now: datetime, keep: timedelta) -> int:
    """Delete attempts older than ``keep``; returns how many."""
    cutoff = now - keep
    count = session.exec(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at < cutoff)
    ).one()
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.at) < cutoff))
    return int(count)

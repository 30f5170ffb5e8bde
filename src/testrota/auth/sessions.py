"""Web sign-ins kept in the database, so they can be ended server-side.

A signed cookie alone stays valid until it expires, whatever happens to the user; a copied cookie
would outlive a sign-out, a password change or a disabled account. So the cookie carries a random
token, and every request looks up its :class:`~testrota.db.models.WebSession` row (one indexed
read, joined with the user). Only the token's SHA-256 is stored: a copy of the table signs no one
in. Ending a sign-in sets ``revoked_at``; expiry (``web.session_hours``, ``web.idle_minutes``) is
judged from the row, by the application's clock, so ``TESTROTA_NOW`` and tests control it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Executable, bindparam, delete, func, update
from sqlalchemy import select as columns_of
from sqlmodel import Session, col, select

from testrota.db.models import User, WebSession
from testrota.policy import WebPolicy

if TYPE_CHECKING:
    from testrota.auth.users import UserInfo

TOKEN_BYTES = 32
# A token longer than this is not one of ours: refused before it is hashed.
MAX_TOKEN_LENGTH = 100
# ``last_seen_at`` is written at most every twentieth of the idle time (at least a minute) per
# sign-in: idle expiry then errs by 5 % at most, and a write on every page view would cost more
# than the page.
MIN_SEEN_REFRESH = timedelta(seconds=60)


class SessionState(StrEnum):
    OK = "ok"
    EXPIRED = "expired"  # too old, or idle too long
    ENDED = "ended"  # signed out, replaced, or ended by a change to the user


class EndReason(StrEnum):
    """Why a sign-in was ended (``websession.revoked_reason``)."""

    SIGN_OUT = "sign_out"
    NEW_SIGN_IN = "new_sign_in"  # the same browser signed in again
    PASSWORD = "password"
    ROLE = "role"
    DISABLED = "disabled"
    ADMIN = "admin"  # "sign out everywhere" by an admin, HR or the CLI


@dataclass(frozen=True)
class SessionRule:
    max_age: timedelta
    idle: timedelta

    @classmethod
    def of(cls, web: WebPolicy) -> SessionRule:
        return cls(
            max_age=timedelta(hours=web.session_hours), idle=timedelta(minutes=web.idle_minutes)
        )


@dataclass(frozen=True)
class Found:
    """A sign-in row and its user, as read for one request."""

    session_id: int
    user: UserInfo
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class SessionInfo:
    id: int
    user_id: int
    user_name: str
    created_at: datetime
    last_seen_at: datetime
    ip: str
    user_agent: str


def judge(found: Found | None, now: datetime, rule: SessionRule) -> SessionState:
    """Whether a request with this sign-in is signed in (pure).

    ``found`` None means the token matches no row (never ours, or pruned): ended.
    """
    if found is None or found.revoked_at is not None or not found.user.active:
        return SessionState.ENDED
    if now - found.created_at > rule.max_age or now - found.last_seen_at > rule.idle:
        return SessionState.EXPIRED
    return SessionState.OK


def needs_touch(found: Found, now: datetime, rule: SessionRule) -> bool:
    return now - found.last_seen_at >= max(MIN_SEEN_REFRESH, rule.idle / 20)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def valid_token(token: object) -> str | None:
    """``token`` when it can be one of ours (a bounded string), else None."""
    if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH:
        return token
    return None


def open_session(
    session: Session, *, user_id: int, now: datetime, ip: str = "", user_agent: str = ""
) -> str:
    """Record a new sign-in; returns the token for the cookie (never stored as such)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        WebSession(
            token_hash=hash_token(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            ip=ip[:64],
            user_agent=user_agent[:200],
        )
    )
    return token


def find_session(conn: Connection, token: str) -> Found | None:
    """The sign-in of ``token`` and its user, as columns: every request asks, and loading
    the two as ORM objects cost about as much as a check-in's own reads of the person."""
    from testrota.auth.users import UserInfo

    row = conn.execute(_FIND_SESSION, {"token_hash": hash_token(token)}).first()
    if row is None:
        return None
    return Found(
        session_id=row.session_id,
        user=UserInfo.of(row),
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        revoked_at=row.revoked_at,
    )


_FIND_SESSION: Executable = (
    columns_of(
        col(WebSession.id).label("session_id"),
        col(WebSession.created_at),
        col(WebSession.last_seen_at),
        col(WebSession.revoked_at),
        col(User.id),
        col(User.name),
        col(User.role),
        col(User.departments),
        col(User.language),
        col(User.active),
        col(User.phone),
        col(User.units),
    )
    .join(User, col(User.id) == col(WebSession.user_id))
    .where(col(WebSession.token_hash) == bindparam("token_hash"))
)


def touch(session: Session, session_id: int, now: datetime) -> None:
    session.exec(
        update(WebSession)
        .where(col(WebSession.id) == session_id, col(WebSession.revoked_at).is_(None))
        .values(last_seen_at=now)
    )


def end_session(session: Session, token: str, now: datetime, reason: EndReason) -> bool:
    """End the sign-in of ``token``; False when it was not a live one."""
    result = session.exec(
        update(WebSession)
        .where(
            col(WebSession.token_hash) == hash_token(token), col(WebSession.revoked_at).is_(None)
        )
        .values(revoked_at=now, revoked_reason=reason.value)
    )
    return bool(result.rowcount)


def end_user_sessions(
    session: Session, user_id: int, now: datetime, reason: EndReason, *, keep: int | None = None
) -> int:
    """End every live sign-in of a user (but ``keep``, the caller's own); returns how many."""
    condition = [col(WebSession.user_id) == user_id, col(WebSession.revoked_at).is_(None)]
    if keep is not None:
        condition.append(col(WebSession.id) != keep)
    result = session.exec(
        update(WebSession).where(*condition).values(revoked_at=now, revoked_reason=reason.value)
    )
    return int(result.rowcount or 0)


def live_sessions(
    session: Session, now: datetime, rule: SessionRule, user_id: int | None = None
) -> list[SessionInfo]:
    """The sign-ins that would still be accepted now, newest first."""
    query = (
        select(WebSession, User.name)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(
            col(WebSession.revoked_at).is_(None),
            col(User.active).is_(True),
            col(WebSession.created_at) >= now - rule.max_age,
            col(WebSession.last_seen_at) >= now - rule.idle,
        )
        .order_by(col(WebSession.last_seen_at).desc())
    )
    if user_id is not None:
        query = query.where(col(WebSession.user_id) == user_id)
    out = []
    for ws, name in session.exec(query):
        assert ws.id is not None
        out.append(
            SessionInfo(
                id=ws.id,
                user_id=ws.user_id,
                user_name=name,
                created_at=ws.created_at,
                last_seen_at=ws.last_seen_at,
                ip=ws.ip,
                user_agent=ws.user_agent,
            )
        )
    return out


def live_counts(session: Session, now: datetime, rule: SessionRule) -> dict[int, int]:
    """Live sign-ins per user id (the users page)."""
    rows = session.exec(
        select(WebSession.user_id, func.count())
        .where(
            col(WebSession.revoked_at).is_(None),
            col(WebSession.created_at) >= now - rule.max_age,
            col(WebSession.last_seen_at) >= now - rule.idle,
        )
        .group_by(col(WebSession.user_id))
    ).all()
    return {int(uid): int(n) for uid, n in rows}


def prune_sessions(session: Session, *, now: datetime, rule: SessionRule) -> int:
    """Delete sign-ins that can no longer be valid (older than the longest sign-in)."""
    result = session.exec(delete(WebSession).where(col(WebSession.created_at) < now - rule.max_age))
    return int(result.rowcount or 0)

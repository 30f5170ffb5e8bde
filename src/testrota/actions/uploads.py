"""Files uploaded through the web, kept between their preview and their apply or cancel.

A preview and its apply may reach different web processes (several ``uvicorn`` workers share
one PostgreSQL), so a file's bytes are stored in ``webupload`` rather than on one machine's
disk. An upload belongs to whoever made it (admins see all) and lives a day at most.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.db.engine import session_scope
from testrota.db.models import WebUpload
from testrota.errors import UserError

KEEP = timedelta(days=1)
KINDS = ("roster", "results")


class UploadGone(UserError):
    """No such upload (applied, cancelled, expired, or someone else's): a 404 on the web."""

    def __init__(self) -> None:
        super().__init__("This upload is gone: upload the file again.")


def safe_file_name(name: str | None) -> str:
    """The base name a browser sent, without any directory part."""
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    return base[:200] or "upload"


@contextmanager
def as_file(file_name: str, data: bytes) -> Iterator[Path]:
    """The bytes in a temporary file named like the original (readers go by its suffix)."""
    with tempfile.TemporaryDirectory(prefix="testrota-upload-") as tmp:
        path = Path(tmp) / safe_file_name(file_name)
        path.write_bytes(data)
        yield path


@dataclass(frozen=True)
class StageUpload:
    kind: str  # roster | results
    file_name: str
    data: bytes
    actor: Actor
    options: dict[str, Any] = field(default_factory=dict)  # what the apply needs again
    preview: dict[str, Any] = field(default_factory=dict)  # JSON, shown until the apply


def stage_upload(app: App, cmd: StageUpload) -> str:
    """Keep an uploaded file and its preview until it is applied or cancelled; returns its
    token (and forgets uploads older than a day)."""
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        session.exec(delete(WebUpload).where(col(WebUpload.created_at) < now - KEEP))
        row = WebUpload(
            token=secrets.token_urlsafe(24),
            kind=cmd.kind,
            file_name=safe_file_name(cmd.file_name),
            sha256=hashlib.sha256(cmd.data).hexdigest(),
            size=len(cmd.data),
            data=cmd.data,
            options=cmd.options,
            preview=cmd.preview,
            created_by=str(cmd.actor),
            created_at=now,
        )
        session.add(row)
        return row.token


@dataclass(frozen=True)
class FindUpload:
    token: str
    kind: str
    actor: Actor
    sees_all: bool = False  # an admin sees everyone's uploads; others only their own
    with_data: bool = False  # the file's bytes too (to apply it), not only its preview


@dataclass(frozen=True)
class StoredUpload:
    token: str
    kind: str
    file_name: str
    sha256: str
    options: dict[str, Any]
    preview: dict[str, Any]
    data: bytes | None  # None unless asked for


def find_upload(app: App, query: FindUpload) -> StoredUpload:
    """The upload, if it exists, is of the kind asked for and is the actor's (or they see
    all); else :class:`UploadGone`."""
    with Session(app.engine) as session:
        row = _load(session, query)
        return StoredUpload(
            token=row.token,
            kind=row.kind,
            file_name=row.file_name,
            sha256=row.sha256,
            options=dict(row.options or {}),
            preview=dict(row.preview or {}),
            data=row.data if query.with_data else None,
        )


def _load(session: Session, query: FindUpload) -> WebUpload:
    select_row = select(WebUpload).where(WebUpload.token == query.token)
    if not query.with_data:
        select_row = select_row.options(defer(WebUpload.data))  # type: ignore[arg-type]
    row = session.exec(select_row).first()
    if row is None or row.kind != query.kind:
        raise UploadGone()
    if row.created_by != str(query.actor) and not query.sees_all:
        raise UploadGone()
    return row


def discard_upload(app: App, token: str) -> None:
    """Forget an applied upload's file (the apply is what the audit log records)."""
    with app.write_lock, session_scope(app.engine) as session:
        session.exec(delete(WebUpload).where(col(WebUpload.token) == token))


@dataclass(frozen=True)
class CancelUpload:
    token: str
    kind: str
    actor: Actor
    sees_all: bool = False


def cancel_upload(app: App, cmd: CancelUpload) -> StoredUpload:
    """Throw an upload away unapplied (nothing of it was written), and audit it."""
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        row = _load(session, FindUpload(cmd.token, cmd.kind, cmd.actor, cmd.sees_all))
        gone = StoredUpload(
            token=row.token,
            kind=row.kind,
            file_name=row.file_name,
            sha256=row.sha256,
            options=dict(row.options or {}),
            preview={},
            data=None,
        )
        session.exec(delete(WebUpload).where(col(WebUpload.token) == cmd.token))
        record(
            session,
            cmd.actor,
            Action.UPLOAD_CANCELLED,
            "upload",
            row.sha256[:16],
            at=now,
            details={"kind": row.kind, "file": row.file_name},
        )
    return gone

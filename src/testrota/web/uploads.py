"""Uploaded files between their preview and their apply, kept in the database.

A preview and its apply may reach different web processes (several ``uvicorn`` workers share one
PostgreSQL), so the file's bytes are stored in ``webupload`` rather than on one machine's disk.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from testrota.db.models import WebUpload
from testrota.errors import UserError

KEEP = timedelta(days=1)
CHUNK = 1 << 20
ALLOWED_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt")


def safe_file_name(name: str | None) -> str:
    """The base name a browser sent, without any directory part."""
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    return base[:200] or "upload"


def check_suffix(file_name: str) -> None:
    suffix = PurePath(file_name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UserError(
            f"{file_name}: not a spreadsheet this app reads; upload .xlsx, .xls, .ods or .csv"
        )


async def read_limited(upload: Any, max_bytes: int) -> bytes:
    """Read an UploadFile, refusing it as soon as it passes ``max_bytes``."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = await upload.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise UserError(
                f"{safe_file_name(upload.filename)} is larger than the limit of "
                f"{max_bytes / 1e6:.0f} MB (import.max_file_mb in config/policy.yaml)"
            )
        parts.append(chunk)
    data = b"".join(parts)
    if not data:
        raise UserError(f"{safe_file_name(upload.filename)} is empty")
    return data


def store(session: Session, *, kind: str, file_name: str, data: bytes, options: dict[str, Any],
          actor: str, now: datetime) -> WebUpload:
    session.exec(delete(WebUpload).where(col(WebUpload.created_at) < now - KEEP))
    row = WebUpload(
        token=secrets.token_urlsafe(24),
        kind=kind,
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        data=data,
        options=options,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def load(session: Session, token: str, kind: str, actor: str, role: str, *,
         with_data: bool = False) -> WebUpload | None:
    """The upload, if it exists, is of ``kind`` and belongs to ``actor`` (admins see all)."""
    query = select(WebUpload).where(WebUpload.token == token)
    if not with_data:
        query = query.options(defer(WebUpload.data))  # type: ignore[arg-type]
    row = session.exec(query).first()
    if row is None or row.kind != kind:
        return None
    if row.created_by != actor and role != "admin":
        return None
    return row


def discard(session: Session, token: str) -> None:
    session.exec(delete(WebUpload).where(col(WebUpload.token) == token))


@contextmanager
def as_file(file_name: str, data: bytes) -> Iterator[Path]:
    """The bytes in a temporary file named like the original (readers go by its suffix)."""
    with tempfile.TemporaryDirectory(prefix="testrota-upload-") as tmp:
        path = Path(tmp) / safe_file_name(file_name)
        path.write_bytes(data)
        yield path

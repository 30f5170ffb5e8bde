"""Reading an uploaded file off the request: its name, its type, its size.

What happens to it next (kept until its preview is applied or cancelled) is
:mod:`testrota.actions.uploads`.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from testrota.actions.uploads import safe_file_name
from testrota.errors import UserError

CHUNK = 1 << 20
ALLOWED_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt")

__all__ = ["check_suffix", "read_limited", "safe_file_name"]


def check_suffix(file_name: str) -> None:
    suffix = PurePath(file_name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UserError(
            "{file}: not a spreadsheet this app reads; upload .xlsx, .xls, .ods or .csv",
            file=file_name,
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
                "{file} is larger than the limit of {mb} MB (import.max_file_mb in "
                "config/policy.yaml)",
                file=safe_file_name(upload.filename),
                mb=f"{max_bytes / 1e6:.0f}",
            )
        parts.append(chunk)
    data = b"".join(parts)
    if not data:
        raise UserError("{file} is empty", file=safe_file_name(upload.filename))
    return data

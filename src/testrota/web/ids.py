"""Ids in paths, query strings and forms, bounded before they reach the database.

Every id column is an ``INTEGER``: PostgreSQL's int4. A larger number cannot name a row, and
sent to the database it is an error there (PostgreSQL refuses it as out of range; SQLite's driver
cannot even bind one beyond 64 bits), so the doors refuse it first, with a 4xx that names the
field, on both databases alike.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query
from pydantic import Field

MAX_ID = 2**31 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdForm = Annotated[int, Form(ge=1, le=MAX_ID)]
OptionalIdForm = Annotated[int | None, Form(ge=1, le=MAX_ID)]
OptionalIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
IdList = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None, Form()]


def as_id(text: str | None) -> int | None:
    """``text`` as an id when it is one (digits, in range), else None."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None

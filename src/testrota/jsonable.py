"""A use case's result as JSON: the one rendering the CLI's ``--json`` and the API share.

Dataclasses become objects, datetimes ISO 8601 in the zone the door shows (the site's), dates
ISO, enums their value. Only the doors call this: the use cases return typed values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from enum import Enum
from pathlib import Path
from typing import Any


def jsonable(value: Any, tz: tzinfo | None = None) -> Any:
    """``value`` with every dataclass, datetime, date, enum and path made plain JSON."""
    if isinstance(value, datetime):
        return (value.astimezone(tz) if tz is not None else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name), tz) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, tz) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, tz) for v in value]
    return value

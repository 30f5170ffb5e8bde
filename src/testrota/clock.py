"""The one clock. Pure code takes ``now`` as an argument; only the shell asks a clock."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from testrota.settings import Settings


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at.astimezone(UTC)


class FileClock:
    """ "Now" is the ISO 8601 instant written in a file; it moves when the file is rewritten.

    A simulation drives the clock of every process it starts (web, workers, imports) through
    one file (``TESTROTA_CLOCK_FILE``). The file is read on every call (a few microseconds):
    caching by modification time would miss two writes within the file system's timestamp
    granularity. Writers replace the file atomically (:func:`write_clock_file`), so a reader
    never sees half a timestamp.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RuntimeError(f"TESTROTA_CLOCK_FILE {self.path}: cannot read it ({exc})") from exc
        return parse_clock_text(text, self.path)


def parse_clock_text(text: str, source: object = "clock") -> datetime:
    """An aware UTC instant from ISO 8601 text with a UTC offset (a clock file's content)."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise RuntimeError(f"{source}: {text.strip()[:60]!r} is not an ISO 8601 time") from exc
    if at.tzinfo is None:
        raise RuntimeError(f"{source}: {text.strip()[:60]!r} needs a UTC offset")
    return at.astimezone(UTC)


def write_clock_file(path: Path, at: datetime) -> None:
    """Move a :class:`FileClock` to ``at``: atomically, so readers see the old or the new time."""
    if at.tzinfo is None:
        raise ValueError("write_clock_file needs an aware datetime")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(at.isoformat(), encoding="utf-8")
    os.replace(tmp, path)


def clock_from_settings(settings: Settings) -> Clock:
    """``TESTROTA_NOW`` fixes the clock for tests and demos, ``TESTROTA_CLOCK_FILE`` lets a
    simulation move it; otherwise the system clock."""
    if settings.now is not None:
        return FixedClock(settings.now)
    if settings.clock_file is not None:
        return FileClock(settings.clock_file)
    return SystemClock()

"""The one clock. Pure code takes ``now`` as an argument; only the shell asks a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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


def clock_from_settings(settings: Settings) -> Clock:
    """``TESTROTA_NOW`` fixes the clock for tests and demos; otherwise the system clock."""
    return FixedClock(settings.now) if settings.now is not None else SystemClock()

"""Sign-in throttling: too many recent failures for a name or an address pause sign-ins."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottleRule:
    max_failures_per_name: int
    max_failures_per_ip: int
    window: timedelta


def retry_after(
    name_failures: list[datetime],
    ip_failures: list[datetime],
    rule: ThrottleRule,
    now: datetime,
) -> int:
    """Seconds until a sign-in may be tried again (0: now).

    ``name_failures`` and ``ip_failures`` are the times of failed attempts in the window, for
    the user name and for the client address. The pause lasts until the oldest failure that
    counts leaves the window, so an attacker cannot keep a name locked by trying once more.
    """
    waits = [0.0]
    for failures, limit in (
        (name_failures, rule.max_failures_per_name),
        (ip_failures, rule.max_failures_per_ip),
    ):
        recent = sorted(t for t in failures if now - t < rule.window)
        if len(recent) >= limit:
            oldest_counting = recent[len(recent) - limit]
            waits.append((oldest_counting + rule.window - now).total_seconds())
    return max(0, math.ceil(max(waits)))

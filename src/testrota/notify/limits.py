"""Per-recipient sending limits of a channel (WeCom: 30 a minute, 1,000 an hour to a member).

Pure: the times of the recent texts to one recipient in, the earliest moment the next may go
out. The dispatcher asks before sending and gives a text over the limit back with that due time
(deferred, never dropped), because WeCom drops the excess silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

Limits = Sequence[tuple[timedelta, int]]


def next_allowed(recent: Iterable[datetime], now: datetime, limits: Limits) -> datetime:
    """When the next text to a recipient may go, given the times of its recent texts: ``now``
    when every ``(window, cap)`` still has room, else when the oldest text of the fullest
    window leaves it."""
    times = sorted(recent)
    allowed = now
    for window, cap in limits:
        inside = [t for t in times if t > now - window]
        if len(inside) >= cap:
            allowed = max(allowed, inside[len(inside) - cap] + window)
    return allowed


def plan_sends(
    rows: Sequence[tuple[int, str]],
    history: dict[str, list[datetime]],
    now: datetime,
    limits: Limits,
) -> tuple[list[int], list[tuple[int, datetime]]]:
    """Split claimed ``(id, recipient)`` rows into those to send now and ``(id, due)`` ones to
    defer; each row sent counts against its recipient for the rows after it."""
    send: list[int] = []
    defer: list[tuple[int, datetime]] = []
    seen = {to: list(times) for to, times in history.items()}
    for row_id, to in rows:
        times = seen.setdefault(to, [])
        due = next_allowed(times, now, limits)
        if due > now:
            defer.append((row_id, due))
        else:
            send.append(row_id)
            times.append(now)
    return send, defer

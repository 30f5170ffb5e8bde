"""Per-recipient sending limits of a channel (WeCom: 30 a minute and 1,000 an hour to a member;
Aliyun: 50 a day to a number per signature and template).

Pure: the recent texts to one recipient in (their channel and time), the earliest moment the
next may go out. The dispatcher asks before sending and gives a text over a limit back with
that due time (deferred, never dropped), because WeCom drops the excess silently and Aliyun
refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

# (channel, window, cap): at most ``cap`` texts on ``channel`` to one recipient in ``window``.
Limits = Sequence[tuple[str, timedelta, int]]
# A text in flight whose channel is not known yet counts against every channel's limits.
ANY_CHANNEL = "*"


def next_allowed(recent: Iterable[tuple[str, datetime]], now: datetime, limits: Limits) -> datetime:
    """When the next text to a recipient may go, given its recent ``(channel, time)`` texts:
    ``now`` when every limit still has room, else when the oldest text of the fullest window
    leaves it."""
    sent = list(recent)
    allowed = now
    for channel, window, cap in limits:
        inside = sorted(t for c, t in sent if c in (channel, ANY_CHANNEL) and t > now - window)
        if len(inside) >= cap:
            allowed = max(allowed, inside[len(inside) - cap] + window)
    return allowed


def plan_sends(
    rows: Sequence[tuple[int, str]],
    history: dict[str, list[tuple[str, datetime]]],
    now: datetime,
    limits: Limits,
) -> tuple[list[int], list[tuple[int, datetime]]]:
    """Split claimed ``(id, recipient)`` rows into those to send now and ``(id, due)`` ones to
    defer; each row sent counts against its recipient (on every channel) for the rows after it."""
    send: list[int] = []
    defer: list[tuple[int, datetime]] = []
    seen = {to: list(items) for to, items in history.items()}
    for row_id, to in rows:
        items = seen.setdefault(to, [])
        due = next_allowed(items, now, limits)
        if due > now:
            defer.append((row_id, due))
        else:
            send.append(row_id)
            items.append((ANY_CHANNEL, now))
    return send, defer

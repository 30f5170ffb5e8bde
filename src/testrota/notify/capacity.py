"""Can the sender get a day's reminders out in time? The plan report asks before the day comes.

Each text may go from its due time until its deadline (``send_within_minutes`` later, before
quiet hours, never after the slot starts). One sender at ``rate`` texts a second can meet every
deadline exactly when, for every interval [a, b], the texts that are due at or after ``a`` and
must be out by ``b`` number at most ``rate * (b - a)`` (earliest-deadline-first is optimal on one
server). The rate that would be needed is the largest such density.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from testrota.notify.outbox import next_quiet_start, reminder_times
from testrota.policy import ReminderPolicy

# Texts due in the same minute form one burst; finer detail changes nothing for a sender.
_MIN_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class CapacityWarning:
    texts: int  # texts in the tightest interval
    window_start: datetime
    window_end: datetime
    needed_rate: float  # texts a second that would meet every deadline
    rate: float  # the policy's sender rate

    @property
    def message(self) -> str:
        minutes = (self.window_end - self.window_start).total_seconds() / 60
        return (
            f"{self.texts} reminders must go out between {self.window_start.isoformat()} and "
            f"{self.window_end.isoformat()} ({minutes:.0f} min): that needs "
            f"{self.needed_rate:.2f} texts/s, the sender does {self.rate:g}/s "
            "(use a short code or a messaging service with more numbers, or spread the slots)"
        )


def reminder_windows(
    slot_starts: Iterable[datetime], tz: tzinfo, rules: ReminderPolicy
) -> list[tuple[datetime, datetime]]:
    """``(due, deadline)`` of every reminder the given slot starts (one per appointment) cause."""
    within = timedelta(minutes=rules.send_within_minutes)
    windows = []
    for start in slot_starts:
        for _kind, due in reminder_times(start, tz, rules):
            deadline = min(due + within, start, next_quiet_start(due, tz, rules))
            if deadline <= due:
                deadline = due + timedelta(seconds=_MIN_WINDOW_SECONDS)
            windows.append((due, deadline))
    return windows


def needed_rate(
    windows: Sequence[tuple[datetime, datetime]] | Mapping[tuple[datetime, datetime], int],
) -> tuple[float, int, datetime, datetime]:
    """The smallest sending rate (texts/s) that meets every ``(due, deadline)``.

    ``windows`` is one pair per text, or each distinct pair with its number of texts (what an
    SQL ``GROUP BY`` gives: a week's 600,000 reminders share a few thousand pairs). Returns
    ``(rate, texts, a, b)`` for the tightest interval [a, b]; ``windows`` must not be empty.
    """
    if not windows:
        raise ValueError("no windows")
    groups = windows if isinstance(windows, Mapping) else Counter(windows)
    releases = sorted({due for due, _ in groups})
    by_release = sorted(groups.items(), key=lambda kv: kv[0][0])
    best = (0.0, 0, by_release[0][0][0], by_release[0][0][1])
    due_list = [k[0] for k, _ in by_release]
    for a in releases:
        # Texts released at or after ``a``, by deadline, counted cumulatively.
        start = bisect.bisect_left(due_list, a)
        deadlines = sorted((k[1], n) for k, n in by_release[start:])
        total = 0
        for b, n in deadlines:
            total += n
            span = max((b - a).total_seconds(), _MIN_WINDOW_SECONDS)
            rate = total / span
            if rate > best[0]:
                best = (rate, total, a, b)
    return best


def capacity_warning(
    windows: Sequence[tuple[datetime, datetime]] | Mapping[tuple[datetime, datetime], int],
    rate: float,
) -> CapacityWarning | None:
    """A warning when ``rate`` texts a second cannot meet every window; None when it can.

    ``windows`` come from :func:`reminder_windows` (or are counted, as :func:`needed_rate`
    takes them); a rate of 0 means "no limit".
    """
    if rate <= 0 or not windows:
        return None
    need, texts, a, b = needed_rate(windows)
    if need <= rate:
        return None
    return CapacityWarning(texts=texts, window_start=a, window_end=b, needed_rate=need, rate=rate)

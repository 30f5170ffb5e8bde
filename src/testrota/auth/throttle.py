"""Sign-in throttling that slows password guessing without letting anyone lock a user out.

Failures are counted three ways:

- per user name *and* client address (``web.login_max_failures`` in ``login_window_minutes``):
  the tight limit. A guesser at one address is paused for that name; the user at any other
  address is not. A success from that address starts the count again.
- per address across names (``login_max_failures_per_ip``): one address trying many names.
- per user name from every address (``login_max_failures_per_name`` in
  ``login_name_window_minutes``): the slow, much higher limit against guessing spread over many
  addresses.

An address the user signed in from within ``login_known_address_days`` is known: the two wide
limits do not apply to that name there, so an attacker elsewhere cannot lock the user out of
their usual place, however many addresses the attacker has. The pause always lasts until the
oldest failure that counts leaves its window, so trying once more does not extend it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from testrota.policy import WebPolicy


@dataclass(frozen=True)
class ThrottleRule:
    max_failures: int  # per (user name, address) within ``window``
    max_failures_per_ip: int  # per address, any name, within ``window``
    max_failures_per_name: int  # per name, any address, within ``name_window``
    window: timedelta
    name_window: timedelta
    known_address_for: timedelta = timedelta(0)  # 0: no address is known

    @classmethod
    def of(cls, web: WebPolicy) -> ThrottleRule:
        """The rule the policy's ``web`` section sets."""
        return cls(
            max_failures=web.login_max_failures,
            max_failures_per_ip=web.login_max_failures_per_ip,
            max_failures_per_name=web.login_max_failures_per_name,
            window=timedelta(minutes=web.login_window_minutes),
            name_window=timedelta(minutes=web.login_name_window_minutes),
            known_address_for=timedelta(days=web.login_known_address_days),
        )


@dataclass(frozen=True)
class Attempts:
    """The earlier attempts that bear on one sign-in, as read from the database."""

    # (time, succeeded) of this name from this address within ``window``, oldest first
    pair: Sequence[tuple[datetime, bool]] = ()
    ip_failures: Sequence[datetime] = ()  # this address, any name, within ``window``
    name_failures: Sequence[datetime] = ()  # this name, any address, within ``name_window``
    known_address: bool = False


def _wait(failures: Iterable[datetime], limit: int, window: timedelta, now: datetime) -> float:
    recent = sorted(t for t in failures if now - t < window)
    if len(recent) < limit:
        return 0.0
    oldest_counting = recent[len(recent) - limit]
    return (oldest_counting + window - now).total_seconds()


def pair_failures(pair: Sequence[tuple[datetime, bool]]) -> list[datetime]:
    """The failures after the latest success (``pair`` is oldest first): a user who got in has
    nothing held against them."""
    last_ok = max((i for i, (_, ok) in enumerate(pair) if ok), default=-1)
    return [at for at, ok in pair[last_ok + 1 :] if not ok]


def retry_after(attempts: Attempts, rule: ThrottleRule, now: datetime) -> int:
    """Seconds until this name may try again from this address (0: now)."""
    waits = [_wait(pair_failures(attempts.pair), rule.max_failures, rule.window, now)]
    if not attempts.known_address:
        waits.append(_wait(attempts.ip_failures, rule.max_failures_per_ip, rule.window, now))
        waits.append(
            _wait(attempts.name_failures, rule.max_failures_per_name, rule.name_window, now)
        )
    return max(0, math.ceil(max(waits)))

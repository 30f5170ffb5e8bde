"""What every request handler shares, built once by :func:`testrota.web.app.create_app`."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Engine

from testrota.auth.throttle import ThrottleRule
from testrota.clock import Clock
from testrota.policy import Policy
from testrota.settings import Settings


@dataclass(frozen=True)
class WebContext:
    settings: Settings
    engine: Engine
    clock: Clock
    policy: Policy
    # Taken around every service call that writes. SQLite has one writer at a time and makes
    # the others poll with growing sleeps (up to 100 ms each), which is what a page's tail
    # latency then shows; queueing this process's writers on a lock hands over at once.
    # PostgreSQL needs no such thing: a null context there.
    write_lock: AbstractContextManager[Any] = field(default_factory=nullcontext)
    # The pages' own read-only queries (see testrota.web.readonly); the engine itself if None.
    read_engine: Engine | None = None

    @property
    def reader(self) -> Engine:
        return self.read_engine or self.engine

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def tz(self) -> tzinfo:
        return self.policy.tz

    @property
    def throttle(self) -> ThrottleRule:
        from datetime import timedelta

        web = self.policy.web
        return ThrottleRule(
            max_failures=web.login_max_failures,
            max_failures_per_ip=web.login_max_failures_per_ip,
            max_failures_per_name=web.login_max_failures_per_name,
            window=timedelta(minutes=web.login_window_minutes),
            name_window=timedelta(minutes=web.login_name_window_minutes),
            known_address_for=timedelta(days=web.login_known_address_days),
        )

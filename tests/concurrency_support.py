"""Races between use cases, driven on PostgreSQL: each side in a thread of its own, one held at
the moment that matters, the other seen waiting on a lock in ``pg_stat_activity`` (the ``pg``
fixture of ``conftest.py`` gives such a test its PostgreSQL engine)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """``work`` running in a thread; the dict gets its ``result`` or its ``error``."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = work()
        except BaseException as exc:  # reported by the test, not lost in the thread
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def waiting_on_locks(engine: Engine) -> int:
    """How many other sessions of this database wait on a lock."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def wait_for_waiters(engine: Engine, count: int) -> None:
    """Until ``count`` other sessions of this database wait on a lock."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if waiting_on_locks(engine) >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"never {count} sessions waiting on a lock")


def finished(thread: threading.Thread, out: dict[str, Any]) -> Any:
    thread.join(60)
    assert not thread.is_alive()
    if "error" in out:
        raise out["error"]
    return out["result"]


class Paused:
    """A use case's progress callback that holds it at ``stage`` (its transaction open, what it
    holds held) until :meth:`go_on`; :meth:`wait` returns once it is there."""

    def __init__(self, stage: str = "writing") -> None:
        self.stage = stage
        self._there, self._go = threading.Event(), threading.Event()

    def __call__(self, stage: str) -> None:
        if stage == self.stage:
            self._there.set()
            assert self._go.wait(30), f"held at {stage!r} for 30 s"

    def wait(self) -> None:
        assert self._there.wait(30), f"never reached {self.stage!r}"

    def go_on(self) -> None:
        self._go.set()

"""Waiting in tests, always with a bound: a hung thread or a condition that never comes true
fails the test with a message after a deadline instead of hanging the run (pytest-timeout is
the last resort, not the plan)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def join_all(threads: Iterable[threading.Thread], timeout: float = 60.0) -> None:
    """Join every thread within ``timeout`` seconds in all; fail naming those still running."""
    threads = list(threads)
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"threads still running after {timeout:.0f} s: {alive}"


def wait_for(condition: Callable[[], T], timeout: float, what: str, poll: float = 0.01) -> T:
    """Poll ``condition`` until it returns something true, and return that; fail with ``what``
    after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)

"""Errors a database transaction may meet through no fault of its own, and running it again.

PostgreSQL ends one transaction of a deadlock (SQLSTATE ``40P01``) and of a serialisation
conflict (``40001``); its work is rolled back whole, and the documented remedy is to run it
again. The statements are written so that this is rare (locks taken in one order, janitors that
skip held rows); this is what is left for the rest.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 3


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error (psycopg's ``sqlstate``, psycopg2's ``pgcode``)."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_transient(exc: BaseException) -> bool:
    return sqlstate(exc) in TRANSIENT_SQLSTATES


def run_again_if_transient(
    func: Callable[[], T],
    what: str,
    attempts: int = ATTEMPTS,
    pause: Callable[[int], float] = lambda n: random.uniform(0.05, 0.25) * n,
) -> T:
    """``func()``, run again (up to ``attempts`` in all) while it fails transiently.

    ``func`` must be safe to run again after a rolled-back transaction: the worker's jobs are
    (each brings the database to a state, keyed and idempotent). The pause is random so two
    processes that deadlocked do not meet again at once.
    """
    attempt = 1
    while True:
        try:
            return func()
        except DBAPIError as exc:
            if attempt >= attempts or not is_transient(exc):
                raise
            attempt += 1
            log.warning(
                "%s: %s (SQLSTATE %s), running it again (%d of %d)",
                what,
                type(exc.orig).__name__,
                sqlstate(exc),
                attempt,
                attempts,
            )
            time.sleep(pause(attempt - 1))

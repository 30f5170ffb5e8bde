"""The jobs inside the web process (``testrota serve --with-worker``).

A ``BackgroundScheduler`` runs the jobs in its own threads, started and stopped by FastAPI's
lifespan, so database work never blocks the event loop. ``create_app(with_worker=True)`` calls
:func:`build_background_scheduler` and uses ``start()`` / ``shutdown()``.
"""

from __future__ import annotations

from sqlalchemy import Engine

from testrota.jobs.worker import Worker
from testrota.settings import Settings


def build_background_scheduler(settings: Settings, engine: Engine | None = None) -> Worker:
    """A not-yet-started background worker; ``shutdown()`` stops it gracefully."""
    return Worker(settings, engine, kind="background")

"""``testrota dispatch`` in loop mode: a pass that fails does not end the loop. The PostgreSQL
fault test (tests/test_faults_workers.py) cuts every connection of a real dispatcher process;
here a database that is not ready yet makes the first passes fail for real, on SQLite."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from testrota.clock import FixedClock
from testrota.db.engine import make_engine
from testrota.db.schema import upgrade
from testrota.notify.dispatcher import DispatchReport, dispatch_loop
from testrota.settings import Settings
from tests.notify_data import add_due_texts, notify_settings, policy
from tests.sim_faults import statuses, wait_until

NOW = datetime(2022, 5, 9, 2, 0, tzinfo=UTC)


class _Errors(logging.Handler):
    """Notes the dispatcher's ERROR lines as they are written."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.seen.set()


def test_the_loop_carries_on_after_failed_passes_and_then_sends(
    settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'not-yet.db'}")  # no schema: passes fail
    errors = _Errors()
    logger = logging.getLogger("testrota.notify.dispatcher")
    logger.addHandler(errors)
    stop = threading.Event()
    out: dict[str, Any] = {}

    def loop() -> None:
        out["report"] = dispatch_loop(
            engine, notify_settings(settings), policy(), FixedClock(NOW), stop=stop, pause=0.05
        )

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        assert errors.seen.wait(30), "no pass failed"
        # The database comes up with work waiting; the same loop sends it.
        upgrade(engine)
        add_due_texts(engine, 5, NOW - timedelta(minutes=1))
        wait_until(lambda: statuses(engine) == {"sent": 5}, 30, "the loop to send the texts")
    finally:
        stop.set()
        thread.join(30)
        logger.removeHandler(errors)
        engine.dispose()
    assert not thread.is_alive()
    report: DispatchReport = out["report"]
    assert report.sent == 5
    first = errors.records[0]
    assert first.getMessage().startswith("dispatch pass failed (1 in a row); next pass in ")
    assert first.exc_info is not None and "no such table" in str(first.exc_info[1])


def test_once_raises_what_failed(settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'not-yet.db'}")
    try:
        with pytest.raises(OperationalError, match="no such table"):
            dispatch_loop(engine, notify_settings(settings), policy(), FixedClock(NOW), once=True)
    finally:
        engine.dispose()

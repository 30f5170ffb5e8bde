"""Job heartbeats: every tick is counted once, from any number of threads and workers."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from testrota.db.engine import make_engine
from testrota.db.models import JobHeartbeat
from testrota.observability.jobs import observed_job
from testrota.observability.logging import configure_logging
from testrota.settings import Settings, get_settings
from tests.bounded import join_all

WALL = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(get_settings(log_format="json"), stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _rows(engine: Engine) -> dict[tuple[str, str], JobHeartbeat]:
    with engine.connect() as conn:
        return {(r.job, r.worker): r for r in conn.execute(select(JobHeartbeat.__table__))}  # type: ignore[attr-defined]


def test_ticks_are_recorded_with_their_outcome(engine: Engine, logs: io.StringIO) -> None:
    times = iter(
        [
            WALL,
            WALL + timedelta(seconds=2),
            WALL + timedelta(minutes=1),
            WALL + timedelta(minutes=1, seconds=5),
        ]
    )
    log = logging.getLogger("testrota.test.jobs")
    with observed_job(engine, "sync_reminders", "w1", clock=lambda: next(times)) as job_id:
        log.info("created %d reminders", 12)
    with (
        pytest.raises(ValueError),
        observed_job(engine, "sync_reminders", "w1", clock=lambda: next(times)),
    ):
        raise ValueError("bad row")
    row = _rows(engine)[("sync_reminders", "w1")]
    assert (row.runs, row.failures) == (2, 1)
    assert row.last_ok_at == WALL + timedelta(seconds=2)
    assert row.last_finished_at == WALL + timedelta(minutes=1, seconds=5)
    assert row.last_error == "ValueError: bad row"
    assert row.duration_seconds_total >= row.last_duration_seconds >= 0
    (line,) = [json.loads(x) for x in logs.getvalue().splitlines()]
    assert line["job_id"] == job_id and job_id.startswith("sync_reminders:")


def test_concurrent_ticks_are_all_counted(engine: Engine) -> None:
    errors: list[BaseException] = []

    def work(worker: str) -> None:
        try:
            for _ in range(5):
                with observed_job(engine, "dispatch_texts", worker):
                    pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i % 3}",)) for i in range(8)]
    for t in threads:
        t.start()
    join_all(threads)
    assert not errors
    rows = _rows(engine)
    assert sum(r.runs for r in rows.values()) == 40
    assert sorted(w for _, w in rows) == ["w0", "w1", "w2"]


def test_a_heartbeat_that_cannot_be_written_never_fails_the_job(
    tmp_path: Path, logs: io.StringIO
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'no-schema.db'}")
    with observed_job(engine, "notify_alerts", "w1"):
        done = True
    assert done
    assert "could not record the heartbeat of notify_alerts" in logs.getvalue()
    engine.dispose()


def test_run_observed_logs_and_swallows_a_failure(engine: Engine, logs: io.StringIO) -> None:
    from testrota.observability.jobs import run_observed

    assert run_observed(engine, "flag_missed", "w1", lambda: {"flagged": 3}) == {"flagged": 3}

    def broken() -> None:
        raise RuntimeError("connection reset")

    assert run_observed(engine, "flag_missed", "w1", broken) is None
    row = _rows(engine)[("flag_missed", "w1")]
    assert (row.runs, row.failures) == (2, 1)
    (line,) = [json.loads(x) for x in logs.getvalue().splitlines()]
    assert line["level"] == "ERROR" and line["job_id"].startswith("flag_missed:")
    assert "RuntimeError: connection reset" in line["exc"]


def _job_counters(engine: Engine) -> dict[str, tuple[float, float, float]]:
    from testrota.observability.metrics import collect, render, sample_value
    from tests.notify_data import policy

    text = render(collect(engine, datetime.now(UTC), policy(), datetime.now(UTC)))
    return {
        job: tuple(  # type: ignore[misc]
            sample_value(text, f"testrota_job_{name}_total", job=job) or 0.0
            for name in ("runs", "failures", "duration_seconds")
        )
        for job in ("dispatch_texts", "flag_missed")
    }


def assert_same(
    now: dict[str, tuple[float, float, float]], then: dict[str, tuple[float, float, float]]
) -> None:
    """Runs and failures exactly; seconds up to the rounding of sums taken in another order."""
    assert {job: c[:2] for job, c in now.items()} == {job: c[:2] for job, c in then.items()}
    for job, counts in now.items():
        assert counts[2] == pytest.approx(then[job][2], abs=1e-5)


def test_job_counters_never_go_down_when_the_nightly_retention_prunes_workers(
    engine: Engine, settings: Settings
) -> None:
    """Rows of workers gone for longer than retention_days are deleted by the nightly job;
    their ticks stay counted, through each job's row of retired workers."""
    from testrota.app import build_app
    from testrota.clock import FixedClock
    from testrota.jobs import tasks
    from testrota.observability.jobs import RETIRED_WORKER
    from tests.notify_data import policy

    wall = datetime.now(UTC)
    long_ago = iter([wall - timedelta(days=200 - i // 2) for i in range(12)])
    for worker in ("gone-1", "gone-2"):
        for _ in range(2):
            with observed_job(engine, "dispatch_texts", worker, clock=lambda: next(long_ago)):
                pass
    with (
        pytest.raises(RuntimeError),
        observed_job(engine, "flag_missed", "gone-1", clock=lambda: next(long_ago)),
    ):
        raise RuntimeError("lost")
    with observed_job(engine, "dispatch_texts", "alive"):
        pass
    before = _job_counters(engine)
    assert before["dispatch_texts"][0] == 5 and before["flag_missed"][:2] == (1, 1)

    def nightly(day: datetime) -> None:
        app = build_app(settings, engine=engine, policy=policy(), clock=FixedClock(day))
        result = tasks.nightly(tasks.JobContext(app=app, worker="w-nightly"))
        assert result.ran, result

    nightly(datetime(2022, 5, 11, 2, 30, tzinfo=UTC))
    rows = _rows(engine)
    assert sorted(rows) == [
        ("dispatch_texts", RETIRED_WORKER),
        ("dispatch_texts", "alive"),
        ("flag_missed", RETIRED_WORKER),
    ]
    assert_same(_job_counters(engine), before)
    # A second generation of workers comes and goes: their ticks add to the retired rows.
    for _ in range(3):
        with observed_job(
            engine, "dispatch_texts", "gone-3", clock=lambda: wall - timedelta(days=120)
        ):
            pass
    middle = _job_counters(engine)
    assert middle["dispatch_texts"][0] == 8
    nightly(datetime(2022, 5, 12, 2, 30, tzinfo=UTC))
    after = _job_counters(engine)
    assert_same(after, middle)
    assert all(a >= b - 1e-5 for job in after for a, b in zip(after[job], before[job], strict=True))
    assert _rows(engine)[("dispatch_texts", RETIRED_WORKER)].runs == 7

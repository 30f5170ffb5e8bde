"""Jobs never fail silently: a job that cannot do its work is recorded as failed (its run, an
ERROR log line with the job id and the traceback, the failure metric), tried again soon, and
named by ``testrota doctor``. The jobs are real and fail for real reasons (a broken sites.yaml,
a database missing a table), run through the worker's own job runner."""

from __future__ import annotations

import ast
import importlib
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text

from testrota.app import build_app
from testrota.clock import FixedClock
from testrota.db.engine import make_engine
from testrota.db.models import JobHeartbeat, JobRun
from testrota.db.schema import upgrade
from testrota.jobs import tasks
from testrota.jobs.tasks import JobContext
from testrota.jobs.worker import (
    JOBS,
    RETRY_FAILED_EVERY,
    _run_job,
    build_scheduler,
    retry_time,
)
from testrota.observability.doctor import check_jobs
from testrota.observability.logging import configure_logging
from testrota.observability.metrics import collect, render, sample_value
from testrota.settings import Settings, get_settings
from tests.notify_data import SECRET, config_dir, notify_settings, policy
from tests.ops_runner import runner

SH = ZoneInfo("Asia/Shanghai")
FRIDAY_NOON = datetime(2022, 5, 13, 12, 0, tzinfo=SH)
SRC = Path(__file__).resolve().parents[1] / "src" / "testrota"


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


def _spec(job: str) -> object:
    return next(spec for spec in JOBS if spec.id == job)


def _context(settings: Settings, engine: Engine, now: datetime, config: Path) -> JobContext:
    return JobContext(
        app=build_app(
            notify_settings(settings, config_dir=config),
            engine=engine,
            policy=policy(),
            clock=FixedClock(now),
        ),
        worker="w1",
    )


def _broken_sites(tmp_path: Path) -> Path:
    config = config_dir(tmp_path)
    (config / "sites.yaml").write_text(
        "sites:\n  - code: NORTH\n    name: 北门\n    hours: {someday: ['08:00-10:00']}\n",
        encoding="utf-8",
    )
    return config


def _runs(engine: Engine) -> list[JobRun]:
    with engine.connect() as conn:
        return [JobRun.model_validate(r._mapping) for r in conn.execute(select(JobRun.__table__))]  # type: ignore[attr-defined]


def _heartbeat(engine: Engine, job: str) -> tuple[int, int, str | None]:
    table = JobHeartbeat.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        row = conn.execute(
            select(table.c.runs, table.c.failures, table.c.last_error).where(table.c.job == job)
        ).one()
    return row.runs, row.failures, row.last_error


def _error_lines(stream: io.StringIO) -> list[dict[str, str]]:
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    return [x for x in lines if x["level"] == "ERROR"]


# ---------------------------------------------------------------- a real failing job


def test_a_plan_that_cannot_be_made_is_a_failed_run_a_log_line_a_metric_and_a_doctor_fail(
    engine: Engine, settings: Settings, tmp_path: Path, logs: io.StringIO
) -> None:
    broken = _broken_sites(tmp_path)
    ctx = _context(settings, engine, FRIDAY_NOON, broken)
    assert _run_job(_spec("plan_next_week"), ctx) is None  # the worker carries on

    (run,) = _runs(engine)
    assert (run.job, run.period, run.status) == ("plan_next_week", "2022-W20", "failed")
    assert run.finished_at is None and run.failed_at is not None
    assert run.error and "someday" in run.error and "sites.yaml" in run.error
    # One ERROR line with the job id and the whole traceback, saying which week.
    (line,) = _error_lines(logs)
    assert line["job_id"].startswith("plan_next_week:")
    assert "Traceback" in line["exc"] and "someday" in line["exc"]
    assert "job plan_next_week for 2022-W20" in line["exc"]
    # The failure metric and the run's state.
    assert _heartbeat(engine, "plan_next_week")[:2] == (1, 1)
    exposition = render(collect(engine, FRIDAY_NOON, policy(), datetime.now(UTC)))
    assert sample_value(exposition, "testrota_job_failures_total", job="plan_next_week") == 1
    assert (
        sample_value(exposition, "testrota_period_job_runs", job="plan_next_week", state="failed")
        == 1
    )
    # The doctor names the job, the week, when and why, and how to fix it.
    check = check_jobs(engine, datetime.now(UTC))
    assert check.status == "fail"
    assert check.message.startswith("plan_next_week for 2022-W20 failed ")
    assert "someday" in check.message and "UTC" in check.message
    assert "testrota plan --week 2022-W20" in check.fix and "job_id plan_next_week" in check.fix

    # Fixed, the next tick of the same week plans it, and all is well again.
    fixed = _context(
        settings, engine, FRIDAY_NOON + timedelta(minutes=10), config_dir(tmp_path / "fixed")
    )
    outcome = _run_job(_spec("plan_next_week"), fixed)
    assert outcome.ran, outcome
    (run,) = _runs(engine)
    assert (run.status, run.error) == ("done", None) and run.finished_at is not None
    assert _heartbeat(engine, "plan_next_week") == (2, 1, None)
    assert check_jobs(engine, datetime.now(UTC)).status == "ok"


def test_doctor_exits_1_and_prints_the_failed_job(
    engine: Engine, settings: Settings, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    _run_job(
        _spec("plan_next_week"), _context(settings, engine, FRIDAY_NOON, _broken_sites(tmp_path))
    )
    ops = runner(
        {**cli_env, "TESTROTA_SECRET_KEY": SECRET, "TESTROTA_NOW": FRIDAY_NOON.isoformat()}
    )
    result = ops("doctor")
    assert result.exit_code == 1, result.output
    (line,) = [x for x in result.stdout.splitlines() if " jobs " in x]
    assert line.startswith("FAIL") and "plan_next_week for 2022-W20 failed" in line
    assert "fix:" in result.stdout and "testrota plan --week 2022-W20" in result.stdout
    # On a Chinese terminal the finding and the fix read in Chinese; names and values stay.
    from typer.testing import CliRunner

    from testrota.cli.main import app

    env = {**cli_env, "TESTROTA_SECRET_KEY": SECRET, "TESTROTA_NOW": FRIDAY_NOON.isoformat()}
    chinese = CliRunner().invoke(app, ["--lang", "zh", "doctor"], env=env)
    assert chinese.exit_code == 1, chinese.output
    (line,) = [x for x in chinese.stdout.splitlines() if "定时任务" in x]
    assert line.startswith("FAIL") and "plan_next_week（2022-W20）" in line, line
    assert re.search(r"\d+ (秒|分钟|小时)前失败（UTC ", line) and " ago" not in line, line
    assert "修好后运行 `testrota plan --week 2022-W20`" in chinese.stdout, chinese.stdout


def test_a_nightly_job_that_fails_is_recorded_as_failed(
    settings: Settings, tmp_path: Path, logs: io.StringIO
) -> None:
    # A database of its own that lacks a table the retention writes to.
    engine = make_engine(f"sqlite:///{tmp_path / 'half.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE rescheduleoffer"))
    try:
        ctx = JobContext(
            app=build_app(
                notify_settings(settings, database_url=str(engine.url)),
                engine=engine,
                policy=policy(),
                clock=FixedClock(datetime(2022, 5, 10, 2, 30, tzinfo=SH)),
            ),
            worker="w1",
        )
        assert _run_job(_spec("nightly"), ctx) is None
        (run,) = _runs(engine)
        assert (run.job, run.period, run.status) == ("nightly", "2022-05-10", "failed")
        assert run.error and "rescheduleoffer" in run.error
        assert _heartbeat(engine, "nightly")[1] == 1
        (line,) = _error_lines(logs)
        assert line["job_id"].startswith("nightly:") and "rescheduleoffer" in line["exc"]
        check = check_jobs(engine, datetime.now(UTC))
        assert check.status == "fail" and check.message.startswith("nightly for 2022-05-10")
    finally:
        engine.dispose()


def test_a_failed_daily_or_weekly_job_is_tried_again_soon_within_its_grace_time(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    # Built on Thursday, the plan's next tick is Friday noon (no catch-up at start)...
    ctx = _context(settings, engine, FRIDAY_NOON - timedelta(days=1), _broken_sites(tmp_path))
    scheduler = build_scheduler(ctx.app.settings, engine, "background", ctx=ctx)
    scheduler.start(paused=True)  # jobs get their run times; none runs
    ctx.app.clock = FixedClock(FRIDAY_NOON)  # ...which comes, and fails.
    try:
        job = scheduler.get_job("plan_next_week")
        regular = job.next_run_time
        before = datetime.now(UTC)
        _run_job(_spec("plan_next_week"), ctx)
        retry = scheduler.get_job("plan_next_week").next_run_time
        assert retry < regular  # not next Friday
        assert before + RETRY_FAILED_EVERY <= retry <= datetime.now(UTC) + RETRY_FAILED_EVERY
    finally:
        scheduler.shutdown(wait=False)


def test_a_job_that_keeps_failing_is_retried_only_within_its_grace_time() -> None:
    first = datetime(2022, 5, 13, 4, 0, tzinfo=UTC)
    six_hours = 6 * 3600
    assert retry_time(first, first, six_hours) == first + timedelta(minutes=10)
    last = first + timedelta(hours=5, minutes=50)
    assert retry_time(first, last, six_hours) == first + timedelta(hours=6)
    assert retry_time(first, last + timedelta(seconds=1), six_hours) is None


# ---------------------------------------------------------------- nothing is skipped quietly


def _is_own_import(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").startswith("testrota")
    return isinstance(node, ast.Import) and any(a.name.startswith("testrota") for a in node.names)


def _own_imports(tree: ast.AST) -> Iterator[ast.ImportFrom | ast.Import]:
    for node in ast.walk(tree):
        if _is_own_import(node):
            assert isinstance(node, ast.ImportFrom | ast.Import)
            yield node


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = (
        {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)}
        if handler.type is not None
        else {"BaseException"}
    )
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def test_no_import_of_our_own_modules_is_guarded() -> None:
    """A guarded import turns a missing function into work silently not done."""
    guarded = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
                for statement in node.body:
                    if any(True for _ in _own_imports(statement)):
                        guarded.append(f"{path.relative_to(SRC)}:{statement.lineno}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "__import__"
            ):
                guarded.append(f"{path.relative_to(SRC)}:{node.lineno} __import__")
    assert guarded == []


def test_every_import_of_our_own_modules_resolves() -> None:
    """Imports inside functions run only when the function does: check them all now."""
    missing = []
    for path in sorted(SRC.rglob("*.py")):
        for node in _own_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)
                continue
            assert node.module is not None
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name):
                    try:
                        importlib.import_module(f"{node.module}.{alias.name}")
                    except ModuleNotFoundError:
                        missing.append(
                            f"{path.relative_to(SRC)}:{node.lineno} {node.module}.{alias.name}"
                        )
    assert missing == []


def test_the_job_table_names_only_functions_that_exist() -> None:
    assert {spec.id for spec in JOBS} == {
        "dispatch_texts",
        "sync_reminders",
        "notify_alerts",
        "flag_missed",
        "plan_next_week",
        "supervisors_digest",
        "nightly",
        "remind_late_confirmations",
    }
    for spec in JOBS:
        assert getattr(tasks, spec.func.__name__) is spec.func, spec.id
    # The jobs call services imported at the top of the module, where a wrong name fails the
    # import of the worker itself instead of a job quietly doing nothing.
    body = ast.parse(Path(tasks.__file__).read_text(encoding="utf-8")).body
    nested = [
        n
        for top in body
        if isinstance(top, ast.FunctionDef | ast.ClassDef)
        for n in ast.walk(top)
        if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    assert nested == []


def test_the_nightly_job_runs_both_retentions(engine: Engine, settings: Settings) -> None:
    ctx = JobContext(
        app=build_app(
            notify_settings(settings),
            engine=engine,
            policy=policy(),
            clock=FixedClock(datetime(2022, 5, 10, 2, 30, tzinfo=SH)),
        ),
        worker="w1",
    )
    outcome = tasks.nightly(ctx)
    assert outcome.ran
    assert set(outcome.result["retention"]) == {
        "messages",
        "inbound",
        "offers",
        "job_runs",  # the texts' part
        "test_results",
        "alerts",
        "alert_contacts",
        "import_errors",
        "job_heartbeats",
    }
    assert outcome.result["parts_let_go"] == 0  # the roll-up's parts of old days: none here


def test_the_database_refuses_a_job_run_status_it_does_not_know(engine: Engine) -> None:
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    now = datetime(2022, 5, 9, 8, 0, tzinfo=SH)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(JobRun).values(
                job="nightly", period="2022-05-09", started_at=now, status="finished", details={}
            )
        )


def test_a_recorded_error_is_one_line_without_personal_numbers(engine: Engine) -> None:
    from testrota.jobs.once import run_once_per_period

    def work() -> None:
        raise LookupError("no slot for\n+8613812345678 (ID 110101199003071234)")

    now = datetime(2022, 5, 9, 8, 0, tzinfo=SH)
    with pytest.raises(LookupError):
        run_once_per_period(engine, "supervisors_digest", "2022-05-09", "w1", now, work)
    (run,) = _runs(engine)
    assert run.error == "LookupError: no slot for +*********5678 (ID **************1234)"

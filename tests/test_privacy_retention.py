"""Retention: test results older than ``retention_days`` go nightly, with what hangs on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.db.models import (
    Alert,
    AlertContact,
    Appointment,
    JobHeartbeat,
    JobRun,
    RosterImport,
    TestResult,
)
from testrota.jobs import tasks
from testrota.jobs.worker import make_job_context
from testrota.privacy.retention import apply_privacy_retention, expire_test_results
from testrota.settings import Settings, get_settings
from tests.notify_data import add_appointment, add_person, policy

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 8, 20, 2, 30, tzinfo=SH)
OLD = NOW - timedelta(days=100)
RECENT = NOW - timedelta(days=10)


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model.__table__)).scalar_one())  # type: ignore[attr-defined]


def _result(session: Session, person_id: int, at: datetime, result: str = "negative") -> TestResult:
    row = TestResult(
        person_id=person_id, sampled_at=at, result=result, source="lab", recorded_at=at
    )
    session.add(row)
    session.commit()
    return row


def _alert(session: Session, result: TestResult, contact_ids: list[int], status: str) -> Alert:
    alert = Alert(
        person_id=result.person_id,
        result_id=result.id or 0,
        created_at=result.sampled_at,
        status=status,
    )
    session.add(alert)
    session.commit()
    session.add_all(
        [AlertContact(alert_id=alert.id or 0, person_id=c, reason="grid_unit") for c in contact_ids]
    )
    session.commit()
    return alert


def test_old_results_go_open_cases_stay(engine: Engine, session: Session) -> None:
    a, b, c = (add_person(session, n) for n in (1, 2, 3))
    assert a.id and b.id and c.id
    done = add_appointment(session, a, OLD, status="done")
    old = _result(session, a.id, OLD)
    recent = _result(session, a.id, RECENT)
    open_case = _result(session, b.id, OLD + timedelta(hours=1), "positive")
    closed_case = _result(session, c.id, OLD + timedelta(hours=2), "positive")
    _alert(session, open_case, [a.id, c.id], "open")
    _alert(session, closed_case, [a.id, b.id], "closed")

    report = apply_privacy_retention(engine, NOW, policy())
    assert (report["test_results"], report["alerts"], report["alert_contacts"]) == (2, 1, 2)
    with engine.connect() as conn:
        left = set(conn.execute(select(TestResult.id)).scalars())  # type: ignore[call-overload]
        alerts = list(conn.execute(select(Alert.status)).scalars())  # type: ignore[call-overload]
    assert left == {recent.id, open_case.id} and old.id not in left
    assert alerts == ["open"] and _count(engine, AlertContact) == 2
    # the appointment keeps its status: the week's count of tests taken stays
    session.expire_all()
    kept = session.get(Appointment, done.id)
    session.commit()  # on SQLite a open read holds the write lock (BEGIN IMMEDIATE)
    assert kept is not None and kept.status == "done"
    # idempotent
    again = apply_privacy_retention(engine, NOW, policy())
    assert (again["test_results"], again["alerts"]) == (0, 0)


def test_results_go_in_batches(engine: Engine, session: Session) -> None:
    person = add_person(session, 1)
    assert person.id
    for i in range(7):
        _result(session, person.id, OLD + timedelta(minutes=i))
    _result(session, person.id, RECENT)
    report = expire_test_results(engine, NOW - timedelta(days=90), batch=3)
    assert report["test_results"] == 7 and _count(engine, TestResult) == 1


def test_retention_days_comes_from_the_policy(engine: Engine, session: Session) -> None:
    person = add_person(session, 1)
    assert person.id
    _result(session, person.id, RECENT)
    assert apply_privacy_retention(engine, NOW, policy())["test_results"] == 0
    short = policy(retention_days=7)
    assert apply_privacy_retention(engine, NOW, short)["test_results"] == 1


def test_import_errors_and_stale_heartbeats(engine: Engine, session: Session) -> None:
    wall = datetime(2026, 1, 5, tzinfo=UTC)
    session.add_all(
        [
            RosterImport(
                file_name="old.xlsx",
                sha256="a" * 64,
                imported_at=OLD,
                counts={"rows": 2},
                errors=[{"row": 3, "value": "13800000001"}],
            ),
            RosterImport(
                file_name="new.xlsx",
                sha256="b" * 64,
                imported_at=RECENT,
                counts={"rows": 2},
                errors=[{"row": 4, "value": "13800000002"}],
            ),
            JobHeartbeat(
                job="dispatch_texts",
                worker="gone",
                last_started_at=wall - timedelta(days=200),
                last_finished_at=wall - timedelta(days=200),
            ),
            JobHeartbeat(
                job="dispatch_texts", worker="alive", last_started_at=wall, last_finished_at=wall
            ),
        ]
    )
    session.commit()
    report = apply_privacy_retention(engine, NOW, policy(), wall_now=wall)
    assert (report["import_errors"], report["job_heartbeats"]) == (1, 1)
    with engine.connect() as conn:
        imports = dict(
            conn.execute(
                select(
                    RosterImport.file_name,  # type: ignore[call-overload]
                    RosterImport.errors,
                )
            ).all()
        )
        workers = list(conn.execute(select(JobHeartbeat.worker)).scalars())  # type: ignore
    assert imports == {"old.xlsx": [], "new.xlsx": [{"row": 4, "value": "13800000002"}]}
    # The pruned row's counts live on in the job's row of retired workers (counters).
    assert sorted(workers) == ["(retired)", "alive"]
    assert apply_privacy_retention(engine, NOW, policy(), wall_now=wall)["import_errors"] == 0


def test_the_nightly_job_applies_it(engine: Engine, session: Session, settings: Settings) -> None:
    person = add_person(session, 1)
    assert person.id
    _result(session, person.id, OLD)
    _result(session, person.id, RECENT)
    job_settings = get_settings(
        database_url=settings.database_url, config_dir=settings.config_dir, now=NOW
    )
    ctx = make_job_context(job_settings, engine)
    outcome = tasks.nightly(ctx)
    assert outcome.ran, outcome
    assert _count(engine, TestResult) == 1
    with engine.connect() as conn:
        details = conn.execute(
            select(JobRun.details).where(  # type: ignore[call-overload]
                JobRun.job == "nightly"
            )
        ).scalar_one()
    assert details["retention"]["test_results"] == 1
    assert details["retention"]["messages"] == 0  # the outbox part ran in the same pass

"""``/metrics``: figures read from the database, in a valid Prometheus text exposition."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlmodel import Session

from testrota.db.models import Alert, JobRun, Message, RosterImport, TestResult
from testrota.jobs.once import run_once_per_period
from testrota.observability.jobs import observed_job
from testrota.observability.metrics import collect, render, sample_value
from testrota.settings import Settings, get_settings
from testrota.web.app import create_app
from tests.notify_data import add_appointment, add_person, policy

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
NOW = datetime(2022, 5, 11, 15, 0, tzinfo=SH)  # Wednesday afternoon
WALL = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

_SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)\})? (?P<value>-?[0-9.e+-]+|NaN|[+-]Inf)$'
)


def check_exposition(text: str) -> dict[str, str]:
    """Parse strictly: HELP and TYPE once per family before its samples, no duplicate series,
    counters named ``*_total``. Returns ``{family: type}``."""
    families: dict[str, str] = {}
    helped: set[str] = set()
    series: set[str] = set()
    current = None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in helped, f"two HELP lines for {name}"
            helped.add(name)
            current = name
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name == current and name not in families and kind in ("gauge", "counter")
            assert kind != "counter" or name.endswith("_total"), name
            families[name] = kind
        else:
            match = _SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            assert match["name"] == current, f"{match['name']} outside its family"
            key = line.rsplit(" ", 1)[0]
            assert key not in series, f"duplicate series {key}"
            series.add(key)
            float(match["value"])
    return families


def _message(n: int, status: str, due_at: datetime, **fields: object) -> dict[str, object]:
    return {
        "kind": "booster",
        "dedupe_key": f"m:{n}",
        "to": f"+86138{n:08d}",
        "body": "x",
        "due_at": due_at,
        "status": status,
        "attempts": 0,
        "segments": 1,
        "created_at": due_at,
        "next_attempt_at": None,
        "claimed_at": None,
        **fields,
    }


def _world(engine: Engine, session: Session) -> None:
    """People, texts, appointments, results, jobs, imports and alerts with known counts."""
    now = NOW.astimezone(UTC)
    a = add_person(session, 1, risk_category="cold_chain")
    b = add_person(session, 2, risk_category="cold_chain", opted_out=True)
    c = add_person(session, 3, risk_category="driver")
    add_person(session, 4)  # not high-risk
    add_person(session, 5, risk_category="driver", active=False)
    m = Message.__table__  # type: ignore[attr-defined]
    rows = [
        _message(1, "pending", now - timedelta(minutes=30)),  # the oldest due
        _message(2, "pending", now - timedelta(minutes=5)),
        _message(
            3, "pending", now - timedelta(hours=2), next_attempt_at=now + timedelta(minutes=1)
        ),  # waiting for a retry: not due yet
        _message(4, "pending", now + timedelta(hours=3)),
        _message(5, "sending", now - timedelta(minutes=4), claimed_at=now - timedelta(minutes=3)),
        _message(6, "sent", now - timedelta(hours=1)),
        _message(7, "delivered", now - timedelta(hours=1)),
        _message(8, "delivered", now - timedelta(hours=1)),
        _message(9, "failed", now - timedelta(hours=1)),
    ]
    today = datetime(2022, 5, 11, 9, 0, tzinfo=SH)
    with engine.begin() as conn:
        conn.execute(insert(m), rows)
    add_appointment(session, a, today, status="missed")
    add_appointment(session, b, today + timedelta(minutes=30), status="missed")
    add_appointment(session, c, today, status="done")
    add_appointment(session, a, datetime(2022, 5, 11, 23, 45, tzinfo=SH))  # still today
    add_appointment(session, c, datetime(2022, 5, 10, 9, 0, tzinfo=SH), status="missed")
    add_appointment(session, c, datetime(2022, 5, 12, 0, 15, tzinfo=SH))  # tomorrow
    results = [
        TestResult(person_id=c.id or 0, sampled_at=today, result="negative", recorded_at=now),
        TestResult(
            person_id=a.id or 0,
            sampled_at=today + timedelta(hours=1),
            result="positive",
            source="lab",
            recorded_at=now,
        ),
        TestResult(
            person_id=b.id or 0,
            sampled_at=today - timedelta(days=3),
            result="positive",
            source="lab",
            recorded_at=now,
        ),
    ]
    session.add_all(results)
    session.commit()
    session.add_all(
        [
            Alert(person_id=a.id or 0, result_id=results[1].id or 0, created_at=now),
            Alert(
                person_id=b.id or 0, result_id=results[2].id or 0, created_at=now, status="closed"
            ),
            RosterImport(
                file_name="a.xlsx",
                sha256="a" * 64,
                imported_at=now - timedelta(days=2),
                counts={"rows": 10, "added": 10},
            ),
            RosterImport(
                file_name="b.xlsx",
                sha256="b" * 64,
                imported_at=now - timedelta(days=1),
                counts={"rows": 12, "added": 2, "updated": 1, "deactivated": 0},
                errors=[{"row": 3, "message": "bad phone"}],
            ),
        ]
    )
    session.commit()
    # Ticks: two good dispatch ticks from two workers, one failed flag tick.
    ticks = iter(
        [
            WALL - timedelta(minutes=3),
            WALL - timedelta(minutes=3, seconds=-2),
            WALL - timedelta(minutes=1),
            WALL - timedelta(minutes=1, seconds=-3),
            WALL - timedelta(minutes=20),
            WALL - timedelta(minutes=20, seconds=-1),
        ]
    )
    for worker in ("w1", "w2"):
        with observed_job(engine, "dispatch_texts", worker, clock=lambda: next(ticks)):
            pass
    with (
        pytest.raises(RuntimeError),
        observed_job(engine, "flag_missed", "w1", clock=lambda: next(ticks)),
    ):
        raise RuntimeError("database went away")
    run_once_per_period(engine, "nightly", "2022-05-11", "w1", now, lambda: {"ok": 1})

    def broken() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        run_once_per_period(engine, "plan_next_week", "2022-W20", "w2", now, broken)


def test_figures_from_the_database(engine: Engine, session: Session) -> None:
    _world(engine, session)
    text = render(collect(engine, NOW, policy(), WALL))
    families = check_exposition(text)
    assert families["testrota_job_runs_total"] == "counter"

    def value(name: str, **labels: str) -> float | None:
        return sample_value(text, name, **labels)

    assert value("testrota_texts_open", status="pending") == 4  # also those due later
    assert value("testrota_texts_open", status="sending") == 1
    assert value("testrota_texts_open", status="unknown") == 0  # always present
    assert value("testrota_texts_recent", status="delivered", window="1h") == 0
    assert value("testrota_texts_recent", status="delivered", window="24h") == 2
    assert value("testrota_texts_recent", status="failed", window="24h") == 1
    assert value("testrota_texts_recent", status="pending", window="1h") == 2
    assert value("testrota_texts_recent", status="pending", window="24h") == 3
    assert value("testrota_texts_recent", status="expired", window="24h") == 0
    assert value("testrota_texts_due") == 2
    assert value("testrota_texts_oldest_due_age_seconds") == 1800
    assert value("testrota_texts_oldest_sending_age_seconds") == 180
    assert value("testrota_job_runs_total", job="dispatch_texts") == 2
    assert value("testrota_job_failures_total", job="dispatch_texts") == 0
    assert value("testrota_job_failures_total", job="flag_missed") == 1
    assert value("testrota_job_duration_seconds_total", job="dispatch_texts") is not None
    assert value("testrota_job_last_finished_timestamp_seconds", job="dispatch_texts") == (
        (WALL - timedelta(minutes=1, seconds=-3)).timestamp()
    )
    assert value("testrota_job_last_success_timestamp_seconds", job="flag_missed") is None
    assert value("testrota_workers_alive") == 2  # w1 and w2 ticked in the last 5 minutes
    assert value("testrota_job_seconds_since_last_tick") == 57
    assert value("testrota_period_job_runs", job="nightly", state="finished") == 1
    assert value("testrota_period_job_runs", job="plan_next_week", state="failed") == 1
    assert value("testrota_period_job_last_finished_timestamp_seconds", job="nightly") == (
        NOW.timestamp()
    )
    assert value("testrota_missed_tests_today") == 2
    assert value("testrota_appointments_today", status="scheduled") == 1
    assert value("testrota_appointments_today", status="done") == 1
    assert value("testrota_test_results_today", result="positive") == 1
    assert value("testrota_test_results_today", result="negative") == 1
    assert value("testrota_roster_imports_total") == 2
    assert value("testrota_roster_last_import", field="rows") == 12
    assert value("testrota_roster_last_import", field="errors") == 1
    assert value("testrota_roster_last_import_timestamp_seconds") == (
        (NOW - timedelta(days=1)).timestamp()
    )
    assert value("testrota_results_imports_total") == 0
    assert value("testrota_people_active") == 4
    assert value("testrota_people_high_risk_any") == 3
    assert value("testrota_people_high_risk", category="cold_chain") == 2
    assert value("testrota_people_high_risk", category="driver") == 1
    assert value("testrota_people_opted_out") == 1
    assert value("testrota_alerts_open") == 1
    assert value("testrota_alerts", status="open") == 1
    assert value("testrota_alerts", status="closed") == 1
    assert JobRun  # the once-per-period rows came from the real runner


def test_today_is_the_local_day_across_a_dst_change(engine: Engine, session: Session) -> None:
    """13 March 2022 in New York has 23 hours: the bounds follow the local calendar."""
    person = add_person(session, 1, risk_category="driver")
    for local in (
        datetime(2022, 3, 13, 0, 30, tzinfo=NY),
        datetime(2022, 3, 13, 23, 30, tzinfo=NY),
        datetime(2022, 3, 12, 23, 30, tzinfo=NY),
        datetime(2022, 3, 14, 0, 30, tzinfo=NY),
    ):
        add_appointment(session, person, local, status="missed")
    new_york = policy(timezone="America/New_York")
    now = datetime(2022, 3, 13, 12, 0, tzinfo=NY)
    text = render(collect(engine, now, new_york, WALL))
    assert sample_value(text, "testrota_missed_tests_today") == 2
    shanghai = render(collect(engine, now, policy(), WALL))  # 14 March in Shanghai
    assert sample_value(shanghai, "testrota_missed_tests_today") == 2


def test_an_empty_database_still_gives_every_family(engine: Engine) -> None:
    text = render(collect(engine, NOW, policy(), WALL))
    check_exposition(text)
    assert sample_value(text, "testrota_texts_due") == 0
    assert sample_value(text, "testrota_texts_oldest_due_age_seconds") == 0
    assert sample_value(text, "testrota_workers_alive") == 0
    assert sample_value(text, "testrota_job_seconds_since_last_tick") == -1
    assert sample_value(text, "testrota_texts_recent", status="failed", window="1h") == 0
    assert sample_value(text, "testrota_texts_open", status="pending") == 0


def test_label_values_from_the_database_are_escaped(engine: Engine) -> None:
    odd = 'say "hi"\\n\nnext'
    with observed_job(engine, odd, "w1", clock=lambda: WALL):
        pass
    text = render(collect(engine, NOW, policy(), WALL))
    check_exposition(text)
    assert 'testrota_job_runs_total{job="say \\"hi\\"\\\\n\\nnext"} 1.0' in text
    assert sample_value(text, "testrota_job_runs_total", job=odd) == 1


def test_no_gauge_is_named_like_a_counter(engine: Engine, session: Session) -> None:
    _world(engine, session)
    families = check_exposition(render(collect(engine, NOW, policy(), WALL)))
    assert [
        name for name, kind in families.items() if kind == "gauge" and name.endswith("_total")
    ] == []
    assert {name for name, kind in families.items() if kind == "counter"} == {
        "testrota_job_runs_total",
        "testrota_job_failures_total",
        "testrota_job_duration_seconds_total",
        "testrota_roster_imports_total",
        "testrota_results_imports_total",
    }


# --- the route ------------------------------------------------------------------------------------


def _app(settings: Settings, **overrides: object) -> FastAPI:
    app = create_app(
        get_settings(
            database_url=settings.database_url,
            config_dir=settings.config_dir,
            secret_key="k" * 40,
            now=NOW,
            **overrides,
        )
    )
    return app  # create_app serves /metrics


def test_loopback_clients_only_without_a_token(engine: Engine, settings: Settings) -> None:
    app = _app(settings)
    local = TestClient(app, client=("127.0.0.1", 50000))
    response = local.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    check_exposition(response.text)
    assert sample_value(response.text, "testrota_people_active") == 0
    assert TestClient(app, client=("::1", 50000)).get("/metrics").status_code == 200
    remote = TestClient(app, client=("203.0.113.9", 50000)).get("/metrics")
    assert remote.status_code == 403 and "TESTROTA_METRICS_TOKEN" in remote.text
    proxied = local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403


def test_a_token_is_required_when_set(engine: Engine, settings: Settings) -> None:
    app = _app(settings, metrics_token="s3cret-scrape-token")
    remote = TestClient(app, client=("203.0.113.9", 50000))
    assert remote.get("/metrics").status_code == 401
    assert remote.get("/metrics").headers["www-authenticate"] == "Bearer"
    wrong = remote.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    local = TestClient(app, client=("127.0.0.1", 50000))
    assert local.get("/metrics").status_code == 401  # the token applies to everyone
    ok = remote.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert ok.status_code == 200 and "testrota_texts_due 0" in ok.text


def test_database_down_is_a_503(settings: Settings, tmp_path: object) -> None:
    app = create_app(
        get_settings(
            database_url="sqlite:////nonexistent-dir/x.db",
            config_dir=settings.config_dir,
            secret_key="k" * 40,
        )
    )
    response = TestClient(app, client=("127.0.0.1", 1)).get("/metrics")
    assert response.status_code == 503 and "database unavailable" in response.text


def test_every_metric_is_in_the_readme(engine: Engine, session: Session) -> None:
    from tests.conftest import ROOT

    _world(engine, session)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### `/metrics`") : readme.index("### `testrota doctor`")]
    families = check_exposition(render(collect(engine, NOW, policy(), WALL)))
    assert [name for name in families if f"`{name}`" not in section] == []

"""The scan console's server side (``/scan``, ``/scan/api``): a tube, then its members, each
scan taken exactly once by its id, refusals as red answers, the page's own security headers."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.actions.codes import personal_codes
from testrota.app import build_app
from testrota.db.models import AuditEvent, Person, ScanReceipt, TestResult, TubeMember
from testrota.settings import Settings
from tests.web_support import csrf_of, make_user, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _post(client: TestClient, token: str, **body: Any) -> Any:
    return client.post("/scan/api", json=body, headers={"X-CSRF-Token": token})


def test_a_tube_and_its_members_each_taken_once(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    week19(engine)
    make_user(engine, "site1", "site")
    sign_in(client, "site1")
    page = client.get("/scan")
    assert page.status_code == 200
    assert "'wasm-unsafe-eval'" in page.headers["content-security-policy"]
    assert page.headers["permissions-policy"] == "camera=(self)"
    html = soup(page)
    video = html.select_one("video#scan-video")
    assert video is not None and video.has_attr("muted") and video.has_attr("playsinline")
    assert html.select_one('script[src="/static/vendor/barcode-detector/ponyfill.js"]')
    token = csrf_of(client, "/scan")

    opened = _post(client, token, id="scan-0001", kind="tube", value="T100", site="S1", ratio=5)
    assert opened.status_code == 200, opened.text
    assert opened.json()["tube"]["places_left"] == 5 and opened.json()["color"] == "green"
    with Session(engine) as s:
        b001 = s.scalars(select(Person).where(Person.employee_no == "B001")).one()
    code = personal_codes(build_app(web_settings, engine=engine), b001.id or 0)[0].code
    first = _post(client, token, id="scan-0002", kind="person", value=code, site="S1", tube="T100")
    body = first.json()
    assert body["ok"] and body["person"]["employee_no"] == "B001"
    assert body["tube"]["places_left"] == 4 and body["replay"] is False
    assert "B001" in body["message"] and "T100" in body["message"]
    # the same scan again (its answer was lost): the same answer, nothing new
    again = _post(client, token, id="scan-0002", kind="person", value=code, site="S1", tube="T100")
    assert again.json() == {**body, "replay": True}
    assert (_count(engine, TestResult), _count(engine, TubeMember)) == (1, 1)
    # a queued scan made two minutes ago is recorded then, not now
    late = _post(
        client,
        token,
        id="scan-0003",
        kind="person",
        value="B002",
        site="S1",
        tube="T100",
        age_ms=120_000,
    )
    assert late.json()["ok"], late.text
    with Session(engine) as s:
        times = sorted(r.sampled_at for r in s.scalars(select(TestResult)))
    assert times[1] - times[0] == timedelta(minutes=2)
    # refusals are answers (red), kept like the others
    mixed = _post(
        client, token, id="scan-0004", kind="person", value="A001", site="S1", tube="T100"
    )
    assert mixed.json()["color"] == "red" and "grid units are kept apart" in mixed.json()["message"]
    no_tube = _post(client, token, id="scan-0005", kind="person", value="A001", site="S1")
    assert "scan the tube first" in no_tube.json()["message"]
    stale = _post(
        client,
        token,
        id="scan-0006",
        kind="person",
        value="A001",
        site="S1",
        tube="T100",
        age_ms=13 * 3600 * 1000,
    )
    assert "hours old" in stale.json()["message"]
    closed = _post(client, token, id="scan-0007", kind="close", value="T100", tube="T100")
    assert closed.json()["tube"]["status"] == "closed" and "2 swabs" in closed.json()["message"]
    assert _count(engine, ScanReceipt) == 7
    with Session(engine) as s:
        checkins = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "checkin.recorded")
        )
    assert checkins == 2


def test_the_console_is_for_site_staff_and_checks_its_input(
    client: TestClient, engine: Engine
) -> None:
    week19(engine)
    make_user(engine, "sup1", "supervisor", departments=["炼钢厂"])
    make_user(engine, "site1", "site")
    sign_in(client, "sup1")
    assert client.get("/scan", follow_redirects=False).status_code == 403
    client.cookies.clear()
    sign_in(client, "site1")
    token = csrf_of(client, "/scan")
    no_csrf = client.post("/scan/api", json={"id": "scan-0001", "kind": "tube", "value": "T1"})
    assert no_csrf.status_code == 403
    for bad in (
        {"id": "short", "kind": "tube", "value": "T1"},
        {"id": "scan-0001", "kind": "shout", "value": "T1"},
        {"id": "scan-0001", "kind": "tube", "value": "T1", "ratio": 3},
        {"id": "scan-0001", "kind": "tube", "value": "x" * 201},
        {"id": "scan 0001!", "kind": "tube", "value": "T1"},
    ):
        assert _post(client, token, **bad).status_code in (400, 422), bad
    assert _count(engine, ScanReceipt) == 0


def test_old_receipts_are_pruned_as_new_scans_come(engine: Engine, web_settings: Settings) -> None:
    import zlib
    from datetime import datetime

    from testrota.actions.scans import Scan, record_scan
    from testrota.audit import Actor
    from testrota.clock import FixedClock

    week19(engine)
    now = datetime.fromisoformat("2022-05-11T10:00:00+08:00")
    with Session(engine) as s:
        s.add(ScanReceipt(key="old-scan-1", actor="web:x", at=now - timedelta(days=4), kind="tube"))
        s.add(ScanReceipt(key="new-scan-1", actor="web:x", at=now - timedelta(days=1), kind="tube"))
        s.commit()
    app = build_app(web_settings, engine=engine, clock=FixedClock(now))
    keys = (f"scan-{i:06d}" for i in range(10_000))
    quiet = next(k for k in keys if zlib.crc32(k.encode()) % 64)
    record_scan(app, Scan(quiet, "tube", "T9", Actor.web("x"), site="S1"))
    assert _count(engine, ScanReceipt) == 3  # most scans leave the old ones
    pruning = next(k for k in keys if zlib.crc32(k.encode()) % 64 == 0)
    record_scan(app, Scan(pruning, "tube", "T9", Actor.web("x"), site="S1"))
    with Session(engine) as s:
        assert sorted(r.key for r in s.scalars(select(ScanReceipt))) == sorted(
            ["new-scan-1", quiet, pruning]
        )


def test_a_twin_that_kept_its_answer_first_wins_the_race(
    engine: Engine, web_settings: Settings
) -> None:
    """Two copies of one scan taken at once: both find no receipt, both take the scan (its
    effects are idempotent), and the one that keeps its answer second gets the first's."""
    from datetime import datetime

    from testrota.actions import scans
    from testrota.actions.scans import Scan, ScanAnswer
    from testrota.audit import Actor
    from testrota.clock import FixedClock

    week19(engine)
    now = datetime.fromisoformat("2022-05-11T10:00:00+08:00")
    app = build_app(web_settings, engine=engine, clock=FixedClock(now))
    scan = Scan("scan-twin-01", "tube", "T7", Actor.web("x"), site="S1")
    first = ScanAnswer(scan.key, "tube", True, "green", "Tube {code} open: {n} places.", {"n": 5})
    second = ScanAnswer(scan.key, "tube", True, "green", "Tube {code} open: {n} places.", {"n": 4})
    assert scans._keep(app, scan, first, now) == first
    assert scans._keep(app, scan, second, now) == ScanAnswer(**{**first.__dict__, "replay": True})
    assert _count(engine, ScanReceipt) == 1
    assert scans.record_scan(app, scan) == ScanAnswer(**{**first.__dict__, "replay": True})


def test_a_scan_sent_again_waits_for_no_writer(
    engine: Engine, web_settings: Settings, database_url: str
) -> None:
    """Every scan first asks whether it was taken already; on SQLite that look takes no write
    lock, so a phone replaying its queue is answered while an import holds the lock."""
    from datetime import datetime

    from testrota.actions.scans import Scan, record_scan
    from testrota.audit import Actor
    from testrota.clock import FixedClock
    from testrota.db.engine import make_engine
    from tests.bounded import join_all

    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's one writer at a time is what a replayed scan must not wait for")
    week19(engine)
    now = datetime.fromisoformat("2022-05-11T10:00:00+08:00")
    app = build_app(web_settings, engine=engine, clock=FixedClock(now))
    scan = Scan("scan-replay-01", "tube", "T8", Actor.web("x"), site="S1")
    first = record_scan(app, scan)
    writer = make_engine(database_url)
    answers: list[Any] = []
    try:
        with writer.begin():  # BEGIN IMMEDIATE: the write lock, held until the block ends
            replay = threading.Thread(target=lambda: answers.append(record_scan(app, scan)))
            replay.start()
            join_all([replay], timeout=15)  # with the lock to wait for: the 30 s busy timeout
    finally:
        writer.dispose()
    assert answers[0].replay and answers[0].params == first.params


def test_the_api_twins_take_a_tube_a_code_and_show_the_state(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    week19(engine)
    make_user(engine, "site1", "site")
    sign_in(client, "site1")
    token = client.get("/api/session").json()["csrf_token"]
    _post(client, csrf_of(client, "/scan"), id="scan-0001", kind="tube", value="T7", site="S1")
    with Session(engine) as s:
        b002 = s.scalars(select(Person).where(Person.employee_no == "B002")).one()
    code = personal_codes(build_app(web_settings, engine=engine), b002.id or 0)[0].code
    done = client.post(
        "/api/checkin",
        json={"employee_no": code, "site": "S1", "tube": "T7"},
        headers={"X-CSRF-Token": token},
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["employee_no"], body["identified_by"], body["tube"]) == ("B002", "code", "T7")
    assert body["tube_places_left"] == 9 and body["tube_closed"] is False
    refused = client.post(
        "/api/checkin",
        json={"employee_no": "B002", "site": "S1", "tube": "NOPE"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 400 and "no tube NOPE" in refused.text
    status = client.get(f"/api/status/{code}")
    assert status.status_code == 200 and status.json()["state"] == "missed"  # Monday
    assert status.json()["employee_no"] == "B002"

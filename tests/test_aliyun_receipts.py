"""Aliyun's delivery receipts: pushed in batches, pushed again, applied once per (BizId, phone)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.clock import FixedClock
from testrota.db import tables
from testrota.notify.backends import build_backend
from testrota.notify.dispatcher import Dispatcher
from testrota.notify.receipts import MAX_REPORTS, BadReceipts, parse_reports
from testrota.observability.request_id import loggable_path
from testrota.settings import Settings
from testrota.web.aliyun_routes import router
from tests.fake_aliyun import FakeAliyun
from tests.notify_data import add_due_texts, messages, notify_settings, policy

TOKEN = "receipt-token-0123456789abcdefghij"
NOW = datetime.now(UTC)


def make_app(settings: Settings) -> FastAPI:
    app = FastAPI()
    app.state.settings = settings
    app.include_router(router)
    return app


@pytest.fixture
def fake() -> Iterator[FakeAliyun]:
    with FakeAliyun() as server:
        yield server


@pytest.fixture
def hook_settings(settings: Settings, fake: FakeAliyun) -> Settings:
    return notify_settings(
        settings, aliyun_receipt_token=TOKEN, now=NOW.isoformat(), **fake.settings()
    )


@pytest.fixture
def client(hook_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(make_app(hook_settings)) as c:
        yield c


def _send(engine: Engine, hook_settings: Settings, count: int) -> list[int]:
    ids = add_due_texts(engine, count, NOW - timedelta(minutes=1), with_params=True)
    rules = policy(sms={"rate_per_second": 0, "concurrency": 4})
    backend = build_backend(hook_settings, rules.sms)
    assert Dispatcher(engine, backend, rules, FixedClock(NOW)).run().sent == count
    return ids


def _statuses(engine: Engine) -> dict[int, tuple[str, str | None]]:
    with Session(engine, expire_on_commit=False) as session:
        return {m.id or 0: (m.status, m.error_code) for m in messages(session)}


def _receipt_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.SMS_RECEIPT)).scalar_one())


def _push(client: TestClient, receipts: list[dict[str, Any]], token: str = TOKEN) -> Any:
    return client.post(f"/webhooks/aliyun/{token}", json=receipts)


def test_receipts_mark_texts_delivered_or_not(
    client: TestClient, engine: Engine, hook_settings: Settings, fake: FakeAliyun
) -> None:
    ids = _send(engine, hook_settings, 3)
    first, second, _ = fake.messages
    batch = [
        fake.deliver(first.biz_id).receipt(),
        fake.deliver(second.biz_id, False, "MK:0001").receipt(False, "MK:0001"),
    ]
    response = _push(client, batch)
    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "成功"}
    by_out = {m.out_id: m for m in fake.messages}
    statuses = _statuses(engine)
    assert statuses[int(first.out_id or 0)] == ("delivered", None)
    assert statuses[int(second.out_id or 0)] == ("undelivered", "MK:0001")
    third = next(i for i in ids if str(i) not in (first.out_id, second.out_id))
    assert statuses[third] == ("sent", None)
    assert set(by_out) == {str(i) for i in ids}


def test_a_pushed_again_batch_is_applied_once(
    client: TestClient, engine: Engine, hook_settings: Settings, fake: FakeAliyun
) -> None:
    _send(engine, hook_settings, 2)
    batch = [fake.deliver(m.biz_id).receipt() for m in fake.messages]
    for _ in range(4):  # the push, then Aliyun's retries after 1, 5 and 10 minutes
        assert _push(client, batch).json()["code"] == 0
    assert _receipt_rows(engine) == 2
    # A contradicting copy of an applied receipt changes nothing: receipts are applied once.
    late = dict(batch[0], success=False, err_code="MK:0001")
    assert _push(client, [late]).json()["code"] == 0
    assert {s for s, _ in _statuses(engine).values()} == {"delivered"}


def test_concurrent_pushes_of_one_batch_apply_it_once(
    client: TestClient, engine: Engine, hook_settings: Settings, fake: FakeAliyun
) -> None:
    _send(engine, hook_settings, 6)
    batch = [fake.deliver(m.biz_id).receipt() for m in fake.messages]
    answers: list[int] = []

    def push() -> None:
        with TestClient(make_app(hook_settings)) as own:
            answers.append(_push(own, batch).status_code)

    threads = [threading.Thread(target=push) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [200, 200, 200]
    assert _receipt_rows(engine) == 6
    assert {s for s, _ in _statuses(engine).values()} == {"delivered"}


def test_a_receipt_for_no_text_of_ours_is_answered_and_kept(
    client: TestClient, engine: Engine
) -> None:
    stranger = {
        "phone_number": "13800000099",
        "success": True,
        "biz_id": "1^2",
        "out_id": "",
        "err_code": "DELIVERED",
    }
    assert _push(client, [stranger]).json() == {"code": 0, "msg": "成功"}
    assert _receipt_rows(engine) == 1


@pytest.mark.parametrize("token", ["wrong-token", TOKEN[:-1], TOKEN + "x"])
def test_a_wrong_token_is_not_found(
    client: TestClient, engine: Engine, hook_settings: Settings, fake: FakeAliyun, token: str
) -> None:
    _send(engine, hook_settings, 1)
    response = _push(client, [fake.deliver(fake.messages[0].biz_id).receipt()], token)
    assert response.status_code == 404
    assert _receipt_rows(engine) == 0
    assert {s for s, _ in _statuses(engine).values()} == {"sent"}


def test_no_token_set_means_no_route(settings: Settings, engine: Engine) -> None:
    with TestClient(make_app(notify_settings(settings))) as c:
        assert c.post("/webhooks/aliyun/anything", json=[]).status_code == 404


def test_bounded_body_and_batch(client: TestClient, engine: Engine) -> None:
    one = {"phone_number": "13800000001", "success": True, "biz_id": "1^1", "out_id": "1"}
    too_many = [dict(one, biz_id=f"1^{i}") for i in range(MAX_REPORTS + 1)]
    response = _push(client, too_many)
    assert response.status_code == 400 and response.json()["code"] != 0
    huge = b"[" + b" " * (600 * 1024) + b"]"
    response = client.post(
        f"/webhooks/aliyun/{TOKEN}", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    for bad in (b"{}", b"not json", b'[{"success": true}]', b"[1]"):
        response = client.post(f"/webhooks/aliyun/{TOKEN}", content=bad)
        assert response.status_code == 400 and response.json()["code"] == 1
    assert _receipt_rows(engine) == 0


def test_parsing_is_strict_about_shape_and_lenient_about_types() -> None:
    (receipt,) = parse_reports(
        [{"phone_number": "138", "success": "true", "biz_id": "b", "out_id": "12"}]
    )
    assert (receipt.success, receipt.out_id) == (True, 12)
    (receipt,) = parse_reports(
        [{"phone_number": "138", "success": False, "biz_id": "b", "out_id": "x" * 40}]
    )
    assert (receipt.success, receipt.out_id) == (False, None)
    with pytest.raises(BadReceipts):
        parse_reports(json.loads('{"biz_id": "b"}'))


def test_the_token_never_reaches_the_access_log() -> None:
    assert loggable_path(f"/webhooks/aliyun/{TOKEN}") == "/webhooks/aliyun/…"


def test_the_whole_web_app_serves_the_route(
    database_url: str, engine: Engine, hook_settings: Settings, fake: FakeAliyun
) -> None:
    from testrota.web.app import create_app
    from tests.web_support import web_settings_for

    _send(engine, hook_settings, 1)
    settings = web_settings_for(database_url).model_copy(update={"aliyun_receipt_token": TOKEN})
    with TestClient(create_app(settings)) as full:
        response = _push(full, [fake.deliver(fake.messages[0].biz_id).receipt()])
        assert response.status_code == 200 and response.json()["code"] == 0
        assert full.post("/webhooks/aliyun/nope", json=[]).status_code == 404
    assert {s for s, _ in _statuses(engine).values()} == {"delivered"}


def test_a_failure_receipt_that_comes_before_the_send_is_recorded_keeps_its_error(
    engine: Engine, session: Session
) -> None:
    """Aliyun took the text and the carrier refused it before the dispatcher wrote its batch
    down: the text stays undelivered with the carrier's reason (it lost the reason; found in
    review). A text that is simply sent loses an earlier attempt's error."""
    from testrota.db.models import Message
    from testrota.notify import claims
    from testrota.notify.receipts import apply_receipts

    texts = []
    for key in ("refused", "fine"):
        text = Message(
            kind="reminder_eve",
            dedupe_key=key,
            to="+8613800000001",
            body="x",
            due_at=NOW,
            status="sending",
            claimed_by="w1",
            claimed_at=NOW,
            created_at=NOW,
            error_code="E_EARLIER",
            error_message="a timeout on the last attempt",
        )
        session.add(text)
        texts.append(text)
    session.commit()
    refused, fine = (t.id for t in texts)
    receipts = parse_reports(
        [
            {
                "biz_id": "900^0",
                "phone_number": "13800000001",
                "success": False,
                "out_id": str(refused),
                "err_code": "MK:0001",
                "err_msg": "blacklisted",
            }
        ]
    )
    assert apply_receipts(engine, NOW, receipts).applied == 1
    with engine.begin() as conn:
        sent = [(refused, "900^0"), (fine, "901^0")]
        rows = [
            {"b_id": i, "b_sid": sid, "b_pstatus": "sent", "b_channel": "aliyun"} for i, sid in sent
        ]
        claims.record_sent(conn, "w1", NOW, rows)
    M = tables.MESSAGE
    with engine.connect() as conn:
        got = {
            r.id: (r.status, r.error_code, r.error_message)
            for r in conn.execute(select(M.c.id, M.c.status, M.c.error_code, M.c.error_message))
        }
    assert got[refused] == ("undelivered", "MK:0001", "blacklisted")
    assert got[fine] == ("sent", None, None)

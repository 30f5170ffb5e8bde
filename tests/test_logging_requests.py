"""Every request gets an id: from X-Request-ID or made, echoed, and on every log line of it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from testrota.observability.logging import configure_logging, request_id_var
from testrota.observability.request_id import incoming_id, loggable_path
from testrota.settings import Settings, get_settings
from testrota.web.app import create_app

PHONE = "+8613812345678"


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


def _app(settings: Settings) -> FastAPI:
    app = create_app(
        get_settings(
            database_url=settings.database_url, config_dir=settings.config_dir, secret_key="k" * 40
        )
    )
    router = APIRouter()  # create_app adds the request-id middleware
    log = logging.getLogger("testrota.test.web")

    @router.get("/_probe/sync")
    def sync_probe() -> dict[str, str | None]:
        log.info("sync handler for %s", PHONE)  # a sync handler runs in the thread pool
        return {"seen": request_id_var.get()}

    @router.get("/_probe/async")
    async def async_probe() -> dict[str, str | None]:
        log.info("async handler")
        return {"seen": request_id_var.get()}

    app.include_router(router)
    return app


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_request_id_is_made_echoed_and_logged(
    engine: object, settings: Settings, logs: io.StringIO
) -> None:
    with TestClient(_app(settings)) as client:
        for path in ("/_probe/sync", "/_probe/async"):
            response = client.get(path)
            assert response.status_code == 200
            rid = response.headers["X-Request-ID"]
            assert len(rid) == 16 and response.json() == {"seen": rid}
            handler_line, access_line = (d for d in _lines(logs) if d.get("request_id") == rid)
            assert handler_line["logger"] == "testrota.test.web"
            assert access_line["logger"] == "testrota.access"
            assert (access_line["method"], access_line["path"], access_line["status"]) == (
                "GET",
                path,
                200,
            )
            assert isinstance(access_line["ms"], float)
        assert PHONE not in logs.getvalue() and "+*********5678" in logs.getvalue()


def test_a_callers_id_is_kept_and_a_bad_one_replaced(
    engine: object, settings: Settings, logs: io.StringIO
) -> None:
    with TestClient(_app(settings)) as client:
        kept = client.get("/_probe/async", headers={"X-Request-ID": "lb-7f3a:42"})
        assert kept.headers["X-Request-ID"] == "lb-7f3a:42" and kept.json()["seen"] == "lb-7f3a:42"
        bad = client.get("/_probe/async", headers={"X-Request-ID": 'a b"c'})
        assert bad.headers["X-Request-ID"] != 'a b"c' and len(bad.headers["X-Request-ID"]) == 16
        missing = client.get("/no-such-page")
        assert missing.status_code == 404 and missing.headers["X-Request-ID"]
    assert request_id_var.get() is None  # nothing leaks out of a request


def test_personal_link_tokens_and_queries_stay_out_of_the_access_log() -> None:
    assert loggable_path("/me/AbC123.xyz/reschedule") == "/me/…/reschedule"
    assert loggable_path("/people") == "/people"
    assert incoming_id([(b"x-request-id", b"abc-1")]) == "abc-1"
    assert incoming_id([(b"x-request-id", b"x" * 200)]) is None
    assert incoming_id([]) is None

"""The web when its database is down, restarting, busy or not set up: a page (or JSON) in the
user's language saying to wait, 503 with ``Retry-After``, and the driver's words in the log for
the operator. It was "Internal Server Error", plain text, for every page of every user."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.web.app import create_app
from tests.sim_procs import free_port
from tests.web_support import PASSWORD, csrf_of, make_user, sign_in, soup, web_settings_for

pytest_plugins = ("tests.web_fixtures",)

UNREACHABLE = "The database cannot be reached just now. Try again in a minute."


def _nobody_there() -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"


def _sign_in_on(url: str, lang: str, caplog: pytest.LogCaptureFixture, level: int) -> Any:
    """A sign-in through an app whose database is ``url``, the app's log captured."""
    app = create_app(web_settings_for(url))
    with (
        TestClient(app, headers={"Accept-Language": lang}) as client,
        caplog.at_level(level, logger="testrota.web.app"),
    ):
        token = csrf_of(client)
        return client.post(
            "/login",
            data={"username": "hr1", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )


def test_signing_in_while_the_database_is_down_is_a_page_saying_to_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = _sign_in_on(_nobody_there(), "zh-CN", caplog, logging.WARNING)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "30"
    page = soup(r)
    assert page.select_one("html")["lang"] == "zh-Hans"  # type: ignore[index]
    assert "暂时无法连接数据库，请一分钟后再试。" in page.get_text()
    assert "Internal Server Error" not in r.text
    logged = [rec.getMessage() for rec in caplog.records]
    assert any("cannot use the database:" in m and "Connection refused" in m for m in logged)


def test_a_signed_in_user_and_the_api_when_the_database_goes_away(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    # The same secret key, the database gone: the sign-in's cookie names a session that cannot
    # be looked up now.
    down = create_app(web_settings_for(_nobody_there()))
    with TestClient(down, headers={"Accept-Language": "en"}, cookies=client.cookies) as c:
        page = c.get("/people")
        api = c.get("/api/people")
    assert page.status_code == 503 and UNREACHABLE in soup(page).get_text()
    assert api.status_code == 503 and api.json() == {"detail": UNREACHABLE}
    assert api.headers["retry-after"] == "30"


def test_an_upload_when_the_database_goes_away_is_told_to_wait(
    client: TestClient, engine: Engine
) -> None:
    """Review: the upload limit's look-up of the sign-in runs before the app's handlers, so
    the database gone there was a bare "Internal Server Error" where every page says to wait."""
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    token = csrf_of(client, "/upload/roster")
    down = create_app(web_settings_for(_nobody_there()))
    with TestClient(down, headers={"Accept-Language": "en"}, cookies=client.cookies) as c:
        r = c.post(
            "/upload/roster",
            files={"file": ("r.xlsx", b"PK")},
            data={"csrf_token": token},
            follow_redirects=False,
        )
    assert r.status_code == 503 and UNREACHABLE in soup(r).get_text()
    assert r.headers["retry-after"] == "30"


def test_a_database_nobody_ran_init_on_says_it_is_being_set_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    r = _sign_in_on(f"sqlite:///{tmp_path / 'empty.db'}", "en", caplog, logging.ERROR)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "120"
    assert "testrota is being set up or upgraded. Try again in a few minutes." in soup(r).get_text()
    assert any("run `testrota init`" in rec.getMessage() for rec in caplog.records)

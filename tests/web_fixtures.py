"""Fixtures of the web tests, loaded with ``pytest_plugins = ("tests.web_fixtures",)``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.settings import Settings
from testrota.web.app import create_app
from tests.web_support import web_settings_for


@pytest.fixture
def web_settings(database_url: str, engine: Engine) -> Settings:
    return web_settings_for(database_url)


@pytest.fixture
def client(web_settings: Settings) -> Iterator[TestClient]:
    app = create_app(web_settings)
    with TestClient(app, headers={"Accept-Language": "en"}) as c:
        yield c

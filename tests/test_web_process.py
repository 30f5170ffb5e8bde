"""What a web server process does once, before its first request."""

from __future__ import annotations

import gc
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.web.app import create_app_from_env
from tests.web_support import web_settings_for


def test_what_lives_as_long_as_the_process_is_frozen_out_of_full_collections(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection walked every object of a server at 300,000 people (70-160 ms in
    which each request of the process waited, the morning peak's slowest answers). A server
    process (``uvicorn --factory``, as ``testrota serve``) freezes what it built by then out
    of the collector's sight."""
    settings = web_settings_for(database_url)
    monkeypatch.setenv("TESTROTA_DATABASE_URL", database_url)
    monkeypatch.setenv("TESTROTA_SECRET_KEY", str(settings.secret_key))
    monkeypatch.setenv("TESTROTA_CONFIG_DIR", str(settings.config_dir))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        app = create_app_from_env()
        frozen = gc.get_freeze_count()
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
        assert frozen > 10_000, frozen  # the modules alone hold more
    finally:
        gc.unfreeze()  # this test process goes on to build other apps
        for handler in [h for h in root.handlers if h not in handlers]:  # the factory's logging
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)

"""Shared fixtures: a real database (SQLite always, PostgreSQL when configured), settings, CLI.

``TESTROTA_TEST_DATABASE_URL`` points at a PostgreSQL server (CI sets it). Each test run creates
its own database on that server, so several runs (or xdist workers) never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, make_url, text
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

from testrota.db.engine import make_engine
from testrota.db.schema import upgrade
from testrota.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "config"
SAMPLE_ROSTERS = ROOT / "sample_rosters"
PG_URL = os.environ.get("TESTROTA_TEST_DATABASE_URL")

BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]

# The commands speak the locale's language: the suite reads their English unless a test asks for
# another language, so a developer's zh_CN locale does not change what the tests see.
os.environ["TESTROTA_LANG"] = "en"


def _create_pg_database(base_url: str) -> tuple[str, Engine]:
    url = make_url(base_url)
    name = f"testrota_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False), admin


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database of each backend, created once per test run."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'testrota.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    assert PG_URL is not None
    url, admin = _create_pg_database(PG_URL)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _empty_all_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The test's database engine; every table is emptied after the test."""
    eng = make_engine(database_url)
    try:
        yield eng
    finally:
        _empty_all_tables(eng)
        eng.dispose()


@pytest.fixture
def pg(engine: Engine) -> Engine:
    """The test's engine when it is PostgreSQL's: races between processes, which SQLite's
    writers cannot have."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers queue on BEGIN IMMEDIATE; these are PostgreSQL's races")
    return engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def settings(database_url: str) -> Settings:
    return get_settings(database_url=database_url, config_dir=CONFIG_DIR)


@pytest.fixture
def cli_env(database_url: str) -> dict[str, str]:
    """Environment for a CLI invocation against the test database."""
    return {"TESTROTA_DATABASE_URL": database_url, "TESTROTA_CONFIG_DIR": str(CONFIG_DIR)}


@pytest.fixture
def cli(cli_env: dict[str, str], engine: Engine) -> Any:
    """Run ``testrota ARGS`` through Typer's runner: ``cli("people", "--format", "json")``."""
    from testrota.cli.main import app

    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
        return runner.invoke(app, list(args), env={**cli_env, **(env or {})}, input=input)

    return run


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright, one per test module (the browser tests)."""
    from playwright.sync_api import sync_playwright

    from tests.web_support import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()

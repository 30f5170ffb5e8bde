"""A database the command cannot use is one line saying what to do, in the user's language:
a wrong ``TESTROTA_DATABASE_URL``, a server that is down, a database nobody ran ``testrota
init`` on (exit 2, a setup step missed), a moment too busy, another writer first (exit 1).
Each used to end the command in forty lines of traceback. Any other error keeps its
traceback: that one is a bug to report.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from testrota.db.trouble import database_trouble
from tests.conftest import CONFIG_DIR, PG_URL
from tests.sim_procs import cli_argv, free_port


def _run(url: str, *args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {"TESTROTA_DATABASE_URL": url, "TESTROTA_CONFIG_DIR": str(CONFIG_DIR)}
    env |= {"TESTROTA_LANG": lang, "PATH": "/usr/bin:/bin"}
    return subprocess.run(cli_argv(*args), env=env, capture_output=True, text=True, timeout=120)


def _one_line(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_server_that_is_not_there_is_one_line_naming_the_setting() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    line = _one_line(_run(url, "missed"))
    assert line.startswith("Error: cannot use the database: connection to server at")
    assert "Connection refused" in line
    assert "Check TESTROTA_DATABASE_URL (or --db) and that the server is running" in line
    zh = _one_line(_run(url, "people", lang="zh"))
    assert zh.startswith("错误：无法使用数据库：") and "TESTROTA_DATABASE_URL" in zh


def test_an_sqlite_file_in_a_folder_that_is_not_there(tmp_path: Path) -> None:
    line = _one_line(_run(f"sqlite:///{tmp_path / 'no' / 'such' / 'rota.db'}", "people"))
    assert line == (
        "Error: cannot open the database: unable to open database file. Check "
        "TESTROTA_DATABASE_URL (or --db): its folder must exist and be writable"
    )


@pytest.mark.parametrize("args", [("people",), ("plan", "--week", "2022-W19"), ("units",)])
def test_a_database_nobody_ran_init_on_says_to_run_it(tmp_path: Path, args: tuple[str]) -> None:
    line = _one_line(_run(f"sqlite:///{tmp_path / 'rota.db'}", *args), code=2)  # a step missed
    assert line.startswith("Error: the database has no testrota tables, or older ones")
    assert line.endswith(
        "run `testrota init` (it creates or upgrades them), then this command again"
    )


@pytest.mark.skipif(PG_URL is None, reason="a PostgreSQL server's own refusals")
def test_a_postgresql_database_that_does_not_exist_or_a_wrong_user() -> None:
    assert PG_URL is not None
    url = make_url(PG_URL)
    missing = url.set(database="testrota_no_such_database").render_as_string(False)
    assert 'database "testrota_no_such_database" does not exist' in _one_line(
        _run(missing, "people")
    )
    stranger = url.set(username="testrota_no_such_role").render_as_string(False)
    assert 'role "testrota_no_such_role" does not exist' in _one_line(_run(stranger, "people"))


def _raised(engine: Any, *statements: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    return caught.value


def test_a_change_another_writer_made_first_is_to_be_run_again(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t VALUES ('a')"))
    exc = _raised(engine, "INSERT INTO t VALUES ('a')")
    assert isinstance(exc, IntegrityError)
    trouble = database_trouble(exc)
    assert trouble is not None and trouble.exit_code == 1
    assert str(trouble) == (
        "the database refused the change: another one got there first, or something it refers "
        "to is gone (UNIQUE constraint failed: t.k); run the command again"
    )


def test_a_database_too_busy_is_to_be_run_again(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (k TEXT)")
    holder.execute("BEGIN IMMEDIATE")  # another process writing
    try:
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
        exc = _raised(engine, "INSERT INTO t VALUES ('a')")
    finally:
        holder.close()
    assert isinstance(exc, OperationalError)
    trouble = database_trouble(exc)
    assert trouble is not None
    assert (
        str(trouble)
        == "the database was too busy to finish (database is locked); run the command again"
    )


@pytest.mark.skipif(PG_URL is None, reason="PostgreSQL's statement time-out")
def test_a_statement_the_server_cancelled_is_to_be_run_again() -> None:
    assert PG_URL is not None
    engine = create_engine(PG_URL)
    try:
        exc = _raised(engine, "SET LOCAL statement_timeout = 1", "SELECT pg_sleep(1)")
    finally:
        engine.dispose()
    trouble = database_trouble(exc)
    assert trouble is not None
    assert str(trouble).startswith("the database was too busy to finish (canceling statement")


def test_any_other_error_is_left_to_show_its_traceback(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert database_trouble(_raised(engine, "SELEC 1")) is None  # our SQL: a bug
    assert database_trouble(ValueError("no such table: t")) is None
    assert database_trouble(KeyError("x")) is None

"""``testrota users ...`` and ``testrota serve`` from the command line."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import User
from tests.web_support import running_server


def test_users_add_reads_the_password_from_stdin(cli: Any, engine: Engine) -> None:
    r = cli(
        "users",
        "add",
        "sup1",
        "--role",
        "supervisor",
        "--department",
        "炼钢厂",
        "--department",
        "物流部",
        "--password-stdin",
        "--json",
        input="s3cret-enough\n",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {
        "name": "sup1",
        "role": "supervisor",
        "departments": ["炼钢厂", "物流部"],
        "language": "zh",
    }
    with Session(engine) as s:
        user = s.exec(select(User)).one()
    assert user.password_hash.startswith("$argon2id$") and "s3cret" not in user.password_hash
    r = cli("users", "list", "--format", "json")
    assert json.loads(r.stdout)[0]["departments"] == ["炼钢厂", "物流部"]


def test_users_add_prompts_twice_for_the_password(cli: Any, engine: Engine) -> None:
    r = cli("users", "add", "hr1", "--role", "hr", input="pass-word-1\npass-word-1\n")
    assert r.exit_code == 0, r.output
    r = cli(
        "users",
        "add",
        "hr2",
        "--role",
        "hr",
        input="pass-word-1\nother-word-2\npass-word-2\npass-word-2\n",
    )
    assert r.exit_code == 0, r.output  # the mismatch was asked again


def test_users_add_refuses_bad_input(cli: Any, engine: Engine) -> None:
    for args, message in [
        (("sup", "--role", "supervisor"), "at least one --department"),
        (("x", "--role", "owner"), "unknown role"),
        (("y", "--role", "hr"), "too short"),
    ]:
        r = cli(
            "users",
            "add",
            *args,
            "--password-stdin",
            input="short\n" if "too short" in message else "long-enough-1\n",
        )
        assert r.exit_code == 2, r.output
        assert message in r.output
        assert "Traceback" not in r.output
    with Session(engine) as s:
        assert s.exec(select(User)).all() == []


def test_serve_refuses_to_start_without_a_secret_key(cli: Any) -> None:
    r = cli("serve", "--port", "1", env={"TESTROTA_SECRET_KEY": ""})
    assert r.exit_code == 2
    assert "TESTROTA_SECRET_KEY" in r.output and "export TESTROTA_SECRET_KEY=" in r.output


def test_serve_answers_on_a_free_port(database_url: str, engine: Engine) -> None:
    with running_server(database_url) as base:
        with urllib.request.urlopen(base + "/healthz", timeout=30) as r:
            assert json.loads(r.read()) == {"status": "ok", "database": "ok"}
        # the API's document is for signed-in readers of the API page, not for anyone
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/openapi.json", timeout=30)
    assert refused.value.code == 401
    assert "paths" not in json.loads(refused.value.read())


def test_demo_seeds_a_realistic_week_and_prints_the_users(cli: Any, engine: Engine) -> None:
    from sqlmodel import func

    from testrota.db.models import Alert, Appointment, Message, Person

    r = cli(
        "demo",
        "--no-serve",
        env={"TESTROTA_NOW": "2022-05-11T10:00:00+08:00", "TESTROTA_SECRET_KEY": ""},
    )
    assert r.exit_code == 0, r.output
    users = {
        line.split()[0]: line.split()[1] for line in r.stdout.splitlines() if line.startswith("  ")
    }
    assert {"admin", "hr", "supervisor1", "site"} <= set(users)
    with Session(engine) as s:
        people = s.exec(select(func.count()).select_from(Person)).one()
        statuses = dict(
            s.exec(select(Appointment.status, func.count()).group_by(Appointment.status)).all()
        )
        alerts = s.exec(select(Alert)).all()
        queued = s.exec(select(func.count()).select_from(Message)).one()
        sup = s.exec(select(User).where(User.name == "supervisor1")).one()
    assert people > 300
    assert statuses["done"] > statuses["missed"] > 0 and statuses["scheduled"] > 0
    assert len(alerts) == 1 and alerts[0].status == "open"
    assert queued > 0
    assert sup.departments and sup.role == "supervisor"
    # the printed password signs in
    from testrota.auth.passwords import verify_password

    assert verify_password(sup.password_hash, users["supervisor1"])
    # a second run keeps the data and the users (their passwords come from the database's key)
    r = cli("demo", "--no-serve", env={"TESTROTA_NOW": "2022-05-11T10:00:00+08:00"})
    assert r.exit_code == 0 and "kept as it is" in r.output
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Person)).one() == people


def test_serve_with_worker_runs_the_jobs_in_process(database_url: str, engine: Engine) -> None:
    import time

    from testrota.db.models import JobRun

    with running_server(database_url, "--with-worker") as base:
        with urllib.request.urlopen(base + "/healthz", timeout=30) as r:
            assert r.status == 200
        deadline = time.monotonic() + 20
        runs: list[JobRun] = []
        while time.monotonic() < deadline and not runs:
            with Session(engine) as s:
                runs = list(s.exec(select(JobRun)))
            time.sleep(0.2)
    assert runs, "the in-process worker recorded no job run"


def test_serve_runs_on_the_c_http_parser_and_libuv_loop() -> None:
    """``testrota serve`` leaves uvicorn's choice on "auto", which takes httptools and uvloop
    when installed: they are runtime dependencies because they cut the server's CPU per
    request by about a third (README, "The morning peak"). A clean install must have them."""
    import asyncio

    import uvicorn
    from fastapi import FastAPI

    config = uvicorn.Config(FastAPI(), http="auto", loop="auto")
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
        assert isinstance(loop, asyncio.AbstractEventLoop)
    finally:
        loop.close()

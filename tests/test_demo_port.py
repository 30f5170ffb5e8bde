"""The demo's links follow where it serves: `testrota demo --port 8001` texts links to port
8001 (`make demo PORT=8001`), unless TESTROTA_PUBLIC_URL names the public address."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import Message
from tests.web_support import NOW, SECRET


def _links(engine: Engine) -> set[str]:
    with Session(engine) as s:
        bodies = [m.body for m in s.exec(select(Message))]
    return {b.split("/me/")[0].rsplit(" ", 1)[-1].split("：")[-1] for b in bodies if "/me/" in b}


def test_demo_links_follow_the_port(cli: Any, engine: Engine) -> None:
    env = {"TESTROTA_SECRET_KEY": SECRET, "TESTROTA_NOW": NOW}
    result = cli("demo", "--no-serve", "--port", "8001", env=env)
    assert result.exit_code == 0, result.output
    links = _links(engine)
    assert links and all(link.endswith("http://127.0.0.1:8001") for link in links), links


def test_an_explicit_public_url_wins(cli: Any, engine: Engine) -> None:
    env = {
        "TESTROTA_SECRET_KEY": SECRET,
        "TESTROTA_NOW": NOW,
        "TESTROTA_PUBLIC_URL": "https://rota.example.cn",
    }
    result = cli("demo", "--no-serve", "--port", "8001", env=env)
    assert result.exit_code == 0, result.output
    links = _links(engine)
    assert links and all(link.endswith("https://rota.example.cn") for link in links), links

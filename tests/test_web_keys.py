"""Weak signing keys are refused; the demo signs with a random key of its own database
(issue 11, security item 8)."""

from __future__ import annotations

import hashlib
import hmac
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from itsdangerous.signer import SigningAlgorithm
from sqlalchemy import Engine

from testrota.auth.keys import DEMO_KEY, stored_key
from testrota.db.engine import make_engine
from testrota.db.schema import upgrade
from testrota.notify.links import InvalidLink, make_personal_token, read_personal_token
from testrota.settings import MIN_SECRET_KEY_BYTES, Settings, SettingsError
from testrota.web.app import SESSION_COOKIE, create_app
from tests.web_support import make_user, sign_in, web_settings_for

pytest_plugins = ("tests.web_fixtures",)

# What the demo signed personal links with before: a constant anyone can read in the source.
OLD_PUBLIC_DEMO_KEY = "testrota-demo-key-not-secret"


def demo_settings(database_url: str) -> Settings:
    return web_settings_for(database_url, secret_key=None, demo=True)


@pytest.mark.parametrize("key", ["k" * (MIN_SECRET_KEY_BYTES - 1), "秘密" * 5, "changeme"])
def test_the_app_refuses_a_short_key(database_url: str, key: str) -> None:
    with pytest.raises(SettingsError, match="use at least 32 random bytes") as info:
        create_app(web_settings_for(database_url, secret_key=key))
    assert "\n" not in str(info.value) and "secrets.token_urlsafe(48)" in str(info.value)


def test_a_key_of_32_bytes_is_enough(database_url: str, engine: Engine) -> None:
    create_app(web_settings_for(database_url, secret_key="é" * 16))  # 16 characters, 32 bytes


def test_serve_refuses_a_short_key_in_one_line(cli: Any) -> None:
    # a port that is taken: were the key accepted, uvicorn would fail to bind, not hang
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        r = cli("serve", "--port", port, env={"TESTROTA_SECRET_KEY": "short-but-not-empty"})
    assert r.exit_code == 2, r.output
    (line,) = r.output.strip().splitlines()
    assert line.startswith("Error: TESTROTA_SECRET_KEY is only 19 bytes long")
    assert "export TESTROTA_SECRET_KEY=" in line


def test_the_demo_key_is_random_kept_in_the_database_and_shared(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    make_user(engine, "hr1", "hr")
    first = create_app(demo_settings(database_url))
    again = create_app(demo_settings(database_url))  # another process, or a restart
    key = first.state.settings.secret_key
    assert key and len(key.encode()) >= 48 and key != OLD_PUBLIC_DEMO_KEY
    assert again.state.settings.secret_key == key
    # a sign-in made at one process is good at the other
    with TestClient(first) as one:
        sign_in(one, "hr1")
        cookie = one.cookies[SESSION_COOKIE]
    with TestClient(again, cookies={SESSION_COOKIE: cookie}) as other:
        assert other.get("/api/session").status_code == 200
    # another database has another key
    elsewhere = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(make_engine(elsewhere))
    assert create_app(demo_settings(elsewhere)).state.settings.secret_key != key


def test_links_signed_with_the_old_public_key_are_refused_by_the_demo(
    database_url: str, engine: Engine
) -> None:
    demo = create_app(demo_settings(database_url)).state.settings
    forged = forge_link(OLD_PUBLIC_DEMO_KEY, person_id=1)
    with pytest.raises(InvalidLink):
        read_personal_token(demo, forged)
    assert read_personal_token(demo, make_personal_token(demo, 1)) == 1
    assert read_personal_token(demo, forge_link(str(demo.secret_key), 1)) == 1  # a true forgery


def forge_link(key: str, person_id: int) -> str:
    """A personal-link token as the attacker makes one who knows the key and reads the source
    (testrota.notify.links: itsdangerous, its salt, HMAC-SHA256 cut to 12 bytes)."""

    class Truncated(SigningAlgorithm):
        def get_signature(self, key: bytes, value: bytes) -> bytes:
            return hmac.new(key, value, hashlib.sha256).digest()[:12]

    signer = TimestampSigner(key, salt="testrota.personal-link", algorithm=Truncated())
    assert person_id < 10
    return signer.sign(str(person_id)).decode("ascii")


def test_demo_processes_starting_together_agree_on_one_key(engine: Engine) -> None:
    from datetime import UTC, datetime

    at = datetime(2022, 5, 11, tzinfo=UTC)
    with ThreadPoolExecutor(4) as pool:
        keys = set(pool.map(lambda _: stored_key(engine, DEMO_KEY, at), range(8)))
    assert len(keys) == 1


def test_the_demo_without_a_schema_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="run `testrota init`"):
        create_app(demo_settings(f"sqlite:///{tmp_path / 'empty.db'}"))


def test_restarting_the_demo_keeps_its_passwords_and_sign_ins(
    database_url: str, engine: Engine
) -> None:
    from testrota.web.demo import seed_demo
    from tests.web_support import add_people

    add_people(engine, [{"employee_no": "D1", "name": "某人", "department": "物流部"}])
    settings = demo_settings(database_url)  # people exist: only the demo users are made
    first = {u.name: u.password for u in seed_demo(settings).users}
    with TestClient(create_app(settings)) as browser:
        sign_in(browser, "hr", first["hr"])
        cookie = browser.cookies[SESSION_COOKIE]
    again = {u.name: u.password for u in seed_demo(settings).users}  # `testrota demo` again
    assert again == first and len(set(first.values())) == len(first)
    with TestClient(create_app(settings), cookies={SESSION_COOKIE: cookie}) as restarted:
        assert restarted.get("/api/session").status_code == 200
    elsewhere = demo_settings(database_url).model_copy(update={"secret_key": "o" * 48})
    assert {u.name: u.password for u in seed_demo(elsewhere).users} != first

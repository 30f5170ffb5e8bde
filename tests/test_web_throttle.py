"""Sign-in throttling slows guessing without letting anyone lock a user out (issue 11, item 14).

The attack: from one address, hammer a user's name with wrong passwords; before, that paused
the name everywhere, so the user could not sign in from their own desk. Failures now count per
user name and address; the wide limits (per address, per name from everywhere) are higher, and
an address the user signed in from recently is exempt from them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.auth.throttle import ThrottleRule
from testrota.auth.users import SignInRefused, sign_in
from testrota.db.engine import session_scope
from testrota.db.models import LoginAttempt
from testrota.settings import Settings
from testrota.web.app import create_app
from testrota.web.security import forwarded_client
from tests.web_support import PASSWORD, csrf_of, make_user, web_settings_for

pytest_plugins = ("tests.web_fixtures",)

ATTACKER, DESK, HOME = "203.0.113.9", "10.1.2.3", "198.51.100.7"
T0 = datetime(2022, 5, 11, 2, 0, tzinfo=UTC)


def at(app: FastAPI, address: str, **headers: str) -> TestClient:
    """A browser at ``address`` (the TCP peer the server sees)."""
    return TestClient(app, client=(address, 40000), headers={"Accept-Language": "en", **headers})


def attempt(client: TestClient, name: str, password: str) -> int:
    token = csrf_of(client)
    r = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return r.status_code


def test_an_attacker_at_one_address_cannot_lock_the_user_out(
    web_settings: Settings, engine: Engine
) -> None:
    make_user(engine, "hr1", "hr")
    app = create_app(web_settings)
    with at(app, ATTACKER) as attacker:
        assert [attempt(attacker, "hr1", f"guess-{i}") for i in range(5)] == [400] * 5
        assert attempt(attacker, "hr1", "guess-5") == 429
        assert attempt(attacker, "hr1", PASSWORD) == 429  # paused there, even when right
    with at(app, DESK) as user:  # an address never seen before
        assert attempt(user, "hr1", PASSWORD) == 303
        assert user.get("/api/session").status_code == 200


def test_one_address_trying_many_names_is_paused(web_settings: Settings, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    app = create_app(web_settings)
    with at(app, ATTACKER) as attacker:
        statuses = [attempt(attacker, f"user{i}", "password-guess") for i in range(31)]
    assert statuses[:30] == [400] * 30 and statuses[30] == 429
    with at(app, ATTACKER) as same_address:
        assert attempt(same_address, "hr1", PASSWORD) == 429
    with at(app, DESK) as user:
        assert attempt(user, "hr1", PASSWORD) == 303


RULE = ThrottleRule(
    max_failures=5,
    max_failures_per_ip=30,
    max_failures_per_name=20,
    window=timedelta(minutes=15),
    name_window=timedelta(hours=1),
    known_address_for=timedelta(days=30),
)


def _try(engine: Engine, password: str, ip: str, when: datetime) -> int:
    """0 when signed in, -1 when refused, else the seconds to wait."""
    with session_scope(engine) as s:
        try:
            sign_in(s, name="hr1", password=password, ip=ip, now=when, rule=RULE)
        except SignInRefused as exc:
            return exc.retry_after or -1
    return 0


def test_guessing_from_many_addresses_is_slowed_but_the_users_own_address_works(
    engine: Engine,
) -> None:
    make_user(engine, "hr1", "hr")
    assert _try(engine, PASSWORD, HOME, T0 - timedelta(days=3)) == 0  # the user's usual place
    botnet = [f"192.0.2.{i}" for i in range(1, 41)]
    for i, ip in enumerate(botnet[:20]):
        assert _try(engine, "guess", ip, T0 + timedelta(seconds=i)) == -1
    # the name is now paused for addresses it has not signed in from, the right password too
    assert _try(engine, "guess", botnet[20], T0 + timedelta(minutes=1)) > 0
    assert _try(engine, PASSWORD, DESK, T0 + timedelta(minutes=1)) > 0
    # but not at home
    assert _try(engine, PASSWORD, HOME, T0 + timedelta(minutes=2)) == 0
    # and the pause ends when the failures leave the hour
    assert _try(engine, PASSWORD, DESK, T0 + timedelta(hours=1, minutes=1)) == 0


def test_a_known_address_still_has_its_own_tight_limit(engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    assert _try(engine, PASSWORD, HOME, T0) == 0
    for i in range(5):
        assert _try(engine, "guess", HOME, T0 + timedelta(minutes=1, seconds=i)) == -1
    assert _try(engine, PASSWORD, HOME, T0 + timedelta(minutes=2)) > 0


def test_the_client_address_behind_proxies() -> None:
    proxies = (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))
    cases = [
        # (peer, X-Forwarded-For headers, trusted, client)
        (ATTACKER, ["1.2.3.4"], proxies, ATTACKER),  # not from a proxy: the header is ignored
        ("127.0.0.1", [], proxies, "127.0.0.1"),
        ("127.0.0.1", [DESK], (), "127.0.0.1"),  # no proxy trusted: ignored
        ("127.0.0.1", [HOME], proxies, HOME),
        ("127.0.0.1", [f"6.6.6.6, {ATTACKER}"], proxies, ATTACKER),  # left of it is forgeable
        ("127.0.0.1", [f"{HOME}, 10.0.0.5"], proxies, HOME),  # a chain of trusted proxies
        ("127.0.0.1", ["6.6.6.6", ATTACKER], proxies, ATTACKER),  # two headers are one list
        ("127.0.0.1", ["not-an-address"], proxies, "127.0.0.1"),
        ("127.0.0.1", ["2001:db8::1"], proxies, "2001:db8::1"),
    ]
    for peer, forwarded, trusted, client in cases:
        assert forwarded_client(peer, forwarded, trusted) == client, (peer, forwarded)


def test_forwarded_addresses_count_only_from_a_trusted_proxy(
    database_url: str, engine: Engine
) -> None:
    make_user(engine, "hr1", "hr")
    direct = create_app(web_settings_for(database_url))
    # not behind a proxy: an attacker rotating X-Forwarded-For is still one address
    statuses = []
    with at(direct, ATTACKER) as attacker:
        for i in range(6):
            attacker.headers["X-Forwarded-For"] = f"192.0.2.{i}"
            statuses.append(attempt(attacker, "hr1", "guess"))
    assert statuses == [400] * 5 + [429]
    proxied = create_app(web_settings_for(database_url, trusted_proxies="127.0.0.1"))
    with at(proxied, "127.0.0.1", **{"X-Forwarded-For": f"6.6.6.6, {DESK}"}) as user:
        assert attempt(user, "hr1", PASSWORD) == 303
    with Session(engine) as s:
        last = s.exec(select(LoginAttempt).order_by(col(LoginAttempt.id).desc())).first()
    assert last is not None and last.ip == DESK and last.ok


def test_a_success_prunes_attempts_the_throttle_no_longer_reads(engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    with session_scope(engine) as s:
        s.add(LoginAttempt(at=T0 - timedelta(days=31), name="x", ip=ATTACKER, ok=False))
        s.add(LoginAttempt(at=T0 - timedelta(days=29), name="hr1", ip=HOME, ok=True))
    assert _try(engine, "guess", DESK, T0) == -1  # a failure prunes nothing
    with Session(engine) as s:
        assert len(s.exec(select(LoginAttempt)).all()) == 3
    assert _try(engine, PASSWORD, DESK, T0) == 0
    with Session(engine) as s:
        kept = s.exec(select(LoginAttempt.name, LoginAttempt.ip)).all()
    assert sorted(kept) == sorted([("hr1", HOME), ("hr1", DESK), ("hr1", DESK)])

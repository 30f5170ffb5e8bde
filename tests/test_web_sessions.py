"""Sign-ins end server-side: a copied cookie is dead after sign-out, a new password, a new role,
disabling the user or "sign out everywhere" (issue 11, security item 7).

Each test acts as the attacker: it copies the session cookie of a signed-in browser, lets the
user (or an admin, or the CLI) do the thing that should end the sign-in, then replays the copy.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from testrota.auth.sessions import hash_token
from testrota.db.models import AuditEvent, User, WebSession
from testrota.settings import Settings
from testrota.web.app import SESSION_COOKIE, create_app
from tests.web_support import (
    NOW,
    PASSWORD,
    csrf_of,
    make_user,
    post_form,
    sign_in,
    soup,
    web_settings_for,
)

pytest_plugins = ("tests.web_fixtures",)

NEW_PASSWORD = "a-brand-new-password"


@pytest.fixture
def app(web_settings: Settings) -> FastAPI:
    return create_app(web_settings)


def browser(app: FastAPI, cookie: str | None = None) -> TestClient:
    cookies = {SESSION_COOKIE: cookie} if cookie else None
    return TestClient(app, cookies=cookies, headers={"Accept-Language": "en"})


def signed_in_copy(app: FastAPI, name: str) -> tuple[TestClient, str]:
    """A browser signed in as ``name``, and a copy of its cookie as an attacker would take it."""
    client = browser(app)
    sign_in(client, name)
    assert client.get("/api/session").status_code == 200
    return client, client.cookies[SESSION_COOKIE]


def assert_signed_out(app: FastAPI, cookie: str) -> None:
    """The copied cookie no longer signs anyone in: 401 on the API, the sign-in page otherwise."""
    with browser(app, cookie) as replay:
        assert replay.get("/api/session").status_code == 401
    with browser(app, cookie) as replay:
        page = replay.get("/people", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        notice = soup(replay.get(page.headers["location"])).select_one('[role="alert"]')
        assert notice is not None and "signed out" in notice.get_text()


def assert_signed_in(app: FastAPI, cookie: str) -> None:
    with browser(app, cookie) as replay:
        assert replay.get("/api/session").status_code == 200


def user_id(engine: Engine, name: str) -> int:
    with Session(engine) as s:
        uid = s.exec(select(User.id).where(User.name == name)).one()
    assert uid is not None
    return uid


def test_a_copied_cookie_is_dead_after_sign_out(app: FastAPI, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    client, copy = signed_in_copy(app, "hr1")
    assert_signed_in(app, copy)
    post_form(client, "/logout", {}, page="/people")
    assert_signed_out(app, copy)
    with Session(engine) as s:
        row = s.exec(select(WebSession)).one()
    assert row.revoked_reason == "sign_out" and row.revoked_at is not None


def test_the_database_keeps_only_a_hash_of_the_token(app: FastAPI, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    _, copy = signed_in_copy(app, "hr1")
    # the cookie as Starlette writes it: base64 JSON, signed with the secret key
    raw = TimestampSigner(str(app.state.settings.secret_key)).unsign(copy)
    sid = json.loads(base64.b64decode(raw))["sid"]
    with Session(engine) as s:
        stored = s.exec(select(WebSession.token_hash)).one()
    assert stored == hash_token(sid) and sid not in stored and len(sid) >= 40


def test_a_new_password_from_the_cli_ends_the_sign_ins(
    app: FastAPI, engine: Engine, cli: Any
) -> None:
    make_user(engine, "sup", "supervisor", ["物流部"])
    _, copy = signed_in_copy(app, "sup")
    result = cli("users", "set-password", "sup", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert_signed_out(app, copy)
    with browser(app) as fresh:  # the new password signs in
        sign_in(fresh, "sup", NEW_PASSWORD)


@pytest.mark.parametrize("change", ["password", "role", "disable"])
def test_an_admins_change_ends_the_users_sign_ins(
    change: str, app: FastAPI, engine: Engine
) -> None:
    make_user(engine, "boss", "admin")
    make_user(engine, "sup", "supervisor", ["物流部"])
    _, copy = signed_in_copy(app, "sup")
    admin, admin_copy = signed_in_copy(app, "boss")
    form = {"role": "supervisor", "departments": "物流部", "language": "en", "active": "1"}
    if change == "password":
        form["password"] = NEW_PASSWORD
    elif change == "role":
        form["role"] = "site"
    else:
        del form["active"]
    r = post_form(admin, f"/admin/users/{user_id(engine, 'sup')}", form, page="/admin/users")
    assert r.status_code == 303, r.text
    assert_signed_out(app, copy)
    assert_signed_in(app, admin_copy)  # the admin's own sign-in is untouched
    with Session(engine) as s:
        change_event = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "user.changed")
            .order_by(col(AuditEvent.id).desc())
        ).first()
    assert change_event is not None and change_event.details["sign_ins_ended"][0] == 1


def test_departments_and_language_leave_sign_ins_alone(app: FastAPI, engine: Engine) -> None:
    make_user(engine, "boss", "admin")
    make_user(engine, "sup", "supervisor", ["物流部"])
    _, copy = signed_in_copy(app, "sup")
    admin, _ = signed_in_copy(app, "boss")
    r = post_form(
        admin,
        f"/admin/users/{user_id(engine, 'sup')}",
        {"role": "supervisor", "departments": "炼钢厂", "language": "zh", "active": "1"},
        page="/admin/users",
    )
    assert r.status_code == 303
    with browser(app, copy) as replay:
        assert replay.get("/api/session").json()["departments"] == ["炼钢厂"]


def test_changing_ones_own_password_keeps_this_sign_in_and_ends_the_others(
    app: FastAPI, engine: Engine
) -> None:
    make_user(engine, "boss", "admin")
    here, here_copy = signed_in_copy(app, "boss")
    _, elsewhere = signed_in_copy(app, "boss")
    r = post_form(
        here,
        f"/admin/users/{user_id(engine, 'boss')}",
        {"role": "admin", "language": "en", "active": "1", "password": NEW_PASSWORD},
        page="/admin/users",
    )
    assert r.status_code == 303
    assert_signed_in(app, here_copy)
    assert_signed_out(app, elsewhere)


def test_signing_in_again_ends_the_browsers_earlier_sign_in(app: FastAPI, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    client, first = signed_in_copy(app, "hr1")
    sign_in(client, "hr1")
    assert client.get("/api/session").status_code == 200
    assert_signed_out(app, first)


def test_sign_out_everywhere_on_the_users_page(app: FastAPI, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    make_user(engine, "gate", "site")
    _, phone = signed_in_copy(app, "gate")
    _, tablet = signed_in_copy(app, "gate")
    hr, _ = signed_in_copy(app, "hr1")
    page = soup(hr.get("/admin/users"))
    gate_row = next(
        tr for tr in page.select("table.users tbody tr") if tr.td and tr.td.get_text() == "gate"
    )
    count = gate_row.select_one("td.sign-ins")
    assert count is not None and count.get_text(" ", strip=True).startswith("2")
    r = post_form(hr, f"/admin/users/{user_id(engine, 'gate')}/sign-out", {}, page="/admin/users")
    assert r.status_code == 303
    assert_signed_out(app, phone)
    assert_signed_out(app, tablet)
    # HR cannot sign an admin out; an unknown or impossible user id is a 404 or 400
    make_user(engine, "boss", "admin")
    r = post_form(hr, f"/admin/users/{user_id(engine, 'boss')}/sign-out", {}, page="/admin/users")
    assert r.status_code == 403
    assert post_form(hr, "/admin/users/999999/sign-out", {}, page="/admin/users").status_code == 404
    assert (
        post_form(
            hr, "/admin/users/99999999999999999999/sign-out", {}, page="/admin/users"
        ).status_code
        == 400
    )


def test_the_cli_signs_out_disables_and_lists(app: FastAPI, engine: Engine, cli: Any) -> None:
    make_user(engine, "sup", "supervisor", ["物流部"])
    _, first = signed_in_copy(app, "sup")
    listed = json.loads(cli("users", "list", "--format", "json", env={"TESTROTA_NOW": NOW}).stdout)
    assert listed[0]["name"] == "sup" and listed[0]["sign_ins"] == 1
    shown = json.loads(
        cli("users", "sessions", "sup", "--format", "json", env={"TESTROTA_NOW": NOW}).stdout
    )
    assert [(s["user"], s["ip"]) for s in shown] == [("sup", "testclient")]
    assert shown[0]["last_seen_at"].startswith("2022-05-11T02:00:00")
    r = cli("users", "sign-out", "sup")
    assert r.exit_code == 0 and "1 sign-in(s) ended" in r.output
    assert_signed_out(app, first)

    _, second = signed_in_copy(app, "sup")
    r = cli("users", "disable", "sup")
    assert r.exit_code == 0, r.output
    assert_signed_out(app, second)
    with browser(app) as fresh:
        refused = fresh.post(
            "/login", data={"username": "sup", "password": PASSWORD, "csrf_token": csrf_of(fresh)}
        )
        assert refused.status_code == 400
    assert cli("users", "enable", "sup").exit_code == 0
    with browser(app) as fresh:
        sign_in(fresh, "sup")
    r = cli("users", "disable", "nobody")
    assert r.exit_code == 2 and "no user named 'nobody'" in r.output


def test_sign_ins_end_across_processes(web_settings: Settings, engine: Engine) -> None:
    """Two web processes (two apps on one database): a sign-out at one ends it at the other."""
    make_user(engine, "hr1", "hr")
    one, other = create_app(web_settings), create_app(web_for(web_settings))
    client, copy = signed_in_copy(one, "hr1")
    assert_signed_in(other, copy)
    post_form(client, "/logout", {}, page="/people")
    assert_signed_out(other, copy)


def web_for(settings: Settings) -> Settings:
    return web_settings_for(settings.database_url)


def test_idle_time_is_judged_from_the_database(web_settings: Settings, engine: Engine) -> None:
    """A request refreshes the sign-in's last-seen time in the database, so the idle limit (two
    hours) counts from the last request, whichever process served it."""
    make_user(engine, "hr1", "hr")

    def app_at(clock: str) -> FastAPI:
        return create_app(web_settings_for(web_settings.database_url, now=clock))

    _, copy = signed_in_copy(app_at("2022-05-11T10:00:00+08:00"), "hr1")
    assert_signed_in(app_at("2022-05-11T11:50:00+08:00"), copy)  # seen again at 11:50
    assert_signed_in(app_at("2022-05-11T13:40:00+08:00"), copy)  # 110 min later: still in
    with browser(app_at("2022-05-11T15:41:00+08:00"), copy) as late:  # 121 min idle
        r = late.get("/people", follow_redirects=False)
        assert r.status_code == 303
        notice = soup(late.get(r.headers["location"])).select_one('[role="alert"]')
        assert notice is not None and "expired" in notice.get_text()


def test_each_request_checks_its_sign_in_outside_a_transaction(
    app: FastAPI, engine: Engine
) -> None:
    """Every signed-in request reads its sign-in first. On PostgreSQL that one statement runs
    in autocommit: a transaction around it was a BEGIN and a COMMIT, two of the four round
    trips of the check. A sign-out still ends the sign-in for the next request at once."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's driver opens no transaction for a read")
    from psycopg.pq import TransactionStatus

    make_user(engine, "hr1", "hr")
    client, cookie = signed_in_copy(app, "hr1")
    lookups: list[TransactionStatus] = []

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "FROM websession JOIN" in statement:
            lookups.append(conn.connection.dbapi_connection.info.transaction_status)

    pooled = app.state.testrota.fresh_engine
    event.listen(pooled, "after_cursor_execute", seen)
    try:
        assert client.get("/api/session").status_code == 200
        assert client.get("/people").status_code == 200
        assert lookups == [TransactionStatus.IDLE, TransactionStatus.IDLE]
        post_form(client, "/logout", {}, page="/people")
        assert_signed_out(app, cookie)
    finally:
        event.remove(pooled, "after_cursor_execute", seen)

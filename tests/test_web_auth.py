"""Sign-in, sessions, CSRF, roles and languages through the real app (TestClient)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import AuditEvent, User
from testrota.settings import Settings
from testrota.web.app import create_app
from tests.web_support import (
    PASSWORD,
    csrf_of,
    make_user,
    post_form,
    sign_in,
    soup,
    two_departments,
    web_settings_for,
)

pytest_plugins = ("tests.web_fixtures",)


def test_healthz_answers_without_sign_in(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


def test_pages_redirect_to_sign_in_and_api_answers_401(client: TestClient) -> None:
    r = client.get("/people?q=x", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fpeople%3Fq%3Dx"
    assert client.get("/api/people").status_code == 401


def test_sign_in_then_out(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    r = sign_in(client, "hr1")
    assert r.headers["location"] == "/"
    page = soup(client.get("/people"))
    assert page.select_one(".who").get_text(strip=True).startswith("hr1")
    nav = [a["href"] for a in page.select("nav.nav a")]
    assert "/roles" in nav and "/upload/roster" in nav
    post_form(client, "/logout", {}, page="/people")
    assert client.get("/people", follow_redirects=False).status_code == 303
    with Session(engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["user.signed_in", "user.signed_out"]


def test_sign_in_follows_next_but_never_off_site(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    token = csrf_of(client)
    for target, expected in [
        ("/people?q=1", "/people?q=1"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
    ]:
        r = client.post(
            "/login",
            data={"username": "hr1", "password": PASSWORD, "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == expected
        token = csrf_of(client, "/people")


def test_wrong_password_and_throttling(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    token = csrf_of(client)
    for _ in range(5):
        r = client.post(
            "/login", data={"username": "hr1", "password": "nope-nope", "csrf_token": token}
        )
        assert r.status_code == 400
        assert soup(r).select_one('[role="alert"]') is not None
    r = client.post("/login", data={"username": "hr1", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0


def test_forms_without_the_csrf_token_are_refused(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    r = client.post("/login", data={"username": "hr1", "password": PASSWORD})
    assert r.status_code == 403
    sign_in(client, "hr1")
    r = client.post(
        "/admin/users",
        data={"name": "x1", "role": "site", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert r.status_code == 403
    with Session(engine) as s:
        assert s.exec(select(User).where(User.name == "x1")).first() is None


def test_session_expires(web_settings: Settings, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    early = create_app(web_settings)
    late = create_app(
        web_settings_for(web_settings.database_url, now="2022-05-12T00:00:00+08:00")
    )  # 14 h later
    with TestClient(early, headers={"Accept-Language": "en"}) as c1:
        sign_in(c1, "hr1")
        assert c1.get("/people").status_code == 200
        cookies = c1.cookies
    with TestClient(late, cookies=dict(cookies), headers={"Accept-Language": "en"}) as c2:
        r = c2.get("/people", follow_redirects=False)
        assert r.status_code == 303
        page = soup(c2.get(r.headers["location"]))
        assert "expired" in page.select_one('[role="alert"]').get_text()


def test_a_tampered_cookie_is_ignored(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    value = client.cookies["testrota_session"]
    tampered = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    # Replace the cookie itself: a second cookie of the same name without the jar's domain
    # would be sent beside the genuine one and prove nothing.
    domain = next(c.domain for c in client.cookies.jar if c.name == "testrota_session")
    client.cookies.clear()
    client.cookies.set("testrota_session", tampered, domain=domain)
    assert client.cookies["testrota_session"] == tampered
    assert client.get("/people", follow_redirects=False).status_code == 303


def test_site_staff_reach_only_check_in_and_status(client: TestClient, engine: Engine) -> None:
    make_user(engine, "gate", "site")
    r = sign_in(client, "gate")
    assert r.headers["location"] == "/checkin"
    assert client.get("/", follow_redirects=False).headers["location"] == "/checkin"
    for path in (
        "/people",
        "/missed",
        "/roles",
        "/outbox",
        "/admin/users",
        "/upload/roster",
        "/api",
        "/api/people",
        "/api/missed",
    ):
        assert client.get(path).status_code == 403, path


def test_language_from_browser_then_user_setting(client: TestClient, engine: Engine) -> None:
    page = soup(client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}))
    assert page.html["lang"] == "en"
    assert page.h1.get_text() == "Sign in"
    page = soup(client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}))
    assert page.html["lang"] == "zh-Hans"
    assert page.h1.get_text() == "登录"
    make_user(engine, "sup", "supervisor", ["炼钢厂"], language="zh")
    sign_in(client, "sup")
    page = soup(client.get("/people", headers={"Accept-Language": "en"}))
    assert page.h1.get_text(strip=True).startswith("人员")
    post_form(client, "/language", {"lang": "en", "next": "/people"}, page="/people")
    page = soup(client.get("/people"))
    assert page.h1.get_text(strip=True).startswith("People")
    with Session(engine) as s:
        assert s.exec(select(User).where(User.name == "sup")).one().language == "en"


def test_admin_page_adds_and_changes_users(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    two_departments(engine)
    sign_in(client, "hr1")
    r = post_form(
        client,
        "/admin/users",
        {
            "name": "sup2",
            "role": "supervisor",
            "departments": "物流部，炼钢厂",
            "language": "zh",
            "password": "a-good-password",
        },
        page="/admin/users",
    )
    assert r.status_code == 303
    r = post_form(
        client,
        "/admin/users",
        {"name": "boss", "role": "admin", "password": "a-good-password"},
        page="/admin/users",
    )
    assert r.status_code == 403  # HR cannot create admins
    r = post_form(
        client,
        "/admin/users",
        {"name": "sup3", "role": "supervisor", "password": "a-good-password"},
        page="/admin/users",
    )
    assert r.status_code == 400
    assert "department" in soup(r).select_one('[role="alert"]').get_text()
    with Session(engine) as s:
        sup2 = s.exec(select(User).where(User.name == "sup2")).one()
        assert sup2.departments == ["物流部", "炼钢厂"]
    r = post_form(
        client,
        f"/admin/users/{sup2.id}",
        {"role": "supervisor", "departments": "物流部", "language": "en"},
        page="/admin/users",
    )
    assert r.status_code == 303
    with Session(engine) as s:
        sup2 = s.exec(select(User).where(User.name == "sup2")).one()
        assert sup2.departments == ["物流部"] and not sup2.active
        changes = s.exec(select(AuditEvent).where(AuditEvent.action == "user.changed")).all()
        assert changes and changes[-1].actor == "web:hr1"

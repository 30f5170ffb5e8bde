"""Every answer carries the security headers, HTML pages the content policy as well, and a
request with a NUL character in it is refused before it reaches the session or the database."""

from __future__ import annotations

from fastapi.testclient import TestClient

from testrota.web.app import SESSION_COOKIE

pytest_plugins = ("tests.web_fixtures",)


def test_a_page_carries_the_security_headers_and_the_content_policy(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_json_carries_the_headers_without_the_page_policy(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in answer.headers


def test_answers_other_than_the_apps_own_files_are_not_kept_by_the_browser(
    client: TestClient,
) -> None:
    """JSON and exports too (HR's export holds whole numbers: not for a shared PC's cache)."""
    for url in ("/healthz", "/api/session", "/login"):
        assert client.get(url).headers["cache-control"] == "no-store", url
    static = client.get("/static/app.css")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"


def test_a_nul_in_the_path_or_the_query_is_refused_with_a_message(client: TestClient) -> None:
    for url in ("/login?next=%00", "/api/status/E1%00"):
        answer = client.get(url)
        assert answer.status_code == 400, url
        assert answer.json() == {"detail": "the request contains a NUL character"}
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")

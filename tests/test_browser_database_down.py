"""Signing in on a phone while the database cannot be reached, in a real browser against
``testrota serve``: a page in the phone's language saying to try again in a minute, which axe
finds nothing wrong with (it was "Internal Server Error" in plain text)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_browser_axe import violations
from tests.web_support import PHONE, free_port, running_server, skip_without_browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_without_browser(), reason="needs chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def down() -> Iterator[str]:
    """``testrota serve`` whose database is a port nobody listens on; its base URL."""
    nobody = free_port()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{nobody}/test"
    with running_server(url, healthy=False) as base:
        yield base


@pytest.mark.parametrize(
    ("lang", "says"),
    [
        ("zh-CN", "暂时无法连接数据库，请一分钟后再试。"),
        ("en-US", "The database cannot be reached just now. Try again in a minute."),
    ],
)
def test_signing_in_on_a_phone_while_the_database_is_down(
    browser: Any, down: str, lang: str, says: str
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale=lang)
    try:
        page = context.new_page()
        page.goto(f"{down}/login")
        page.fill('input[name="username"]', "hr1")
        page.fill('input[name="password"]', "whatever-it-is")
        with page.expect_response(lambda r: r.url.endswith("/login")) as answered:
            page.click("button.primary")
        assert answered.value.status == 503
        page.wait_for_load_state()
        assert says in page.inner_text("main")
        assert violations(page) == []
    finally:
        context.close()

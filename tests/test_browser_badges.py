"""In a real browser (Debian's chromium through Playwright, against ``testrota serve``): HR,
signed in, is on another site whose image, form and link name the badge sheet. The image and
the form print nothing; the link (the sheet's old download address) shows the form filled in
and prints nothing; the form's button prints it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.audit import Action
from testrota.db.models import AuditEvent
from tests.web_support import (
    DESKTOP,
    make_user,
    running_server,
    sign_in_page,
    skip_without_browser,
    week19,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_without_browser(), reason="needs chromium at /usr/bin/chromium"),
]


def _printed(engine: Engine) -> list[str]:
    with Session(engine) as s:
        query = select(AuditEvent).where(AuditEvent.action == Action.BADGES_PRINTED.value)
        return [e.actor for e in s.exec(query)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_link_to_a_badge_sheet_asks_and_the_button_prints(
    browser: Any, database_url: str, engine: Engine, lang: str
) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr", language=lang)
    with running_server(database_url) as base:
        context = browser.new_context(
            viewport=DESKTOP, locale="zh-CN" if lang == "zh" else "en", accept_downloads=True
        )
        page = context.new_page()
        sign_in_page(page, base, "hr1")
        old = f"{base}/badges?department=%E7%82%BC%E9%92%A2%E5%8E%82&format=pdf&download=1"
        # Another site (localhost is not 127.0.0.1's site): its image, its auto-sent form,
        # and its link, followed (a top-level GET carries the SameSite=Lax cookie).
        page.goto(base.replace("127.0.0.1", "localhost") + "/healthz")
        page.set_content(
            f'<img src="{old}"><iframe name="sink"></iframe>'
            f'<form method="post" action="{base}/badges" target="sink" id="f">'
            '<input name="department" value="炼钢厂"><input name="format" value="pdf"></form>'
            f'<a id="link" href="{old}">badges</a>'
            "<script>document.getElementById('f').submit()</script>"
        )
        page.wait_for_timeout(1000)
        assert _printed(engine) == []
        page.click("#link")
        page.wait_for_timeout(1000)  # a download (as before) would have been printed by now
        assert _printed(engine) == []
        page.wait_for_url(f"{base}/badges?*")
        # The old download address: the form, filled in; nothing printed.
        assert page.locator("form.badges-form").count() == 1
        assert page.input_value('select[name="department"]') == "炼钢厂"
        note = page.inner_text(".flash.warn")
        assert ("按“下载”后才生成码卡" if lang == "zh" else "press Download") in note
        assert _printed(engine) == []
        with page.expect_download() as download:
            page.click("form.badges-form button.primary")
        path = download.value.path()
        with open(path, "rb") as f:
            assert f.read(5) == b"%PDF-"
        assert download.value.suggested_filename.endswith(".pdf")
        assert _printed(engine) == ["web:hr1"]
        context.close()

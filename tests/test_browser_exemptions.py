"""HR exempts a person and ends the exemption early, in chromium against ``testrota serve``: a
mistake answered beside its field in Chinese, the exemption added, the confirmation, the end;
axe over each page on the way, on a desktop and on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import Appointment, Exemption
from tests.test_browser_axe import violations
from tests.web_support import (
    DESKTOP,
    PHONE,
    make_user,
    running_server,
    sign_in_page,
    skip_without_browser,
    week19,
)


def fits(page: Any, viewport: dict[str, int]) -> bool:
    """No sideways scrolling: on a phone each exemption is a card, its End… on the screen."""
    return bool(page.evaluate(f"document.documentElement.scrollWidth <= {viewport['width']}"))


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_without_browser(), reason="needs chromium at /usr/bin/chromium"),
]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_hr_exempts_a_person_and_ends_it_early(
    browser: Any, database_url: str, engine: Engine, viewport: dict[str, int]
) -> None:
    ids = week19(engine)
    make_user(engine, "hr1", "hr", language="zh")
    with running_server(database_url) as base:
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        sign_in_page(page, base, "hr1")
        if viewport is DESKTOP:
            page.click('nav.nav a[href="/exemptions"]')
        else:
            page.goto(f"{base}/exemptions")
        page.wait_for_url("**/exemptions")
        assert page.locator("h1").inner_text().startswith("豁免")
        assert violations(page) == []

        form = page.locator("form.add-exemption")
        form.locator('input[name="employee_no"]').fill("A001")
        form.locator('input[name="start"]').fill("2022-05-12")
        form.locator('input[name="end"]').fill("2022-05-10")  # before the first day
        form.locator('input[name="reason"]').fill("病假")
        form.locator("button.primary").click()
        page.wait_for_load_state()
        error = page.locator("#error-end")
        assert error.inner_text() == "豁免的结束日期（2022-05-10）早于开始日期（2022-05-12）"
        end = form.locator('input[name="end"]')
        assert end.get_attribute("aria-invalid") == "true"
        assert form.locator('input[name="employee_no"]').input_value() == "A001"  # kept
        assert violations(page) == []

        end.fill("2022-05-13")
        form.locator("button.primary").click()
        page.wait_for_url("**/exemptions")
        assert "已豁免 张伟（A001），2022-05-12 至 2022-05-13：1 个预约已免检。" in (
            page.locator(".flash.ok").inner_text()
        )
        row = page.locator('table.exemptions tbody tr[data-employee="A001"]')
        assert row.count() == 1
        assert "未开始" in row.inner_text()
        assert fits(page, viewport)
        box = row.locator("a.end").bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport["width"]

        row.locator("a.end").click()
        page.wait_for_url("**/end")
        assert page.locator("h1").inner_text() == "结束豁免"
        assert fits(page, viewport)
        assert violations(page) == []
        page.fill('input[name="back_on"]', "2022-05-13")
        page.click("form.end-exemption button.primary")
        page.wait_for_url("**/exemptions")
        assert "现于 2022-05-12 结束" in page.locator(".flash.ok").inner_text()
        context.close()
    with Session(engine) as s:
        [exemption] = s.exec(select(Exemption)).all()
        appointment = s.get(Appointment, ids["A001-thu"])
    assert (exemption.start_date.isoformat(), exemption.end_date.isoformat()) == (
        "2022-05-12",
        "2022-05-12",
    )
    assert appointment is not None and appointment.status == "excused"  # Thursday is still off

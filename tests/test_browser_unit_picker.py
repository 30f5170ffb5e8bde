"""In a real browser: HR gives a supervisor several units in one field on /admin/users, the
suggestion list completing each unit in turn (by mouse on a desktop, by keyboard on a phone)
and keeping the ones already chosen (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tests.test_browser_axe import violations
from tests.test_browser_units import _units_of, _user_events
from tests.test_group_scope import _two_companies
from tests.web_support import (
    DESKTOP,
    PASSWORD,
    PHONE,
    make_user,
    running_server,
    sign_in_page,
    skip_without_browser,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_without_browser(), reason="needs chromium at /usr/bin/chromium"),
]


def _offered(field: Any) -> list[str]:
    listbox = field.page.locator("#" + str(field.get_attribute("aria-controls")))
    listbox.locator("li").first.wait_for()
    return [str(li.get_attribute("data-path")) for li in listbox.locator("li").all()]


@pytest.mark.parametrize(("lang", "viewport"), [("zh", PHONE), ("en", DESKTOP)])
def test_hr_chooses_several_units_in_one_field_from_the_suggestions(
    browser: Any,
    database_url: str,
    engine: Engine,
    lang: str,
    viewport: dict[str, int],
) -> None:
    _two_companies(engine)  # 炼钢厂 under 板材公司, and a namesake 炼钢厂 under 北营公司
    make_user(engine, "hr1", "hr", language=lang)
    with running_server(database_url) as base:
        context = browser.new_context(viewport=viewport, locale="zh-CN" if lang == "zh" else "en")
        page = context.new_page()
        sign_in_page(page, base, "hr1")
        page.goto(f"{base}/admin/users")
        form = page.locator('form[action="/admin/users"][method="post"]')
        form.locator('input[name="name"]').fill("sup9")
        form.locator('select[name="role"]').select_option("supervisor")
        field = form.locator('input[name="units"]')
        # the first unit: both 炼钢厂 are offered with their whole paths
        field.press_sequentially("炼钢")
        assert _offered(field) == ["本钢集团/北营公司/炼钢厂", "本钢集团/板材公司/炼钢厂"]
        assert field.get_attribute("aria-expanded") == "true"
        assert violations(page) == []
        if viewport is PHONE:
            field.press("ArrowDown")
            field.press("ArrowDown")
            field.press("Enter")  # chooses the unit; does not send the form
        else:
            page.locator('li[data-path="本钢集团/板材公司/炼钢厂"]').click()
        assert field.input_value() == "本钢集团/板材公司/炼钢厂, "
        # the second unit is completed on its own; the first is kept and no longer offered
        field.press_sequentially("北营")
        assert _offered(field) == ["本钢集团/北营公司", "本钢集团/北营公司/炼钢厂"]
        if viewport is PHONE:
            field.press("ArrowDown")
            field.press("Enter")
        else:
            page.locator('li[data-path="本钢集团/北营公司"]').click()
        assert field.input_value() == "本钢集团/板材公司/炼钢厂, 本钢集团/北营公司, "
        field.press_sequentially("板材")
        assert "本钢集团/板材公司/炼钢厂" not in _offered(field)  # already chosen
        field.press("Escape")
        field.fill(field.input_value().removesuffix("板材"))
        form.locator('input[name="password"]').fill(PASSWORD)
        form.locator("button.primary").click()
        page.wait_for_load_state()
        chosen = ["本钢集团/板材公司/炼钢厂", "本钢集团/北营公司"]
        assert _units_of(engine, "sup9") == chosen
        [added] = _user_events(engine, "sup9")
        assert added.action == "user.added" and added.details["units"] == chosen

        # a user's row: a third unit added to the two, by the same suggestions
        row = page.locator("table.users tr", has_text="sup9")
        units = row.locator('input[name="units"]')
        units.click()
        units.press("End")
        units.press_sequentially(", 物流")
        assert _offered(units) == ["本钢集团/物流部"]
        if viewport is PHONE:
            units.press("ArrowDown")
            units.press("Enter")
        else:
            page.locator('li[data-path="本钢集团/物流部"]').click()
        row.locator("button").first.click()
        page.wait_for_load_state()
        assert _units_of(engine, "sup9") == [*chosen, "本钢集团/物流部"]
        changed = _user_events(engine, "sup9")[-1]
        assert changed.action == "user.changed"
        assert changed.details["units"] == [chosen, [*chosen, "本钢集团/物流部"]]
        context.close()

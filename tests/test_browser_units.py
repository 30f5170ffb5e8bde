"""In a real browser (chromium through Playwright, against ``testrota serve``), supervisors by
unit (issue 15) as HR and supervisors use them: HR gives a supervisor a unit on the users
page (found by searching its path) and the supervisor then sees that unit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.db.models import AuditEvent, User
from tests.test_browser_axe import violations
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


def _user_events(engine: Engine, name: str) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditEvent)
                .where(col(AuditEvent.action).startswith("user."), AuditEvent.entity_id == name)
                .order_by(col(AuditEvent.id))
            )
        )


def _units_of(engine: Engine, name: str) -> list[str]:
    with Session(engine) as s:
        return list(s.exec(select(User).where(User.name == name)).one().units)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_hr_gives_a_supervisor_a_unit_found_by_its_path_and_changes_it(
    browser: Any, database_url: str, engine: Engine, lang: str
) -> None:
    _two_companies(engine)  # 炼钢厂 under 板材公司, and a namesake 炼钢厂 under 北营公司
    make_user(engine, "hr1", "hr", language=lang)
    with running_server(database_url) as base:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN" if lang == "zh" else "en")
        page = context.new_page()
        sign_in_page(page, base, "hr1")
        page.goto(f"{base}/admin/users")
        # the tree is offered to choose from
        offered = page.eval_on_selector_all("datalist#units option", "els => els.map(e => e.value)")
        assert "本钢集团/板材公司" in offered and "本钢集团/北营公司/炼钢厂" in offered
        # search by part of a path: both 炼钢厂 are found, each with its whole path
        page.fill('input[name="find"]', "炼钢")
        page.press('input[name="find"]', "Enter")
        page.wait_for_load_state()
        found = page.locator("ul.found-units code").all_inner_texts()
        assert "本钢集团/板材公司/炼钢厂" in found and "本钢集团/北营公司/炼钢厂" in found
        assert violations(page) == []
        # add a supervisor with a unit typed without the root's name
        form = page.locator('form[action="/admin/users"][method="post"]')
        form.locator('input[name="name"]').fill("sup9")
        form.locator('select[name="role"]').select_option("supervisor")
        form.locator('input[name="units"]').fill("板材公司")
        form.locator('input[name="password"]').fill(PASSWORD)
        form.locator("button.primary").click()
        page.wait_for_load_state()
        row = page.locator("table.users tr", has_text="sup9")
        assert row.locator('input[name="units"]').input_value() == "本钢集团/板材公司"
        assert _units_of(engine, "sup9") == ["本钢集团/板材公司"]
        [added] = _user_events(engine, "sup9")
        assert added.action == "user.added" and added.details["units"] == ["本钢集团/板材公司"]
        # an unknown unit is refused in the reader's language and nothing changes
        row.locator('input[name="units"]').fill("鞍钢")
        row.locator("button").first.click()
        page.wait_for_load_state()
        error = page.locator("p.flash.error").inner_text()
        assert ("没有单位" if lang == "zh" else "no unit") in error
        assert _units_of(engine, "sup9") == ["本钢集团/板材公司"]
        # change it to the other company's unit
        row = page.locator("table.users tr", has_text="sup9")
        row.locator('input[name="units"]').fill("本钢集团/北营公司")
        row.locator("button").first.click()
        page.wait_for_load_state()
        assert _units_of(engine, "sup9") == ["本钢集团/北营公司"]
        changed = _user_events(engine, "sup9")[-1]
        assert changed.action == "user.changed"
        assert changed.details["units"] == [["本钢集团/板材公司"], ["本钢集团/北营公司"]]
        # the supervisor now sees 北营公司's person only
        sup = browser.new_context(viewport=DESKTOP, locale="zh-CN" if lang == "zh" else "en")
        sup_page = sup.new_page()
        sign_in_page(sup_page, base, "sup9")
        sup_page.goto(f"{base}/people")
        numbers = sup_page.locator("table.people tbody td:nth-of-type(1)").all_inner_texts()
        assert numbers == ["X001"]
        sup.close()
        context.close()


def _supervisor(engine: Engine, name: str, units: list[str], lang: str) -> None:
    from datetime import UTC, datetime

    from testrota.auth.users import add_user
    from testrota.db.engine import session_scope

    with session_scope(engine) as s:
        add_user(
            s,
            name=name,
            role="supervisor",
            password=PASSWORD,
            units=units,
            language=lang,
            now=datetime(2022, 5, 1, tzinfo=UTC),
        )


def _static_plates(engine: Engine, database_url: str) -> None:
    """板材公司 in static control for the week of NOW (Wednesday 2022-05-11)."""
    from datetime import date

    from testrota.actions.modes import SetMode, set_mode
    from testrota.app import build_app
    from testrota.audit import Actor
    from tests.web_support import web_settings_for

    app = build_app(web_settings_for(database_url), engine=engine)
    set_mode(
        app,
        SetMode(
            "板材公司",
            "static",
            date(2022, 5, 9),
            "区域出现阳性病例",
            Actor.cli("hr1"),
            end=date(2022, 5, 15),
        ),
    )


@pytest.mark.parametrize(("lang", "viewport"), [("zh", PHONE), ("en", DESKTOP)])
def test_a_unit_supervisor_sees_the_mode_their_unit_is_in_and_what_it_means(
    browser: Any, database_url: str, engine: Engine, lang: str, viewport: dict[str, int]
) -> None:
    _two_companies(engine)
    _static_plates(engine, database_url)
    _supervisor(engine, "steel", ["本钢集团/板材公司/炼钢厂"], lang)
    _supervisor(engine, "north", ["本钢集团/北营公司"], lang)
    make_user(engine, "hr1", "hr", language=lang)
    locale = "zh-CN" if lang == "zh" else "en"
    with running_server(database_url) as base:
        context = browser.new_context(viewport=viewport, locale=locale)
        page = context.new_page()
        sign_in_page(page, base, "steel")
        page.goto(f"{base}/")
        row = page.locator("table.unit-modes tbody tr")
        assert row.count() == 1
        assert row.get_attribute("data-unit") == "本钢集团/板材公司/炼钢厂"
        text = row.inner_text()
        # the badge says the mode in words (not by colour alone), the period and the reason
        assert ("静态管控" if lang == "zh" else "static control") in text
        assert "2022-05-09" in text and "2022-05-15" in text and "区域出现阳性病例" in text
        assert "本钢集团/板材公司" in row.locator("td").first.inner_text()  # where it was set
        meaning = row.locator("td.meaning").inner_text()
        assert ("每天检测" if lang == "zh" else "tested every day") in meaning
        assert violations(page) == []
        # the other company's supervisor is told everything is normal for them
        other = browser.new_context(viewport=viewport, locale=locale)
        other_page = other.new_page()
        sign_in_page(other_page, base, "north")
        other_page.goto(f"{base}/")
        assert other_page.locator("table.unit-modes").count() == 0
        assert other_page.locator("section.modes p.all-normal").count() == 1
        # HR sees the one change, on the unit it was set on, and how many units follow it
        office = browser.new_context(viewport=DESKTOP, locale=locale)
        hr_page = office.new_page()
        sign_in_page(hr_page, base, "hr1")
        hr_page.goto(f"{base}/")
        hr_rows = hr_page.locator("table.unit-modes tbody tr")
        assert hr_rows.count() == 1
        assert hr_rows.get_attribute("data-unit") == "本钢集团/板材公司"
        for c in (context, other, office):
            c.close()


def _sampled(engine: Engine, employee_no: str, at: str) -> None:
    from testrota.db.engine import session_scope
    from testrota.db.models import Person, TestResult
    from tests.web_support import local

    with session_scope(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == employee_no)).one()
        assert person.id is not None
        s.add(
            TestResult(
                person_id=person.id,
                sampled_at=local(at),
                result="negative",
                source="checkin",
                site_code="S1",
                recorded_at=local(at),
            )
        )


@pytest.mark.parametrize(("lang", "viewport"), [("zh", PHONE), ("en", DESKTOP)])
def test_the_daily_report_shows_the_units_weekly_trend_with_weeks_without_data_as_such(
    browser: Any, database_url: str, engine: Engine, lang: str, viewport: dict[str, int]
) -> None:
    import json
    import urllib.request

    from tests.web_support import add_slot, book

    _two_companies(engine)  # A001 (板材公司) is due Monday 2022-05-09 and untested since
    week18 = add_slot(engine, "2022-05-03 08:00")
    book(engine, "A001", week18, "done")
    _sampled(engine, "A001", "2022-05-03 08:05")
    book(engine, "X001", week18, "missed")  # 北营公司's: not in this supervisor's trend
    _supervisor(engine, "plates", ["本钢集团/板材公司"], lang)
    locale = "zh-CN" if lang == "zh" else "en"
    with running_server(database_url) as base:
        context = browser.new_context(viewport=viewport, locale=locale)
        page = context.new_page()
        sign_in_page(page, base, "plates")
        page.goto(f"{base}/report/daily")  # yesterday, 2022-05-10, of their one unit
        rows = page.locator("table.trend tbody tr")
        assert rows.count() == 8
        weeks = [rows.nth(i).get_attribute("data-week") for i in range(8)]
        assert weeks[0] == "2022-W12" and weeks[-2:] == ["2022-W18", "2022-W19"]
        no_data = "无数据" if lang == "zh" else "no data"
        for i in range(6):  # nobody was due: no data, not 0 %
            assert rows.nth(i).locator("td.rate").inner_text().strip() == no_data
        assert rows.nth(6).locator("td.rate").inner_text().strip() == "100.0%"
        assert rows.nth(7).locator("td.rate").inner_text().strip() == "0.0%"  # a real nought
        assert violations(page) == []
        # the same trend as JSON, from the page's own link and session
        href = page.locator("section.trend a", has_text="JSON").get_attribute("href")
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
        request = urllib.request.Request(base + str(href), headers={"Cookie": cookies})
        with urllib.request.urlopen(request, timeout=10) as r:
            body = json.loads(r.read())
        assert body["unit"] == "本钢集团/板材公司"
        assert [w["rate"] for w in body["weeks"]] == [None] * 6 + [1.0, 0.0]
        assert body["weeks"][-1]["required"] == 1 and body["weeks"][-1]["last"] == "2022-05-10"
        # another company's trend is nobody's business here
        other = page.goto(f"{base}/report/daily/trend.json?unit=北营公司")
        assert other is not None and other.status == 404
        context.close()

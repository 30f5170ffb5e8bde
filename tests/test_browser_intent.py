"""In a real browser (Debian's chromium through Playwright, against ``testrota serve``), as the
people who use these pages: HR on a 1366×768 desktop remapping a title with the keyboard, site
staff at a tent on a 390×844 phone, an employee opening the link from a text on a phone. In
Chinese and English."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.db.models import AuditEvent, Person
from testrota.notify.links import make_personal_token
from tests.web_support import (
    DESKTOP,
    PHONE,
    add_people,
    add_site,
    add_slot,
    book,
    make_user,
    running_server,
    sign_in_page,
    skip_without_browser,
    two_departments,
    web_settings_for,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_without_browser(), reason="needs chromium at /usr/bin/chromium"),
]


def _phone(browser: Any, locale: str) -> Any:
    return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale=locale)


def _risk_events(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(col(AuditEvent.action).startswith("risk."))))


def _fits_sideways(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_hr_remaps_a_title_with_the_keyboard_only_on_purpose(
    browser: Any, database_url: str, engine: Engine, lang: str
) -> None:
    two_departments(engine)
    add_people(
        engine,
        [
            {
                "employee_no": f"C00{i}",
                "name": f"工人{i}",
                "department": "物流部",
                "grid_unit": "物流二组",
                "role": "炉前工",
                "phone": f"+861390000010{i}",
            }
            for i in range(1, 4)
        ],
    )
    make_user(engine, "hr1", "hr", language=lang)
    with running_server(database_url) as base:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN" if lang == "zh" else "en")
        page = context.new_page()
        sign_in_page(page, base, "hr1")
        page.goto(f"{base}/roles")
        page.click('tr[data-role="炉前工"][data-department="炼钢厂"] a.change')
        page.wait_for_url("**/roles/change?*")
        form_url = page.url
        # What went wrong before: one ArrowDown on the category select remapped a title.
        page.focus('select[name="category"]')
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.wait_for_timeout(300)  # a change handler that submits would have navigated by now
        assert page.url == form_url
        assert _risk_events(engine) == []
        # The button without a scope or reason: the form says what is missing, nothing changes.
        page.click("form.role-change button.primary")
        page.wait_for_load_state()
        assert page.locator("#error-scope").count() == 1
        assert page.locator("#error-reason").count() == 1
        page.check('input[name="scope"][value="all"]')
        page.select_option('select[name="category"]', "cleaning")
        page.fill('textarea[name="reason"]', "炉台清洁 cleans the furnace deck")
        page.click("form.role-change button.primary")
        page.wait_for_load_state()
        count = page.locator(".review .count")
        assert count.get_attribute("data-affected") == "4"
        assert (
            "此修改涉及 4 人" if lang == "zh" else "This changes 4 people"
        ) in count.inner_text()
        assert _risk_events(engine) == []
        page.click("form.confirm button.primary")
        page.wait_for_url("**/roles*")
        assert "4" in page.inner_text(".flash")
        with Session(engine) as s:
            cleaning = s.exec(select(Person).where(Person.risk_category == "cleaning")).all()
            assert sorted(p.employee_no for p in cleaning) == ["A002", "C001", "C002", "C003"]
            (event,) = s.exec(select(AuditEvent).where(AuditEvent.action == "risk.role_override"))
            assert event.actor == "web:hr1"
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_site_staff_set_the_devices_site_once(
    browser: Any, database_url: str, engine: Engine, lang: str
) -> None:
    two_departments(engine)
    add_site(engine, "S1", "一号检测点")
    add_site(engine, "S2", "二号检测点")
    slot = add_slot(engine, "2022-05-11 09:45", site="S2", minutes=30)
    book(engine, "A001", slot)
    make_user(engine, "gate1", "site", language=lang)
    make_user(engine, "gate2", "site", language=lang)
    with running_server(database_url) as base:
        context = _phone(browser, "zh-CN" if lang == "zh" else "en")
        page = context.new_page()
        sign_in_page(page, base, "gate1")
        assert page.url.endswith("/checkin")
        assert page.locator("input.scan").count() == 0  # no scanning before the site is known
        page.select_option('form.site-choice select[name="site"]', "S2")
        page.click("form.site-choice button.primary")
        page.wait_for_load_state()
        banner = page.locator(".site-banner")
        assert banner.get_attribute("data-site") == "S2"
        assert page.inner_text(".site-banner .site-name") == "二号检测点"
        size = page.eval_on_selector(
            ".site-banner .site-name", "el => parseFloat(getComputedStyle(el).fontSize)"
        )
        assert size >= 24  # readable from arm's length
        field = page.locator("input.scan")
        assert field.evaluate("el => el === document.activeElement")
        field.fill("A001")
        field.press("Enter")
        page.wait_for_load_state()
        assert "green" in (page.get_attribute(".answer", "class") or "")
        assert _fits_sideways(page)
        # the next shift signs in on the same phone: the site is still set
        page.click("header .account form[action='/logout'] button")
        page.wait_for_load_state()
        sign_in_page(page, base, "gate2")
        assert page.get_attribute(".site-banner", "data-site") == "S2"
        context.close()


def _person_id(engine: Engine, employee_no: str) -> int:
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == employee_no)).one()
        return person.id or 0


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_employee_books_a_makeup_and_stops_texts_on_purpose(
    browser: Any, database_url: str, engine: Engine, lang: str
) -> None:
    two_departments(engine)
    add_site(engine, "S1", "一号检测点")
    mon = add_slot(engine, "2022-05-09 08:00")
    thu = add_slot(engine, "2022-05-12 09:00")
    add_slot(engine, "2022-05-13 09:00")
    appt = book(engine, "B002", mon, status="missed")
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == "B002")).one()
        person.language = lang
        s.add(person)
        s.commit()
    token = make_personal_token(web_settings_for(database_url), _person_id(engine, "B002"))
    with running_server(database_url) as base:
        context = _phone(browser, "zh-CN")
        page = context.new_page()
        page.goto(f"{base}/me/{token}")
        item = page.locator(f'li[data-id="{appt}"]')
        assert item.locator(".site-name").inner_text() == "一号检测点"
        item.locator("a.button").click()
        page.wait_for_load_state()
        assert page.locator("#choices").get_attribute("data-mode") == "makeup"
        assert page.locator("details.day").count() == 2
        page.click(".choices button.primary")  # the first slot of the first day is chosen
        page.wait_for_load_state()
        assert page.locator(f'li[data-id="{appt}"] .made-up').count() == 1
        assert _fits_sideways(page)
        # stopping texts asks once
        page.click("#texts ~ form button.danger")
        page.wait_for_load_state()
        assert page.locator("form.confirm-stop").count() == 1
        with Session(engine) as s:
            assert s.get(Person, _person_id(engine, "B002")).opted_out is False  # type: ignore[union-attr]
        page.click("form.confirm-stop button.danger")
        page.wait_for_load_state()
        with Session(engine) as s:
            assert s.get(Person, _person_id(engine, "B002")).opted_out is True  # type: ignore[union-attr]
            booked = s.exec(
                select(AuditEvent).where(AuditEvent.action == "appointment.rescheduled")
            ).one()
            assert booked.actor == "me:B002" and booked.details["slot_id"] == thu
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_expired_link_on_a_phone(
    browser: Any, database_url: str, engine: Engine, lang: str
) -> None:
    two_departments(engine)
    old = make_personal_token(
        web_settings_for(database_url),
        _person_id(engine, "A001"),
        datetime(2022, 4, 1, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    with running_server(database_url) as base:
        context = _phone(browser, "zh-CN" if lang == "zh" else "en")
        page = context.new_page()
        response = page.goto(f"{base}/me/{old}")
        assert response is not None and response.status == 404
        assert page.inner_text("h1") == (
            "此链接已过期" if lang == "zh" else "This link has expired"
        )
        assert page.locator(".link-refused li").count() == 3
        # nothing to click leads to the staff sign-in
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.pathname)")
        assert "/" not in hrefs and "/login" not in hrefs
        assert _fits_sideways(page)
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_menu_fits_one_line_at_1366(
    browser: Any, database_url: str, engine: Engine, lang: str
) -> None:
    make_user(engine, "admin1", "admin", language=lang)  # the longest menu
    with running_server(database_url) as base:
        context = browser.new_context(viewport=DESKTOP, locale="en" if lang == "en" else "zh-CN")
        page = context.new_page()
        sign_in_page(page, base, "admin1")
        tops = page.eval_on_selector_all("nav.nav a", "links => links.map(a => a.offsetTop)")
        assert len(tops) >= 12 and len(set(tops)) == 1, tops
        assert _fits_sideways(page)
        context.close()


def test_the_missed_list_shows_fifteen_rows_and_excuses_in_a_fold(
    browser: Any, database_url: str, engine: Engine
) -> None:
    from testrota.web.demo import seed_demo

    report = seed_demo(web_settings_for(database_url))
    hr = next(u for u in report.users if u.role == "hr")
    with running_server(database_url) as base:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill('input[name="username"]', hr.name)
        page.fill('input[name="password"]', hr.password)
        page.click("button.primary")
        page.wait_for_load_state()
        page.goto(f"{base}/missed")
        rows = page.locator("table.missed tbody tr")
        assert rows.count() >= 15
        visible = page.evaluate(
            """() => [...document.querySelectorAll('table.missed tbody tr')]
                .filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length"""
        )
        assert visible >= 15
        # the excuse opens in its row's fold, and is sent from there
        first = rows.first
        number = first.get_attribute("data-employee")
        first.locator("details.excuse-box summary").click()
        first.locator('input[name="reason"]').fill("病假 sick leave")
        first.locator("form.excuse button").click()
        page.wait_for_load_state()
        assert page.locator(".flash").count() >= 1
        with Session(engine) as s:
            excused = s.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "appointment.excused",
                    col(AuditEvent.actor).startswith("web:"),  # the demo's positive is exempt too
                )
            ).all()
        assert excused and all(e.details.get("employee_no") == number for e in excused)
        context.close()

"""The web app in a real browser: Debian's chromium driven by Playwright against a real
``testrota serve`` on a free port. Screenshots of each page go to a temporary directory, or to
the README's ``docs/screenshots/`` with ``TESTROTA_SCREENSHOTS=docs/screenshots`` (``make
screenshots``): a test run leaves the work tree as it was."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.conftest import ROOT, SAMPLE_ROSTERS
from tests.web_support import (
    PHONE,
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

# Where shot() writes: set for each module run by the fixture below.
SHOTS: Path | None = None
DESKTOP = {"width": 1280, "height": 860}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_without_browser(), reason="needs chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module", autouse=True)
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``TESTROTA_SCREENSHOTS`` (relative to the repository) when set, else a temporary
    directory: the pages are shot either way, so a page that cannot be is found by every run."""
    global SHOTS
    wanted = os.environ.get("TESTROTA_SCREENSHOTS")
    SHOTS = ROOT / wanted if wanted else tmp_path_factory.mktemp("screenshots")
    yield SHOTS
    SHOTS = None


def shot(page: Any, name: str, database_url: str, *, full: bool = True) -> None:
    """Screenshots come from the SQLite run only, so the PostgreSQL run does not redo them.

    Long lists are shot as one screenful (``full=False``) to keep the files small.
    """
    if SHOTS is None:
        raise RuntimeError("shot() outside the screenshots_dir fixture")
    if database_url.startswith("sqlite") and not os.environ.get("TESTROTA_NO_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def test_hr_uploads_a_roster_previews_and_applies(
    browser: Any, database_url: str, engine: Engine
) -> None:
    make_user(engine, "hr1", "hr", language="zh")
    with running_server(database_url) as base:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{base}/login")
        shot(page, "login", database_url)
        sign_in_page(page, base, "hr1")
        page.goto(f"{base}/upload/roster")
        page.set_input_files(
            'input[type="file"]', str(SAMPLE_ROSTERS / "steelmaking_plant_zh_hans.xlsx")
        )
        shot(page, "roster-upload", database_url)
        page.click("form[data-upload] button.primary")
        page.wait_for_url("**/upload/roster/*")
        assert page.inner_text('.stat[data-key="rows"] .value') == "201"
        assert page.inner_text('.stat[data-key="errors"] .value') == "6"
        assert page.locator("table.errors tbody tr").count() == 6
        shot(page, "roster-preview", database_url, full=False)
        page.once("dialog", lambda dialog: dialog.accept())
        page.click('form[action$="/apply"] button')
        page.wait_for_url("**/upload/roster?done=*")
        assert "196" in page.inner_text(".flash")
        page.goto(f"{base}/people?high_risk=yes")
        assert page.locator("table.people tbody tr").count() > 10
        shot(page, "people", database_url, full=False)
        page.goto(f"{base}/roles")
        shot(page, "roles", database_url, full=False)
        context.close()


def test_site_staff_check_two_people_in_on_a_phone(
    browser: Any, database_url: str, engine: Engine
) -> None:
    two_departments(engine)
    add_site(engine)
    slot = add_slot(engine, "2022-05-11 09:45", minutes=30)  # NOW is 10:00 that day
    book(engine, "A001", slot)
    book(engine, "B001", slot)
    make_user(engine, "gate1", "site", language="zh")
    with running_server(database_url) as base:
        context = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN"
        )
        page = context.new_page()
        sign_in_page(page, base, "gate1")
        assert page.url.endswith("/checkin")
        for number, name in (("A001", "张伟"), ("B001", "李娜")):
            field = page.locator("input.scan")
            assert field.evaluate("el => el === document.activeElement")
            field.fill(number)
            field.press("Enter")  # what a barcode scanner does
            page.wait_for_load_state()
            assert page.inner_text(".answer .name") == name
            assert "green" in (page.get_attribute(".answer", "class") or "")
        assert page.locator("ul.recent li").count() == 2
        # nothing overflows sideways on a phone
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shot(page, "checkin-phone", database_url)
        page.goto(f"{base}/status?employee_no=B002")
        assert page.get_attribute(".answer", "data-status") in ("amber", "red")
        shot(page, "status-phone", database_url)
        context.close()


def test_supervisor_filters_the_missed_list_and_exports_xlsx(
    browser: Any, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    from testrota.web.demo import seed_demo

    report = seed_demo(web_settings_for(database_url))
    users = {u.name: u for u in report.users}
    sup = users["supervisor1"]
    department = sup.departments[0]
    with running_server(database_url) as base:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
        page = context.new_page()
        sign_in_page(page, base, sup.name, sup.password)
        shot(page, "dashboard-supervisor", database_url)
        page.goto(f"{base}/missed")
        rows = page.locator("table.missed tbody tr")
        assert rows.count() > 0
        assert set(page.locator("table.missed tbody tr td:nth-child(3)").all_inner_texts()) == {
            department
        }
        units = [
            o
            for o in page.locator('select[name="grid_unit"] option').all_inner_texts()
            if o and not o.startswith("全部")
        ]
        page.select_option('select[name="grid_unit"]', units[0])  # submits by itself
        page.wait_for_url("**grid_unit=*")
        shown = page.locator("table.missed tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.employee)"
        )
        assert shown
        shot(page, "missed", database_url)
        with page.expect_download() as info:
            page.click("a.export-xlsx")
        target = tmp_path / "missed.xlsx"
        info.value.save_as(target)
        ws = load_workbook(target).active
        exported = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
        assert exported == shown
        assert {row[2] for row in ws.iter_rows(min_row=2, values_only=True)} == {department}
        context.close()
        # HR's view of the same demo week, for the README
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = context.new_page()
        sign_in_page(page, base, "hr", users["hr"].password)
        shot(page, "dashboard", database_url, full=False)
        page.goto(f"{base}/schedule")
        shot(page, "schedule", database_url, full=False)
        page.goto(f"{base}/outbox")
        shot(page, "outbox", database_url, full=False)
        first = page.locator("table.outbox tbody tr a").first
        if first.count():
            first.click()
            page.wait_for_load_state()
            shot(page, "person", database_url, full=False)
        context.close()


def test_personal_page_on_a_phone(browser: Any, database_url: str, engine: Engine) -> None:
    from sqlmodel import Session, select

    from testrota.db.models import Person
    from testrota.notify.links import make_personal_token

    two_departments(engine)
    add_site(engine)
    for start in ("2022-05-12 08:00", "2022-05-13 08:00", "2022-05-14 09:00"):
        add_slot(engine, start)
    thursday = add_slot(engine, "2022-05-12 10:00")
    book(engine, "B001", thursday)
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == "B001")).one()
    token = make_personal_token(web_settings_for(database_url), person.id or 0)
    with running_server(database_url) as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{base}/me/{token}")
        page.click("ul.appointments a.button")
        page.wait_for_load_state()
        assert page.locator('input[name="slot_id"]').count() == 3
        # grouped by day, the first day open: Saturday's slot is behind its day's heading
        assert page.locator("details.day").count() == 3
        shot(page, "personal-phone", database_url)
        page.click('details.day[data-day="2022-05-14"] summary')
        page.check('input[name="slot_id"] >> nth=2')
        page.click(".choices button.primary")
        page.wait_for_load_state()
        assert "05-14" in page.inner_text("ul.appointments")
        context.close()

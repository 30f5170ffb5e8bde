"""Pages a supervisor or HR opens on a 390×844 phone, in a real browser (Debian's chromium
through Playwright, against ``testrota serve``): the missed list and the schedule's day view of
every site fit the screen's width (no sideways scrolling of the page), their actions can be
reached and used, and axe-core finds nothing, in 中文 and English."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.db.engine import session_scope
from testrota.db.models import Appointment, Person, Site, Slot
from tests.test_browser_axe import violations
from tests.web_support import (
    DESKTOP,
    PHONE,
    add_people,
    book,
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

LONG_NAME = "欧阳娜娜娜娜娜娜娜娜"
LONG_DEPT = "鞍钢集团本溪钢铁有限公司第二炼钢厂连铸作业区设备维护车间"


def _page_fits(page: Any, width: int = PHONE["width"]) -> bool:
    # Against the device's width: a phone browser widens its layout viewport to fit a page
    # that is too wide (and zooms out), so innerWidth alone would hide the overflow.
    return bool(page.evaluate(f"document.documentElement.scrollWidth <= {width}"))


def _inside_viewport(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_a_supervisor_works_the_missed_list_on_a_phone(
    browser: Any, database_url: str, engine: Engine
) -> None:
    ids = week19(engine)
    add_people(
        engine,
        [
            {
                "employee_no": "C001",
                "name": LONG_NAME,
                "department": LONG_DEPT,
                "grid_unit": "连铸维护一班",
                "role": "司机",
                "phone": "+8613700000001",
                "risk_category": "driver",
                "risk_categories": "driver",
                "matched_by": "title",
                "matched_text": "司机",
            }
        ],
    )
    book(engine, "C001", ids["mon"])
    make_user(engine, "sup_zh", "supervisor", ["炼钢厂", "物流部", LONG_DEPT], language="zh")
    make_user(engine, "sup_en", "supervisor", ["炼钢厂", "物流部", LONG_DEPT], language="en")
    with running_server(database_url) as base:
        for lang in ("zh", "en"):
            context = browser.new_context(
                viewport=PHONE, is_mobile=True, has_touch=True, locale=lang
            )
            page = context.new_page()
            sign_in_page(page, base, f"sup_{lang}")
            page.goto(f"{base}/missed?week=2022-W19")
            assert page.locator("tr[data-employee]").count() == 4, lang
            assert _page_fits(page), lang
            row = 'tr[data-employee="C001"]'
            # Each row's actions are on the screen without scrolling sideways.
            for action in (f"{row} form.call button", f"{row} details.excuse-box summary"):
                page.locator(action).scroll_into_view_if_needed()
                assert _inside_viewport(page, action), (lang, action)
            assert violations(page) == [], lang
            page.locator(f"{row} details.excuse-box summary").tap()
            reason = page.locator(f"{row} input[name=reason]")
            assert _inside_viewport(page, f"{row} input[name=reason]"), lang
            assert _page_fits(page), lang
            reason.fill("病假 sick leave")
            with page.expect_navigation():
                page.locator(f"{row} form.excuse button.primary").tap()
            assert page.locator(".flash").count() >= 1, lang
            assert _statuses(engine, "C001").count("excused") == (1 if lang == "zh" else 2)
            context.close()
            if lang == "zh":
                book(engine, "C001", ids["thu2"], "missed")


def _statuses(engine: Engine, employee_no: str) -> list[str]:
    with Session(engine) as s:
        return [
            a.status
            for a in s.exec(
                select(Appointment)
                .join(Person, col(Person.id) == col(Appointment.person_id))
                .where(Person.employee_no == employee_no)
            )
        ]


def _slot(engine: Engine, site: str, starts: datetime, capacity: int = 20) -> int:
    year, week, _ = starts.date().isocalendar()
    with session_scope(engine) as s:
        slot = Slot(
            site_code=site,
            week=f"{year}-W{week:02d}",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=15),
            capacity=capacity,
        )
        s.add(slot)
        s.flush()
        assert slot.id is not None
        return slot.id


def test_hr_reads_every_site_of_a_day_on_a_phone_and_a_desktop(
    browser: Any, database_url: str, engine: Engine
) -> None:
    ids = week19(engine)  # site S1 in Shanghai
    with session_scope(engine) as s:
        s.add(Site(code="NYC", name="New York office", timezone="America/New_York"))
    ny = ZoneInfo("America/New_York")
    for hour in (8, 9, 10):
        slot = _slot(engine, "NYC", datetime(2022, 5, 9, hour, 0, tzinfo=ny))
    book(engine, "A002", slot)
    make_user(engine, "hr_zh", "hr", language="zh")
    make_user(engine, "hr_en", "hr", language="en")
    assert ids["mon"]
    with running_server(database_url) as base:
        for lang in ("zh", "en"):
            for viewport in (PHONE, DESKTOP):
                context = browser.new_context(
                    viewport=viewport,
                    locale=lang,
                    is_mobile=viewport is PHONE,
                    has_touch=viewport is PHONE,
                )
                page = context.new_page()
                sign_in_page(page, base, f"hr_{lang}")
                page.goto(f"{base}/schedule?week=2022-W19")
                page.locator('a[href^="/schedule/day"]').click()
                page.wait_for_load_state()
                assert page.url.endswith("/schedule/day?date=2022-05-11"), page.url
                page.locator("a[rel=prev]").click()
                page.locator("a[rel=prev]").click()
                page.wait_for_load_state()
                where = f"{lang} {viewport['width']}px"
                starts = page.eval_on_selector_all(
                    'section.site-day[data-site="NYC"] tbody tr',
                    "els => els.map(e => e.dataset.start)",
                )
                assert starts == ["08:00", "09:00", "10:00"], where
                s1 = page.eval_on_selector_all(
                    'section.site-day[data-site="S1"] tbody tr',
                    "els => els.map(e => e.dataset.start + ' ' + e.dataset.booked)",
                )
                assert s1 == ["08:00 3"], where
                assert _page_fits(page, viewport["width"]), where
                assert violations(page) == [], where
                context.close()

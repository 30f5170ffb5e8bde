"""The dashboard's charts in a real browser (Debian's chromium through Playwright, against
``testrota serve``), as HR reads them on a 1366×768 desktop and a 390×844 phone, in 中文 and
English: a label never runs past the chart's edge, however long the department's name, and a
week without data is a gap, not a 0 % dot."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tests.web_support import (
    DESKTOP,
    PASSWORD,
    PHONE,
    add_people,
    add_site,
    add_slot,
    book,
    make_user,
    running_server,
    skip_without_browser,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_without_browser(), reason="needs chromium at /usr/bin/chromium"),
]

LONG_ZH = "鞍钢集团本溪钢铁有限公司第二炼钢厂连铸作业区设备维护车间"
LONG_EN = "Benxi Steel No. 2 Steelmaking Plant, Continuous Casting Maintenance Workshop"
WIDE = "WWWWMMMMWWWWMMMM"  # the widest Latin letters


def _people(engine: Engine) -> None:
    rows = []
    for dept, prefix in ((LONG_ZH, "Z"), (LONG_EN, "E"), (WIDE, "W"), ("运输部", "T")):
        for i in range(3):
            rows.append(
                {
                    "employee_no": f"{prefix}{i:03d}",
                    "name": f"{prefix}{i}",
                    "department": dept,
                    "grid_unit": f"{prefix}-grid",
                    "role": "司机",
                    "phone": f"+86138000{ord(prefix):03d}{i:02d}",
                    "risk_category": "driver",
                    "risk_categories": "driver",
                    "matched_by": "title",
                    "matched_text": "司机",
                }
            )
    add_people(engine, rows)
    add_site(engine)
    # Only 2022-W19 (the current week) was planned: the weeks before have no data at all.
    mon = add_slot(engine, "2022-05-09 08:00", capacity=20)
    tue = add_slot(engine, "2022-05-10 08:00", capacity=20)
    for prefix in "ZEWT":
        for i in range(3):
            # Z and W did both tests (100 %, the longest value text), the others missed one.
            book(engine, f"{prefix}{i:03d}", mon, "done")
            book(engine, f"{prefix}{i:03d}", tue, "done" if prefix in "ZW" else "missed")


SHOWN = "[...document.querySelectorAll('svg.chart')].filter(s => s.getClientRects().length)"

OVERFLOW = """() => {
    const out = [];
    for (const svg of SHOWN) {
        const box = svg.getBoundingClientRect();
        for (const t of svg.querySelectorAll('text')) {
            const r = t.getBoundingClientRect();
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5
                || r.left < 0 || r.right > window.innerWidth) {
                out.push(t.textContent + ' [' + r.left.toFixed(1) + ', ' + r.right.toFixed(1)
                         + '] outside [' + box.left.toFixed(1) + ', ' + box.right.toFixed(1) + ']');
            }
        }
    }
    return out;
}""".replace("SHOWN", SHOWN)

# The height each shown chart text takes on screen, in CSS pixels: a label drawn at 12 px in a
# chart shrunk to fit a phone would be about 7 px, too small to read.
LABEL_HEIGHTS = (
    "() => " + SHOWN + ".flatMap(s => [...s.querySelectorAll('text')])"
    ".map(t => t.getBoundingClientRect().height)"
)
BAR_LABELS = (
    "() => " + SHOWN + ".filter(s => s.matches('.bars'))"
    ".flatMap(s => [...s.querySelectorAll('rect.bar')]).map(r => r.dataset.label)"
)


def test_chart_labels_stay_inside_and_empty_weeks_are_gaps(
    browser: Any, database_url: str, engine: Engine
) -> None:
    _people(engine)
    make_user(engine, "hr_zh", "hr", language="zh")
    make_user(engine, "hr_en", "hr", language="en")
    with running_server(database_url) as base:
        for lang in ("zh", "en"):
            for viewport in (DESKTOP, PHONE):
                context = browser.new_context(
                    viewport=viewport, locale="zh-CN" if lang == "zh" else "en"
                )
                page = context.new_page()
                page.goto(f"{base}/login")
                page.fill('input[name="username"]', f"hr_{lang}")
                page.fill('input[name="password"]', PASSWORD)
                page.click("button.primary")
                page.wait_for_load_state()
                page.goto(f"{base}/?week=2022-W19")
                where = f"{lang} {viewport['width']}px"
                labels = page.evaluate(BAR_LABELS)
                assert sorted(labels) == sorted([LONG_ZH, LONG_EN, WIDE, "运输部"]), where
                assert page.evaluate(OVERFLOW) == [], where
                heights = page.evaluate(LABEL_HEIGHTS)
                assert heights and min(heights) >= 11, (where, heights)
                # A label too long for its column is shortened, its full name kept in a title.
                titles = page.eval_on_selector_all(
                    "svg.chart.bars text.label title", "els => els.map(e => e.textContent)"
                )  # in both drawings: the one not shown is out of the accessibility tree
                assert LONG_ZH in titles and LONG_EN in titles, where
                # W16–W18 had nothing booked and no sample: no dot, a gap, "no data" read out.
                dots = page.eval_on_selector_all(
                    "svg.line-chart.wide circle.dot", "els => els.map(e => e.dataset.week)"
                )
                assert dots == ["W19"], where
                gaps = page.eval_on_selector_all(
                    "svg.line-chart.wide text.no-data", "els => els.map(e => e.dataset.week)"
                )
                assert gaps == ["W16", "W17", "W18"], where
                name = page.get_attribute("svg.line-chart.wide", "aria-label") or ""
                no_data = "无数据" if lang == "zh" else "no data"
                assert f"W16 {no_data}" in name and "W19 " in name, (where, name)
                context.close()

"""The scan console in a real browser: Chromium's fake camera shows a personal code made in
the test (a y4m video of a segno QR), and the page checks the person in; a network drop
mid-session loses nothing and doubles nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import segno
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.actions.codes import personal_codes
from testrota.app import build_app
from testrota.db.models import Person, ScanReceipt, TestResult, TubeMember
from tests.web_support import (
    CHROMIUM,
    PHONE,
    make_user,
    running_server,
    sign_in_page,
    skip_without_browser,
    web_settings_for,
    week19,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_without_browser(), reason="needs chromium at /usr/bin/chromium"),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def write_y4m(path: Path, text: str, width: int = 640, height: int = 480) -> Path:
    """A short greyscale video (YUV 4:2:0) of ``text``'s QR on white, for Chromium's fake
    camera (``--use-file-for-fake-video-capture``), which plays it in a loop."""
    qr = segno.make_qr(text, error="m", boost_error=False)
    rows = [list(r) for r in qr.matrix_iter(scale=1, border=4)]
    scale = min(width, height) * 3 // 4 // len(rows)
    side = scale * len(rows)
    x0, y0 = (width - side) // 2, (height - side) // 2
    luma = bytearray([235]) * (width * height)
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                for y in range(y0 + r * scale, y0 + (r + 1) * scale):
                    start = y * width + x0 + c * scale
                    luma[start : start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * 10)
    return path


@pytest.fixture
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _open_console(page: Any, base: str, tube: str, ratio: str = "5") -> None:
    sign_in_page(page, base, "site1")
    page.goto(f"{base}/scan")
    page.select_option("#scan-site", "S1")
    page.select_option("#scan-ratio", ratio)
    page.fill("#scan-input", tube)
    page.press("#scan-input", "Enter")
    page.wait_for_selector(f'#scan-tube[data-code="{tube}"]')
    page.wait_for_selector('#scan-console[data-queued="0"]')


def test_the_fake_camera_reads_a_personal_code_and_checks_the_person_in(
    playwright: Any, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    week19(engine)
    make_user(engine, "site1", "site", language="zh")
    with Session(engine) as s:
        b001 = s.scalars(select(Person).where(Person.employee_no == "B001")).one()
    app = build_app(web_settings_for(database_url), engine=engine)
    video = write_y4m(tmp_path / "code.y4m", personal_codes(app, b001.id or 0)[0].code)
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[
            *ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        with running_server(database_url) as base:
            context = browser.new_context(
                viewport=PHONE,
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
                permissions=["camera"],
            )
            page = context.new_page()
            _open_console(page, base, "T1")
            page.click("#scan-camera")
            person = page.wait_for_selector(
                '#scan-log li[data-kind="person"]:not([data-pending])', timeout=30_000
            )
            assert person is not None
            page.click("#scan-camera")  # off: the same code stays in view
            assert "B001" in person.inner_text()
            # B001's slots are Monday and Thursday: checked in, but not expected now
            assert person.get_attribute("data-color") == "amber"
            assert page.get_attribute("#scan-tube", "data-places-left") == "4"
            context.close()
    finally:
        browser.close()
    with Session(engine) as s:
        members = list(s.scalars(select(TubeMember)))
        assert [m.person_id for m in members] == [b001.id]
    assert _count(engine, TestResult) == 1


def test_a_network_drop_loses_nothing_and_doubles_nothing(
    playwright: Any, database_url: str, engine: Engine
) -> None:
    week19(engine)
    make_user(engine, "site1", "site", language="zh")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
    try:
        with running_server(database_url) as base:
            context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
            page = context.new_page()
            _open_console(page, base, "T2")
            context.set_offline(True)
            for number in ("B001", "B002"):
                page.fill("#scan-input", number)
                page.press("#scan-input", "Enter")
            page.wait_for_selector('#scan-console[data-queued="2"]')
            page.wait_for_selector('#scan-console[data-online="0"]')
            assert page.locator("#scan-log li[data-pending]").count() == 2
            # Back online, the first answer is lost on its way back: the server took the scan,
            # the phone did not hear so, and sends it again with the same id.
            lost = {"n": 0}

            def lose_first_answer(route: Any) -> None:
                if lost["n"] == 0:
                    lost["n"] += 1
                    route.fetch()  # reaches the server ...
                    route.abort("connectionreset")  # ... the answer never comes back
                else:
                    route.continue_()

            page.route("**/scan/api", lose_first_answer)
            context.set_offline(False)
            page.wait_for_selector('#scan-console[data-queued="0"]', timeout=30_000)
            assert lost["n"] == 1
            colors = page.locator("#scan-log li").evaluate_all(
                "items => items.map(li => [li.dataset.value, li.dataset.color])"
            )
            assert sorted(colors) == [["B001", "amber"], ["B002", "amber"], ["T2", "green"]]
            assert page.get_attribute("#scan-tube", "data-places-left") == "3"
            # A refused swab (another grid unit) keeps its place free.
            page.fill("#scan-input", "A001")
            page.press("#scan-input", "Enter")
            page.wait_for_selector('#scan-log li[data-value="A001"][data-color="red"]')
            assert page.get_attribute("#scan-tube", "data-places-left") == "3"
            context.close()
    finally:
        browser.close()
    with Session(engine) as s:
        people = {p.id: p.employee_no for p in s.scalars(select(Person))}
        members = sorted(people[m.person_id] for m in s.scalars(select(TubeMember)))
    assert members == ["B001", "B002"]
    assert _count(engine, TestResult) == 2
    assert _count(engine, ScanReceipt) == 4  # the tube, two people and the refusal

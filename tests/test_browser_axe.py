"""axe-core (vendored, pinned: tests/vendor/axe-core) over every page as every role, in a real
browser against ``testrota serve`` on the demo's data: no WCAG 2.1 A/AA violations. Office pages
are checked on a desktop, and the main ones again on a phone (where tables fold into cards and
wide regions scroll); site staff and employees use a phone anyway."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.db.models import Alert, Appointment, Exemption, Person
from testrota.notify.links import make_personal_token
from tests.web_support import DESKTOP, PHONE, running_server, skip_without_browser, web_settings_for

AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
AXE_SHA256 = "880970c081707360e64f34cea25ff91892f5bc95675b0776925b9709dd8a68bb"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_without_browser(), reason="needs chromium at /usr/bin/chromium"),
]

# The office pages each role opens; {person}, {alert}, {exemption} and {token} are filled from
# the data.
PAGES = {
    "hr": [
        "/",
        "/missed",
        "/exemptions",
        "/exemptions?ended=true",
        "/exemptions/{exemption}/end",
        "/alerts",
        "/alerts/{alert}",
        "/people",
        "/people/{person}",
        "/schedule",
        "/schedule/day",
        "/roles",
        "/roles/change?role={role}&department={department}",
        "/upload/roster",
        "/upload/results",
        "/outbox",
        "/admin/users",
        "/api",
        "/checkin",
        "/status",
        "/status?employee_no={person}",
        "/report/daily",
        "/badges",
        "/tubes",
        "/pools",
        "/scan",
    ],
    "supervisor": [
        "/",
        "/missed",
        "/exemptions",
        "/alerts",
        "/people",
        "/schedule",
        "/schedule/day",
        "/status",
        "/report/daily",
    ],
    "site": ["/checkin", "/status", "/status?employee_no={person}", "/scan", "/tubes"],
    "employee": ["/me/{token}", "/me/{token}?move={appointment}", "/me/expired", "/login"],
}


# The office pages a supervisor or HR opens on a phone too, checked again at 390×844.
PHONE_PAGES = {
    "hr": [
        "/",
        "/missed",
        "/exemptions",
        "/people",
        "/schedule",
        "/schedule/day",
        "/upload/roster",
        "/api",
    ],
    "supervisor": PAGES["supervisor"],
}


def test_the_vendored_axe_is_the_pinned_one() -> None:
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256


def violations(page: Any) -> list[str]:
    """axe's WCAG 2.0/2.1 A and AA violations on the page as it is: ``rule: target`` each."""
    # Evaluated through the browser's devtools protocol, which the pages' CSP does not govern
    # (a <script> tag would be refused by it, as it should be).
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    found = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
            return r.violations.map(v => v.nodes.map(n => v.id + ': ' + n.target.join(' ')))
                               .flat();
        }"""
    )
    return [str(v) for v in found]


def _fill(engine: Engine, database_url: str) -> dict[str, str]:
    with Session(engine) as s:
        person = s.exec(
            select(Person).where(col(Person.risk_category).is_not(None)).order_by(Person.id)
        ).first()
        assert person is not None and person.id is not None
        appt = (
            s.exec(
                select(Appointment)
                .where(Appointment.person_id == person.id, Appointment.status == "missed")
                .limit(1)
            ).first()
            or s.exec(select(Appointment).where(Appointment.person_id == person.id)).first()
        )
        alert = s.exec(select(Alert)).first()
        exemption = s.exec(select(Exemption)).first()
    token = make_personal_token(web_settings_for(database_url), person.id)
    return {
        "person": person.employee_no,
        "role": person.role,
        "department": person.department,
        "token": token,
        "appointment": str(appt.id if appt else 1),
        "alert": str(alert.id if alert else 1),
        "exemption": str(exemption.id if exemption else 1),
    }


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_page_has_an_accessibility_violation(
    browser: Any, database_url: str, engine: Engine, lang: str
) -> None:
    from testrota.web.demo import seed_demo

    report = seed_demo(web_settings_for(database_url))
    users = {u.role: u for u in report.users}
    values = _fill(engine, database_url)
    found: dict[str, list[str]] = {}
    runs = [
        *(
            (role, paths, PHONE if role in ("site", "employee") else DESKTOP)
            for role, paths in PAGES.items()
        ),
        *((role, paths, PHONE) for role, paths in PHONE_PAGES.items()),
    ]
    with running_server(database_url) as base:
        for role, paths, viewport in runs:
            context = browser.new_context(
                viewport=viewport, locale="zh-CN" if lang == "zh" else "en"
            )
            page = context.new_page()
            if role != "employee":
                user = users[role]
                page.goto(f"{base}/login")
                page.fill('input[name="username"]', user.name)
                page.fill('input[name="password"]', user.password)
                page.click("button.primary")
                page.wait_for_load_state()
                if lang == "en":
                    page.goto(f"{base}/")
            for path in paths:
                page.goto(base + path.format(**values))
                page.wait_for_load_state()
                problems = violations(page)
                if problems:
                    found[f"{role} {path} {viewport['width']}px"] = problems
            context.close()
    assert not found, "\n".join(f"{k}: {v[:8]}" for k, v in found.items())

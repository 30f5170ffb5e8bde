"""Every interface text has its Chinese; language negotiation; category names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testrota.web.i18n import CATEGORY_NAMES, ZH, category_name, negotiate, translator

WEB = Path(__file__).resolve().parents[1] / "src" / "testrota" / "web"
# _("text") in templates and Python; the first argument must be a literal.
CALL = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)""", re.S)
# {{ _(label) }} in the menu and {{ _(value) }} for statuses: their values are listed here.
DYNAMIC = {
    "Dashboard",
    "Missed tests",
    "People",
    "Schedule",
    "Check-in",
    "Status lookup",
    "Roles",
    "Roster upload",
    "Results upload",
    "Outbox",
    "Users",
    "admin",
    "hr",
    "supervisor",
    "site",
    "scheduled",
    "done",
    "missed",
    "excused",
    "cancelled",
    "pending",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "unknown",
    "negative",
    "positive",
    "invalid",
    "title",
    "synonym",
    "department",
    "column",
    "override",
    "employee",
    "third_party",
    "co_resident",
    "rows",
    "added",
    "updated",
    "unchanged",
    "deactivated",
    "skipped",
    "high_risk",
    "recorded",
    "unmatched",
    "errors",
    "Mon",
    "Tue",
    "Wed",
    "Thu",
    "Fri",
    "Sat",
    "Sun",
    "reminder_eve",
    "reminder_before",
    "positive_alert",
    "digest",
    "booster",
    "checkin",
    "lab",
    "outside",
    "positives",
    "expired",
    "day",
    "night",
    "rotating",
    "Positive alerts",
}


def interface_texts() -> set[str]:
    found: set[str] = set()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        if path.name == "i18n.py":
            continue
        for m in CALL.finditer(path.read_text(encoding="utf-8")):
            found.add(m.group("text").replace('\\"', '"').replace("\\'", "'"))
    return found | DYNAMIC


def test_every_interface_text_has_chinese() -> None:
    missing = sorted(t for t in interface_texts() if t not in ZH)
    assert not missing, "add to testrota.web.i18n.ZH:\n" + "\n".join(missing)


def test_placeholders_match_between_languages() -> None:
    field = re.compile(r"\{(\w+)\}")
    for english, chinese in ZH.items():
        assert set(field.findall(english)) == set(field.findall(chinese)), english


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("de", "zh"),
        ("en;q=0.2,zh-TW;q=0.5", "zh"),
        ("en;q=0", "zh"),
    ],
)
def test_accept_language(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


def test_translator_and_categories() -> None:
    assert translator("zh")("{n} people", n=3) == "3 人"
    assert translator("en")("{n} people", n=3) == "3 people"
    assert len(CATEGORY_NAMES) == 16
    assert category_name("cold_chain", "zh") == "冷链"
    assert category_name("cold_chain", "en") == "cold chain"
    assert category_name(None, "en") == ""

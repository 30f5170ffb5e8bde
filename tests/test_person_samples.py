"""The person page shows each sample once: a check-in answered by the lab's result is one
sample with that result, in words ("awaiting result" for one still at the lab, never "waiting
to send")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.roster.people import PersonTest
from testrota.statuses import ResultValue
from testrota.web.samples import one_per_sample
from tests.test_web_alert_workflow import _sample
from tests.web_support import make_user, sign_in, soup, two_departments

pytest_plugins = ("tests.web_fixtures",)

T = datetime(2022, 5, 10, 0, 30, tzinfo=UTC)


def _t(minutes: int, result: ResultValue, source: str, site: str | None) -> PersonTest:
    return PersonTest(T + timedelta(minutes=minutes), result, source, site)


def test_a_check_in_answered_by_the_lab_is_one_sample() -> None:
    checkin = _t(0, ResultValue.PENDING, "checkin", "NORTH")
    lab = _t(20, ResultValue.NEGATIVE, "lab", None)
    later = _t(60 * 30, ResultValue.PENDING, "checkin", "SOUTH")  # the next day: still out
    other = _t(-60 * 24, ResultValue.NEGATIVE, "outside", None)  # a day before: its own
    shown = one_per_sample([later, lab, checkin, other])
    assert shown == [later, _t(20, ResultValue.NEGATIVE, "lab", "NORTH"), other]
    # one result answers one check-in
    twice = [checkin, _t(5, ResultValue.PENDING, "checkin", "NORTH"), lab]
    assert len(one_per_sample(twice)) == 2


def test_the_person_page_lists_the_sample_once(client: TestClient, engine: Engine) -> None:
    two_departments(engine)
    _sample(engine, "A001", T, "pending")
    _sample(engine, "A001", T + timedelta(minutes=20), "negative")
    _sample(engine, "A001", T + timedelta(days=1), "pending")
    make_user(engine, "hr1", "hr", language="zh")
    sign_in(client, "hr1")
    rows = soup(client.get("/people/A001")).select("table.tests tbody tr")
    results = [r.select("td")[1].get_text(strip=True) for r in rows]
    assert results == ["待出结果", "阴性"]

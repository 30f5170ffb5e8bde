"""The daily report's trend (issue 15): a unit's weekly rate over the last weeks is the daily
report's required and tested summed over each week's days, a week nobody was due has no
rate ("no data", never 0 %), in Asia/Shanghai and across New York's change of the clocks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from testrota.actions.report import DailyReport, OutOfUnits, daily_report
from testrota.actions.report_trend import ReportTrend, report_trend
from testrota.audit import Actor
from testrota.auth.scope import scope_for
from testrota.db.models import Person
from testrota.errors import UserError
from testrota.org import rollup
from testrota.org.trend import trend_days, weekly_rates
from tests.compliance_fixtures import (
    NY,
    SH,
    add_appt,
    add_person,
    add_sample,
    add_site,
    app_at,
    local,
    policy,
)


def _person(session: Session, no: str, unit_path: str, dept: str) -> Person:
    p = add_person(session, no, department=dept)
    p.unit_path = unit_path
    session.add(p)
    session.flush()
    return p


def _at(tz: ZoneInfo, day: date, hour: int, minute: int = 0) -> datetime:
    return local(tz, day.year, day.month, day.day, hour, minute)


def test_weeks_are_summed_from_days_and_a_week_without_anyone_due_has_no_rate() -> None:
    day = date(2022, 5, 11)  # a Wednesday
    assert trend_days(day, 2)[0] == date(2022, 5, 2) and trend_days(day, 2)[-1] == day
    by_day = {date(2022, 5, 9): (4, 3), date(2022, 5, 11): (2, 2), date(2022, 5, 12): (9, 0)}
    old, this = weekly_rates(day, 2, by_day)
    assert (old.week, old.required, old.rate) == ("2022-W18", 0, None)
    assert (this.week, this.first, this.last) == ("2022-W19", date(2022, 5, 9), day)
    assert (this.required, this.tested, this.rate) == (6, 5, pytest.approx(0.8333, abs=1e-4))


@pytest.mark.parametrize(
    ("tz", "monday"),
    [(SH, date(2022, 5, 2)), (NY, date(2022, 3, 7))],  # NY: DST starts Sunday 2022-03-13
    ids=["shanghai", "new_york_dst"],
)
def test_the_trend_agrees_with_the_daily_report_day_by_day(
    engine: Engine, session: Session, tz: ZoneInfo, monday: date
) -> None:
    pol = policy(timezone=str(tz))
    sunday = monday + timedelta(days=6)
    add_site(session)
    a = _person(session, "1", "板材公司/炼钢厂", "炼钢厂")
    b = _person(session, "2", "板材公司/冷轧厂", "冷轧厂")
    c = _person(session, "3", "", "运输部")
    session.commit()
    # the week before `monday`: nobody due anywhere
    # the week of `monday`
    add_appt(session, a, _at(tz, monday, 9), status="done")
    add_sample(session, a, _at(tz, monday, 9, 5))
    add_appt(session, b, _at(tz, monday, 10), status="missed")
    add_appt(session, a, _at(tz, sunday, 9), status="done")
    add_sample(session, a, _at(tz, sunday, 23, 30))  # late on the short Sunday: same day
    add_appt(session, c, _at(tz, sunday, 11), status="missed")
    add_sample(session, c, _at(tz, sunday + timedelta(days=1), 0, 15))  # the next day: not
    # the week after, up to its Wednesday (the report's day); Thursday is not counted yet
    wednesday = monday + timedelta(days=9)
    add_appt(session, b, _at(tz, wednesday, 9), status="done")
    add_sample(session, b, _at(tz, wednesday, 9, 1))
    add_appt(session, c, _at(tz, wednesday + timedelta(days=1), 9))
    session.commit()
    app = app_at(engine, _at(tz, wednesday + timedelta(days=1), 9), pol)
    out = report_trend(app, ReportTrend(wednesday, Actor.cli("hr"), weeks=3))
    assert out.unit == "本钢集团"
    assert [w.required for w in out.weeks] == [0, 4, 1]
    assert [w.tested for w in out.weeks] == [0, 2, 1]
    assert [w.rate for w in out.weeks] == [None, 0.5, 1.0]
    # the oracle: the daily report itself, day by day, at the group and at one company
    for unit in (None, "板材公司"):
        trend = report_trend(app, ReportTrend(wednesday, Actor.cli("hr"), unit=unit, weeks=3))
        for week in trend.weeks:
            required = tested = 0
            d = week.first
            while d <= week.last:
                [top, *_] = daily_report(app, DailyReport(d, Actor.cli("hr"), unit=unit)).rows
                required, tested = required + top.required, tested + top.tested
                d += timedelta(days=1)
            assert (week.required, week.tested) == (required, tested), (unit, week.week)
        # read from the roll-up, which this database keeps (not counted from raw rows instead)
        with engine.connect() as conn:
            assert not rollup.pending(conn, tz).everything
        raw = report_trend(app, ReportTrend(wednesday, Actor.cli("hr"), unit, 3, from_raw=True))
        assert raw == trend


def test_a_unit_supervisor_gets_their_units_trend_and_no_other(
    engine: Engine, session: Session
) -> None:
    add_site(session)
    a = _person(session, "1", "板材公司/炼钢厂", "炼钢厂")
    x = _person(session, "9", "北营公司/炼钢厂", "炼钢厂")
    session.commit()
    day = date(2022, 5, 10)
    add_appt(session, a, _at(SH, day, 9), status="done")
    add_sample(session, a, _at(SH, day, 9, 1))
    add_appt(session, x, _at(SH, day, 9), status="missed")
    session.commit()
    app = app_at(engine, _at(SH, day + timedelta(days=1), 9), policy())
    mine = scope_for("supervisor", [], ["本钢集团/板材公司"], ["炼钢厂"])
    out = report_trend(app, ReportTrend(day, Actor.web("sup"), weeks=1, scope=mine))
    assert out.unit == "本钢集团/板材公司"
    assert [(w.required, w.tested) for w in out.weeks] == [(1, 1)]
    with pytest.raises(OutOfUnits):
        report_trend(app, ReportTrend(day, Actor.web("sup"), unit="北营公司", scope=mine))
    bad: Any
    for bad in (0, 27):
        with pytest.raises(UserError, match="weeks"):
            report_trend(app, ReportTrend(day, Actor.web("sup"), weeks=bad, scope=mine))


def test_the_trend_counts_a_change_not_yet_rolled_up_from_raw_rows(
    engine: Engine, session: Session, database_url: str
) -> None:
    """A sample written through an engine without the commit hook (another tool) is marked,
    not counted: the trend replaces that unit's stored day with its count from raw rows."""
    from testrota.db.engine import make_engine

    add_site(session)
    a = _person(session, "1", "板材公司/炼钢厂", "炼钢厂")
    b = _person(session, "2", "板材公司/冷轧厂", "冷轧厂")
    day = date(2022, 5, 10)
    add_appt(session, a, _at(SH, day, 9), status="done")
    add_sample(session, a, _at(SH, day, 9, 1))
    add_appt(session, b, _at(SH, day, 10))
    session.commit()
    app = app_at(engine, _at(SH, day + timedelta(days=1), 9), policy())
    before = report_trend(app, ReportTrend(day, Actor.cli("hr"), weeks=1))
    assert [(w.required, w.tested) for w in before.weeks] == [(2, 1)]
    other = make_engine(database_url)
    try:
        with Session(other) as s:
            add_sample(s, b, _at(SH, day, 10, 2))
            s.commit()
    finally:
        other.dispose()
    with engine.connect() as conn:
        assert rollup.pending(conn, SH).keys
    after = report_trend(app, ReportTrend(day, Actor.cli("hr"), weeks=1))
    assert [(w.required, w.tested) for w in after.weeks] == [(2, 2)]
    plant = report_trend(app, ReportTrend(day, Actor.cli("hr"), unit="板材公司/冷轧厂", weeks=1))
    assert [(w.required, w.tested) for w in plant.weeks] == [(1, 1)]

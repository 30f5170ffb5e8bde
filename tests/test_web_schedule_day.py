"""The schedule's day view of every site, through TestClient and read with BeautifulSoup: each
site's slots on its own clock (Asia/Shanghai and America/New_York, across a change of the
clocks), counts within the reader's departments, and a clear answer to a date that is not one."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.db.engine import session_scope
from testrota.db.models import Site, Slot
from tests.web_support import book, make_user, sign_in, soup, two_departments

pytest_plugins = ("tests.web_fixtures",)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def _site(engine: Engine, code: str, name: str, zone: str) -> None:
    with session_scope(engine) as s:
        s.add(Site(code=code, name=name, timezone=zone))


def _slot(engine: Engine, site: str, starts: datetime, capacity: int = 10) -> int:
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


def _world(engine: Engine) -> None:
    two_departments(engine)
    _site(engine, "NORTH", "北门核酸采样点", "Asia/Shanghai")
    _site(engine, "NYC", "New York office", "America/New_York")
    _site(engine, "DORM", "职工公寓采样点", "Asia/Shanghai")  # no slot that day
    north = _slot(engine, "NORTH", datetime(2022, 5, 9, 8, 0, tzinfo=SH))
    # 08:00 in New York is 20:00 in Shanghai; the evening before in New York is the morning of
    # 9 May in Shanghai, and belongs to New York's 8 May.
    nyc = _slot(engine, "NYC", datetime(2022, 5, 9, 8, 0, tzinfo=NY), capacity=5)
    _slot(engine, "NYC", datetime(2022, 5, 8, 20, 0, tzinfo=NY))
    book(engine, "A001", north, "done")
    book(engine, "B001", north, "missed")
    book(engine, "B002", nyc)


def _rows(page: object, site: str) -> list[tuple[str, str]]:
    section = page.select_one(f'section.site-day[data-site="{site}"]')  # type: ignore[attr-defined]
    assert section is not None, site
    return [
        (tr["data-start"], tr.select("td")[1].get_text(strip=True))
        for tr in section.select("tbody tr")
    ]


def test_every_site_on_its_own_clock(client: TestClient, engine: Engine) -> None:
    _world(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    week = soup(client.get("/schedule", params={"week": "2022-W19"}))
    link = week.select_one('a[href^="/schedule/day"]')
    assert link is not None
    response = client.get("/schedule/day", params={"date": "2022-05-09"})
    assert response.status_code == 200
    page = soup(response)
    assert _rows(page, "NORTH") == [("08:00", "2/10")]
    assert _rows(page, "NYC") == [("08:00", "1/5")]  # New York's 08:00, not 20:00
    summary = {
        tr["data-site"]: [td.get_text(" ", strip=True) for td in tr.select("td")]
        for tr in page.select("table.day-sites tbody tr")
    }
    assert summary["NYC"][1] == "America/New_York" and summary["NORTH"][1] == "Asia/Shanghai"
    assert summary["NORTH"][3:] == ["2/10", "1", "1"]
    assert summary["DORM"][2] == "0"  # listed, with no slot that day
    earlier = soup(client.get("/schedule/day", params={"date": "2022-05-08"}))
    assert _rows(earlier, "NYC") == [("20:00", "0/10")]


def test_a_supervisor_counts_their_own_people(client: TestClient, engine: Engine) -> None:
    _world(engine)
    make_user(engine, "sup", "supervisor", ["炼钢厂"])
    sign_in(client, "sup")
    page = soup(client.get("/schedule/day", params={"date": "2022-05-09"}))
    assert _rows(page, "NORTH") == [("08:00", "1/10")]
    assert _rows(page, "NYC") == [("08:00", "0/5")]
    assert "物流二组" not in page.get_text()


def test_the_day_the_clocks_go_back_in_new_york(client: TestClient, engine: Engine) -> None:
    # 6 Nov 2022: 01:30 happens twice in New York (EDT, then EST); both slots are that day's.
    _site(engine, "NYC", "New York office", "America/New_York")
    first = datetime(2022, 11, 6, 5, 30, tzinfo=ZoneInfo("UTC"))  # 01:30 EDT
    _slot(engine, "NYC", first)
    _slot(engine, "NYC", first + timedelta(hours=1))  # 01:30 EST
    _slot(engine, "NYC", datetime(2022, 11, 7, 0, 30, tzinfo=NY))  # the next day
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get("/schedule/day", params={"date": "2022-11-06"}))
    assert _rows(page, "NYC") == [("01:30", "0/10"), ("01:30", "0/10")]


def test_a_date_that_is_not_one_is_answered_in_words(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr", language="zh")
    sign_in(client, "hr1")
    for bad in ("2022-13-45", "x" * 5000):
        response = client.get(
            "/schedule/day", params={"date": bad}, headers={"Accept-Language": "zh"}
        )
        assert response.status_code == 400
        message = soup(response).select_one("p.flash.error")
        assert message is not None and "不是日期" in message.get_text(), message


def test_a_group_day_shows_one_site_at_a_time(client: TestClient, engine: Engine) -> None:
    """A group's day is thousands of slots at dozens of sites (740 KB of HTML at 300,000
    people): past DAY_SLOTS_INLINE the page lists the sites, and shows the slots of the site
    chosen from that list; the day's arrows keep the site."""
    from sqlalchemy import insert

    from testrota.db import tables
    from testrota.web.routes.schedule import DAY_SLOTS_INLINE

    _world(engine)
    per_site = DAY_SLOTS_INLINE // 10 + 1
    start = datetime(2022, 5, 9, 6, 0, tzinfo=SH)
    rows = []
    for n in range(10):
        _site(engine, f"S{n:02d}", f"采样点{n}", "Asia/Shanghai")
        for i in range(per_site):
            at = start + timedelta(minutes=i)
            rows.append(
                {
                    "site_code": f"S{n:02d}",
                    "week": "2022-W19",
                    "starts_at": at,
                    "ends_at": at + timedelta(minutes=1),
                    "capacity": 3,
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(tables.SLOT), rows)
    make_user(engine, "sup", "supervisor", ["炼钢厂"])
    sign_in(client, "sup")
    page = soup(client.get("/schedule/day", params={"date": "2022-05-09"}))
    assert page.select("section.site-day") == []
    assert page.select_one("p.choose-site") is not None
    links = {
        tr["data-site"]: tr.select_one("a")["href"]
        for tr in page.select("table.day-sites tbody tr")
        if tr.select_one("a")
    }
    assert links["NORTH"] == "/schedule/day?date=2022-05-09&site=NORTH"
    assert "DORM" not in links  # no slot that day: nothing to show
    chosen = soup(client.get(links["NORTH"]))
    assert [s["data-site"] for s in chosen.select("section.site-day")] == ["NORTH"]
    assert _rows(chosen, "NORTH") == [("08:00", "1/10")]  # the supervisor's own people
    assert chosen.select_one('tr[aria-current="true"]')["data-site"] == "NORTH"
    forward = chosen.select_one('a[rel="next"]')["href"]
    assert forward == "/schedule/day?date=2022-05-10&site=NORTH"
    many = soup(client.get("/schedule/day", params={"date": "2022-05-09", "site": "S03"}))
    assert len(_rows(many, "S03")) == per_site
    for unknown in ("NOPE", "x" * 5000):  # an unknown site: the list of sites
        response = client.get("/schedule/day", params={"date": "2022-05-09", "site": unknown})
        assert response.status_code == 200
        assert soup(response).select("section.site-day") == []

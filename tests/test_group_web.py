"""The daily report page (issue 15): drill-down, colours, the bottom units, exports, and
confirming upward, for HR and for a supervisor given a unit."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.auth.users import add_user
from testrota.db.engine import session_scope
from testrota.db.models import ReportConfirmation
from tests.test_group_scope import _two_companies
from tests.web_support import PASSWORD, csrf_of, make_user, sign_in, soup

pytest_plugins = ("tests.web_fixtures",)

DAY = "2022-05-09"  # week19's Monday: A001, B001, B002 and X001 were due, nobody tested


def _cells(page: Any, path: str) -> dict[str, str]:
    row = page.select_one(f'table.daily tr[data-path="{path}"]')
    assert row is not None, path
    cells = [td.get_text(" ", strip=True) for td in row.select("td")]
    heads = [th.get_text(" ", strip=True) for th in page.select("table.daily thead th")]
    return dict(zip(heads, cells, strict=True))


def test_hr_drills_down_from_the_group_with_colours_and_the_bottom_units(
    client: TestClient, engine: Engine
) -> None:
    _two_companies(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    response = client.get("/report/daily", params={"date": DAY})
    assert response.status_code == 200
    page = soup(response)
    root = _cells(page, "本钢集团")
    assert (root["Required"], root["Tested"], root["Untested"]) == ("4", "0", "4")
    assert page.select_one('tr[data-path="本钢集团"] td.rate .badge.bad') is not None
    # one level below the group: the two companies and the flat department
    paths = [tr["data-path"] for tr in page.select("table.daily tbody tr")]
    assert paths == ["本钢集团", "本钢集团/北营公司", "本钢集团/板材公司", "本钢集团/物流部"]
    link = page.select_one('tr[data-path="本钢集团/板材公司"] a')
    assert link is not None
    deeper = soup(client.get("/report/daily" + link["href"]))
    assert [tr["data-path"] for tr in deeper.select("table.daily tbody tr")] == [
        "本钢集团/板材公司",
        "本钢集团/板材公司/炼钢厂",
    ]
    crumbs = [a.get_text() for a in deeper.select("nav.crumbs a")]
    assert crumbs == ["本钢集团"]
    bottom = [li.select_one("a").get_text() for li in page.select("ol.bottom li")]  # type: ignore[union-attr]
    assert "本钢集团/物流部" in bottom and len(bottom) <= 10
    xlsx = client.get("/report/daily.xlsx", params={"date": DAY})
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None and ws.freeze_panes == "C4"
    csv_text = client.get("/report/daily.csv", params={"date": DAY}).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("path,name,level")


def test_a_unit_supervisor_sees_their_unit_confirms_it_and_cannot_see_another(
    client: TestClient, engine: Engine
) -> None:
    _two_companies(engine)
    with session_scope(engine) as s:
        add_user(
            s,
            name="sup",
            role="supervisor",
            password=PASSWORD,
            units=["本钢集团/板材公司"],
            language="en",
            now=datetime(2022, 5, 1, tzinfo=UTC),
        )
    sign_in(client, "sup")
    page = soup(client.get("/report/daily", params={"date": DAY}))
    paths = [tr["data-path"] for tr in page.select("table.daily tbody tr")]
    assert paths == ["本钢集团/板材公司", "本钢集团/板材公司/炼钢厂"]
    assert page.select("nav.crumbs a") == []  # the group above is not theirs
    assert page.select_one("form.confirm") is not None
    today = soup(client.get("/report/daily", params={"date": "2022-05-11"}))
    assert today.select_one("form.confirm") is None  # not over yet: nothing to confirm
    assert client.get("/report/daily", params={"date": DAY, "unit": "北营公司"}).status_code == 404
    assert client.get("/report/daily.xlsx", params={"unit": "本钢集团"}).status_code == 404
    token = csrf_of(client, f"/report/daily?date={DAY}")
    posted = client.post(
        "/report/daily/confirm",
        data={"date": DAY, "unit": "本钢集团/板材公司", "note": "已核对", "csrf_token": token},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    after = soup(client.get(posted.headers["location"]))
    state = after.select_one('tr[data-path="本钢集团/板材公司"] td.confirmation')
    assert state is not None and "web:sup" in state.get_text()
    with Session(engine) as s:
        [kept] = s.exec(select(ReportConfirmation)).all()
        assert kept.note == "已核对" and kept.figures["required"] == 1
    other = client.post(
        "/report/daily/confirm",
        data={"date": DAY, "unit": "北营公司", "csrf_token": token},
        follow_redirects=False,
    )
    assert other.status_code == 404


def test_the_page_is_in_chinese_and_a_bad_date_is_a_clear_400(
    client: TestClient, engine: Engine
) -> None:
    _two_companies(engine)
    make_user(engine, "hr2", "hr", language="zh")
    sign_in(client, "hr2")
    page = soup(client.get("/report/daily", params={"date": DAY}))
    assert page.select_one("h1") is not None and "日报" in page.select_one("h1").get_text()  # type: ignore[union-attr]
    heads = [th.get_text(strip=True) for th in page.select("table.daily thead th")]
    assert "应检" in heads and "检测率" in heads
    assert client.get("/report/daily", params={"date": "09/05/2022"}).status_code == 400


def test_hr_sets_a_units_mode_on_the_page_and_a_supervisor_cannot(
    client: TestClient, engine: Engine
) -> None:
    _two_companies(engine)
    make_user(engine, "hr3", "hr")
    sign_in(client, "hr3")
    token = csrf_of(client, f"/report/daily?date={DAY}")
    form = {
        "unit": "本钢集团/板材公司",
        "mode": "static",
        "start": DAY,
        "end": "2022-05-15",
        "reason": "静态管控",
        "date": DAY,
        "csrf_token": token,
    }
    posted = client.post("/report/daily/mode", data=form, follow_redirects=False)
    assert posted.status_code == 303
    page = soup(client.get("/report/daily", params={"date": DAY}))
    assert _cells(page, "本钢集团/板材公司")["Mode"] == "static"
    assert _cells(page, "本钢集团/北营公司")["Mode"] == "normal"
    bad = client.post(
        "/report/daily/mode", data={**form, "mode": "lockdown"}, follow_redirects=False
    )
    assert bad.status_code == 303
    assert "unknown mode" in soup(client.get(bad.headers["location"])).get_text()
    with session_scope(engine) as s:
        add_user(
            s,
            name="sup9",
            role="supervisor",
            password=PASSWORD,
            units=["本钢集团/板材公司"],
            language="en",
            now=datetime(2022, 5, 1, tzinfo=UTC),
        )
    sign_in(client, "sup9")
    token = csrf_of(client, f"/report/daily?date={DAY}")
    refused = client.post(
        "/report/daily/mode", data={**form, "csrf_token": token}, follow_redirects=False
    )
    assert refused.status_code == 403


def test_the_link_of_a_late_confirmation_text_opens_the_units_day(
    client: TestClient, engine: Engine
) -> None:
    """The text writes the day as 20220509 and the unit by id, so its link fits an Aliyun
    variable (org.reminders): the page reads it as the same day and unit."""
    from testrota.org.units import UNIT

    _two_companies(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    with engine.connect() as conn:
        unit_id = conn.execute(
            select(UNIT.c.id).where(UNIT.c.path == "本钢集团/板材公司")
        ).scalar_one()
    short = soup(client.get(f"/report/daily?date=20220509&u={unit_id}"))
    long = soup(client.get("/report/daily", params={"date": DAY, "unit": "本钢集团/板材公司"}))
    assert _cells(short, "本钢集团/板材公司") == _cells(long, "本钢集团/板材公司")
    assert [tr["data-path"] for tr in short.select("table.daily tbody tr")] == [
        "本钢集团/板材公司",
        "本钢集团/板材公司/炼钢厂",
    ]

"""The daily report's trend in the JSON API (issue 15): ``GET /api/report/trend`` gives what the
page's ``/report/daily/trend.json`` gives, scoped as the page, documented on /api in both
languages, and refuses bad input with a clear message."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.test_group_scope import _two_companies, _unit_supervisor
from tests.web_support import make_user, sign_in, soup

pytest_plugins = ("tests.web_fixtures",)

ASK = "date=2022-05-10&weeks=2"


def test_the_api_gives_the_pages_trend_scoped_as_the_page(
    client: TestClient, engine: Engine
) -> None:
    _two_companies(engine)
    _unit_supervisor(engine, "steel", ["本钢集团/板材公司"])
    make_user(engine, "hr1", "hr")
    assert client.get(f"/api/report/trend?{ASK}").status_code == 401

    sign_in(client, "hr1")
    api = client.get(f"/api/report/trend?{ASK}&unit=板材公司")
    assert api.status_code == 200, api.text
    page = client.get(f"/report/daily/trend.json?{ASK}&unit=板材公司")
    assert api.json() == page.json()
    body = api.json()
    assert body["unit"] == "本钢集团/板材公司" and body["day"] == "2022-05-10"
    assert [w["week"] for w in body["weeks"]] == ["2022-W18", "2022-W19"]
    assert body["weeks"][0]["rate"] is None  # nobody was due: no data, not 0 %
    assert body["weeks"][1]["required"] > 0
    group = client.get(f"/api/report/trend?{ASK}").json()
    assert group["unit"] == "本钢集团"
    assert group["weeks"][1]["required"] > body["weeks"][1]["required"]

    bad_day = client.get("/api/report/trend?date=2022-13-40")
    assert bad_day.status_code == 400 and "2022-13-40" in bad_day.json()["detail"]
    assert client.get("/api/report/trend?weeks=27").status_code == 422
    assert client.get("/api/report/trend?unit=" + "x" * 401).status_code == 422

    client.post("/logout")
    client.cookies.clear()
    sign_in(client, "steel")
    mine = client.get(f"/api/report/trend?{ASK}")
    assert mine.status_code == 200 and mine.json() == body  # their own unit by default
    assert client.get(f"/api/report/trend?{ASK}&unit=北营公司").status_code == 404


def test_the_api_page_describes_the_trend_in_both_languages(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "hr_zh", "hr", language="zh")
    sign_in(client, "hr_zh")
    main = soup(client.get("/api")).select_one("main")
    assert main is not None
    text = main.get_text(" ", strip=True)
    assert "单位的每周趋势" in text and "其他单位返回 404" in text
    make_user(engine, "hr_en", "hr", language="en")
    sign_in(client, "hr_en")
    text = soup(client.get("/api")).get_text(" ", strip=True)
    assert "A unit's weekly trend" in text and "another unit answers 404" in text

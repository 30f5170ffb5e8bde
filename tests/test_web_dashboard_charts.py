"""The dashboard's charts as HTML (TestClient, BeautifulSoup): a week not planned yet draws no
0 % bars and no 0 % dot, and the trend's accessible name says which weeks had no data."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.web_support import make_user, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)


def test_a_week_not_planned_yet_is_not_zero_percent(client: TestClient, engine: Engine) -> None:
    week19(engine)  # only 2022-W19 has appointments
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get("/", params={"week": "2022-W20"}))
    assert page.select("svg.bars.wide rect.bar") == []
    values = [t.get_text() for t in page.select("svg.bars.wide text.value")]
    assert values and set(values) == {"–"}
    dots = [c["data-week"] for c in page.select("svg.line-chart.wide circle.dot")]
    assert dots == ["W19"]
    name = page.select_one("svg.line-chart.wide")["aria-label"]  # type: ignore[index]
    assert "W17 no data" in name and "W20 no data" in name
    planned = soup(client.get("/", params={"week": "2022-W19"}))
    assert len(planned.select("svg.bars.wide rect.bar")) == 2

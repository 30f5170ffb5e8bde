"""Supervisors see phone numbers masked on every page, export and API call; HR in full."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.web_support import make_user, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)

FULL = "+8613800000001"
MASKED = "+*********0001"


def test_a_supervisor_sees_only_the_last_four_digits(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "sup", "supervisor", ["炼钢厂"])
    sign_in(client, "sup")
    people = soup(client.get("/people")).get_text(" ")
    person = soup(client.get("/people/A001")).get_text(" ")
    missed = soup(client.get("/missed")).get_text(" ")
    for text in (people, person, missed):
        assert MASKED in text and FULL not in text
    sheet = load_workbook(io.BytesIO(client.get("/missed.xlsx").content)).active
    assert sheet is not None
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row]
    assert MASKED in cells and FULL not in cells
    assert FULL not in client.get("/missed.csv").text
    api_people = client.get("/api/people").json()["people"]
    assert {p["phone"] for p in api_people} == {MASKED, "+*********0002"}
    assert client.get("/api/people/A001").json()["phone"] == MASKED
    assert {r["phone"] for r in client.get("/api/missed").json()} == {MASKED}


def test_hr_sees_numbers_in_full(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    assert FULL in soup(client.get("/people/A001")).get_text(" ")
    assert client.get("/api/people/A001").json()["phone"] == FULL
    assert FULL in {r["phone"] for r in client.get("/api/missed").json()}

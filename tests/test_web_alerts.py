"""A supervisor whose department holds only contacts of a positive case sees the contacts,
and the case only as "a positive case in another department".

张伟 (A001, 炼钢厂) tested positive; 王芳 (A002, 炼钢厂, same grid unit) and 李娜 (B001, 物流部,
same slot) are his contacts. supB supervises 物流部 alone.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from testrota.settings import Settings
from tests.disclosure_world import seed
from tests.web_support import post_form, sign_in, soup

pytest_plugins = ("tests.web_fixtures",)

OTHER = "a positive case in another department"
# Anything that says who the case is: name, employee number, department, grid unit, phone.
CASE = ("张伟", "A001", "炼钢厂", "炼钢一班", "1111 0001", "13811110001", "*0001")


def _xlsx_rows(content: bytes) -> list[dict[str, Any]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_case_is_anonymous_to_a_supervisor_of_contacts_only(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    seed(engine, web_settings)
    sign_in(client, "supB")

    response = client.get("/api/alerts")
    [alert] = response.json()
    assert alert["case_visible"] is False
    assert [alert[k] for k in ("employee_no", "name", "department", "grid_unit")] == [None] * 4
    assert (alert["contact_count"], alert["sampled_at"], alert["site"]) == (
        1,
        "2022-05-09T08:05:00+08:00",
        "S1",
    )
    [contact] = alert["contacts"]
    assert (contact["employee_no"], contact["name"], contact["reason"]) == (
        "B001",
        "李娜",
        "same_slot",
    )
    assert contact["phone"] == "+*******4567"

    dashboard = soup(client.get("/"))
    banner = dashboard.select_one("section.alert")
    assert banner is not None
    assert banner.select_one(".other-department").get_text(strip=True) == OTHER
    assert "李娜 (B001)" in banner.get_text(" ", strip=True)

    page = soup(client.get("/alerts"))
    [section] = page.select("section.alert-case")
    assert section.select_one(".other-department").get_text(strip=True) == OTHER
    assert [tr["data-employee"] for tr in section.select("table.contacts tbody tr")] == ["B001"]

    rows = list(csv.DictReader(io.StringIO(client.get("/alerts.csv").text.lstrip("\ufeff"))))
    assert [
        (r["case_employee_no"], r["case_name"], r["case_department"], r["contact_employee_no"])
        for r in rows
    ] == [(OTHER, "", "", "B001")]
    [row] = _xlsx_rows(client.get("/alerts.xlsx").content)
    assert row["阳性工号 Case employee no."] == OTHER and row["阳性姓名 Case name"] is None
    assert row["密接工号 Contact employee no."] == "B001"

    for url in ("/api/alerts", "/", "/alerts", "/alerts.csv"):
        text = client.get(url).text
        assert not [c for c in CASE if c in text], url


def test_the_case_department_and_hr_see_who_it_is(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    seed(engine, web_settings)
    sign_in(client, "supA")
    [alert] = client.get("/api/alerts").json()
    assert (alert["case_visible"], alert["employee_no"], alert["name"]) == (True, "A001", "张伟")
    assert [c["employee_no"] for c in alert["contacts"]] == ["A002"]  # their own people only
    banner = soup(client.get("/")).select_one("section.alert")
    assert banner is not None and "张伟 (A001)" in banner.get_text(" ", strip=True)

    post_form(client, "/logout", {}, page="/")
    sign_in(client, "hr1")
    [alert] = client.get("/api/alerts").json()
    assert alert["case_visible"] is True
    assert [c["employee_no"] for c in alert["contacts"]] == ["A002", "B001"]
    rows = _xlsx_rows(client.get("/alerts.xlsx").content)
    assert {r["密接工号 Contact employee no."] for r in rows} == {"A002", "B001"}
    assert {r["阳性工号 Case employee no."] for r in rows} == {"A001"}


def test_the_cli_department_view_is_the_same(
    cli: Any, engine: Engine, web_settings: Settings
) -> None:
    seed(engine, web_settings)
    result = cli("alerts", "--department", "物流部", "--format", "json")
    assert result.exit_code == 0, result.output
    [alert] = json.loads(result.stdout)
    assert alert["case_visible"] is False and alert["name"] is None
    table = cli("alerts", "--department", "物流部")
    assert table.exit_code == 0, table.output
    assert OTHER in table.output and "张伟" not in table.output

"""What an upload says about its columns and its problems, in the uploader's language: the
results preview names columns by their headers as the clerk wrote them (never ``sampled_at``),
lists the columns it did not read by their headers, and the error-report workbook (roster and
results, from the web and from the CLI) is written in the uploader's language."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.compliance_fixtures import app_at, policy
from tests.missed_world import NOW
from tests.test_web_workflows import roster_xlsx, upload
from tests.web_support import make_user, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)

# The clerk's own headers: English ones a lab sends, a remarks column no alias names, and a
# column without a header.
LAB_SHEET = (
    "Employee No,Name,Sampling time,Result,Lab remarks,\n"
    "A001,张伟,,阴性,ok,x\n"
    "B001,李娜,2022-05-10 09:30,maybe,,\n"
    "X404,无名,2022-05-10 09:30,阴性,,\n"
).encode()

ROSTER_ROWS = [
    ["0001", "张伟", "炼钢厂", "炼钢一班", "叉车司机", "13800000001"],
    ["0003", "", "后勤部", "食堂班", "厨师", "13900000003"],
]


def _columns(page: Any) -> list[str]:
    return [tr.select("td")[2].get_text() for tr in page.select("table.errors tbody tr")]


def _sheet(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def test_results_preview_names_columns_as_the_clerk_wrote_them(
    client: TestClient, engine: Engine
) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr", language="zh")
    sign_in(client, "hr1")
    r = upload(client, "results", "lab.csv", LAB_SHEET)
    assert r.status_code == 303, r.text
    page = soup(client.get(r.headers["location"]))
    columns = _columns(page)
    assert "Sampling time" in columns and "Result" in columns  # not 采样时间 / 检测结果
    assert "Employee No" in columns  # the row that names nobody, by its identity column
    text = page.get_text()
    assert "sampled_at" not in text and "None" not in text
    unread = {
        li["data-letter"]: li.get_text(" ", strip=True) for li in page.select(".unread-columns li")
    }
    assert set(unread) == {"E", "F"}
    assert "Lab remarks" in unread["E"] and "第 E 列" in unread["E"]
    assert "没有表头" in unread["F"]


def test_results_error_report_in_the_uploaders_language(client: TestClient, engine: Engine) -> None:
    week19(engine)
    for name, lang in (("hr_zh", "zh"), ("hr_en", "en")):
        make_user(engine, name, "hr", language=lang)
        sign_in(client, name)
        r = upload(client, "results", "lab.csv", LAB_SHEET)
        report = client.get(r.headers["location"] + "/errors.xlsx")
        assert report.status_code == 200
        sheets = _sheet(report.content)
        if lang == "zh":
            rows = sheets["错误"]
            assert rows[0] == ("工作表", "行", "列", "值", "问题")
            problems = {row[2]: row[4] for row in rows[1:]}
            assert problems["Sampling time"] == "采样时间为空"
            assert str(problems["Employee No"]).startswith("没有工号为 X404 的人员")
            assert sheets["lab.csv"][0][0] == "行" and sheets["lab.csv"][0][-1] == "问题"
        else:
            rows = sheets["Errors"]
            assert rows[0] == ("Sheet", "Row", "Column", "Value", "Problem")
            problems = {row[2]: row[4] for row in rows[1:]}
            assert "empty" in str(problems["Sampling time"])
            assert sheets["lab.csv"][0][0] == "Row"


def test_roster_error_report_in_the_uploaders_language(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr", language="zh")
    sign_in(client, "hr1")
    r = upload(client, "roster", "花名册.xlsx", roster_xlsx(ROSTER_ROWS))
    assert r.status_code == 303, r.text
    sheets = _sheet(client.get(r.headers["location"] + "/errors.xlsx").content)
    rows = sheets["错误"]
    assert rows[0] == ("工作表", "行", "列", "值", "问题")
    assert ("姓名", "缺少姓名") in {(row[2], row[4]) for row in rows[1:]}


def test_the_cli_error_report_is_english_unless_told(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    from testrota.actions.roster import ImportRoster, import_roster
    from testrota.audit import Actor

    roster = tmp_path / "花名册.xlsx"
    roster.write_bytes(roster_xlsx(ROSTER_ROWS))
    english = tmp_path / "errors.xlsx"
    result = cli("import", str(roster), "--dry-run", "--errors", str(english))
    assert result.exit_code == 0, result.output
    rows = _sheet(english.read_bytes())["Errors"]
    assert rows[0] == ("Sheet", "Row", "Column", "Value", "Problem")
    assert ("姓名", "missing name") in {(row[2], row[4]) for row in rows[1:]}
    # The language is a parameter of the use case: the CLI's language option passes it on.
    chinese = tmp_path / "错误.xlsx"
    import_roster(
        app_at(engine, NOW, policy()),
        ImportRoster(roster, Actor.cli("hr"), dry_run=True, errors_report=chinese, lang="zh"),
    )
    rows = _sheet(chinese.read_bytes())["错误"]
    assert ("姓名", "缺少姓名") in {(row[2], row[4]) for row in rows[1:]}

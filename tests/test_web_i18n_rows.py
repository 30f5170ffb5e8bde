"""An import's problems on the preview page read in the clerk's language: row errors, the
rows that match nobody, skipped sheets, field names (never a raw code or "None")."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.test_web_workflows import results_csv, roster_xlsx, upload
from tests.web_support import make_user, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)

ROWS = [
    ["0001", "张伟", "炼钢厂", "炼钢一班", "叉车司机", "13800000001"],
    ["0001", "王芳", "炼钢厂", "炼钢一班", "炉前工", "13800000002"],
    ["0003", "", "后勤部", "食堂班", "厨师", "13900000003"],
    ["0004", "刘洋", "后勤部", "保洁班", "保洁员", "024-4567-8901"],
]


def _problems(page: object) -> list[tuple[str, str]]:
    return [
        (tds[2].get_text(), tds[4].get_text())
        for tds in (tr.select("td") for tr in page.select("table.errors tbody tr"))  # type: ignore[attr-defined]
    ]


def test_roster_errors_in_chinese_and_in_english(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr", language="zh")
    sign_in(client, "hr1")
    r = upload(client, "roster", "花名册.xlsx", roster_xlsx(ROWS))
    assert r.status_code == 303, r.text
    problems = _problems(soup(client.get(r.headers["location"])))
    assert ("工号", "工号 0001 重复：第 3 行和第 4 行；已跳过后一行") in problems
    assert ("姓名", "缺少姓名") in problems
    landline = next(p for c, p in problems if c == "手机号")
    assert landline == "+862445678901 是座机，不是手机：收不到提醒短信；此人已保留，但没有手机号"
    # the same preview read by an English-speaking colleague
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": _csrf(client)})
    make_user(engine, "hr2", "hr", language="en")
    sign_in(client, "hr2")
    r = upload(client, "roster", "roster.xlsx", roster_xlsx(ROWS))
    problems = _problems(soup(client.get(r.headers["location"])))
    assert ("姓名", "missing name") in problems  # the column as the clerk wrote it


def _csrf(client: TestClient) -> str:
    from tests.web_support import csrf_of

    return csrf_of(client, "/")


def test_results_problems_in_chinese(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr", language="zh")
    sign_in(client, "hr1")
    data = results_csv(
        [
            "A001,张伟,,阴性",
            "B001,李娜,2022-13-40 09:30,阴性",
            "X404,无名,2022-05-10 09:30,阴性",
            "B002,刘洋,2022-05-10 09:30,也许",
        ]
    )
    r = upload(client, "results", "lab.csv", data)
    assert r.status_code == 303, r.text
    page = soup(client.get(r.headers["location"]))
    problems = _problems(page)
    assert ("采样时间", "采样时间为空") in problems
    assert ("检测结果", "不是检测结果：请填写 阴性/阳性/待检/无效") in problems
    assert any(p.startswith("无法识别采样时间 '2022-13-40 09:30'") for _, p in problems)
    unmatched = next(p for _, p in problems if "X404" in p)
    assert unmatched == "没有工号为 X404 的人员（请将此人加入花名册，或修改该行）"
    text = page.select_one("table.errors").get_text()
    assert "None" not in text and "sampled_at" not in text

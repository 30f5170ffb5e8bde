"""Multi-step flows: upload preview then apply, roles mapping, overrides, the personal page."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.db.models import (
    Appointment,
    AuditEvent,
    Person,
    RosterImport,
    TestResult,
    WebUpload,
)
from testrota.notify.links import make_personal_token
from testrota.settings import Settings
from tests.web_support import (
    add_slot,
    csrf_of,
    local,
    make_user,
    post_form,
    sign_in,
    soup,
    two_departments,
    week19,
)

pytest_plugins = ("tests.web_fixtures",)


def roster_xlsx(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["炼钢厂职工花名册（2022年5月）"])
    ws.append(["序号", "工号", "姓名", "部门", "班组", "岗位", "手机号"])
    for i, row in enumerate(rows, start=1):
        ws.append([i, *row])
    ws.append(["合计", len(rows)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


ROSTER = [
    ["0001", "张伟", "炼钢厂", "炼钢一班", "叉车司机", "138 0000 0001"],
    ["0002", "王芳", "炼钢厂", "炼钢一班", "炉前工", "13800000002"],
    ["0003", "李娜", "后勤部", "食堂班", "厨师", "+86-139-0000-0003"],
    ["0004", "刘洋", "后勤部", "保洁班", "保洁员", "12345"],
]


def upload(client: TestClient, kind: str, name: str, data: bytes, **form: str) -> Any:
    token = csrf_of(client, f"/upload/{kind}")
    return client.post(
        f"/upload/{kind}",
        data={"csrf_token": token, **form},
        files={"file": (name, data)},
        follow_redirects=False,
    )


def stat(page: Any, key: str) -> int:
    return int(page.select_one(f'.stat[data-key="{key}"] .value').get_text(strip=True))


def people_count(engine: Engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(Person)).all())


def test_roster_upload_preview_then_apply(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    r = upload(client, "roster", "花名册.xlsx", roster_xlsx(ROSTER))
    assert r.status_code == 303
    preview = soup(client.get(r.headers["location"]))
    assert (
        stat(preview, "rows"),
        stat(preview, "added"),
        stat(preview, "high_risk"),
        stat(preview, "errors"),
    ) == (4, 4, 3, 1)
    assert people_count(engine) == 0  # nothing written by the preview
    categories = {td.get_text(strip=True) for td in preview.select("table.by-category td")}
    assert {"driver", "canteen", "cleaning"} <= categories
    error = preview.select_one("table.errors tbody tr").get_text(" ", strip=True)
    assert "12345" in error and "6" in error  # the Excel row number of 刘洋
    report = client.get(preview.select_one('a[href$="errors.xlsx"]')["href"])
    ws = load_workbook(io.BytesIO(report.content)).active
    assert any("12345" in str(c.value) for row in ws.iter_rows() for c in row)
    apply = preview.select_one('form[action$="/apply"]')
    r = client.post(
        apply["action"],
        data={"csrf_token": csrf_of(client, "/upload/roster")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = soup(client.get(r.headers["location"]))
    assert "4 added" in page.select_one(".flash").get_text()
    assert people_count(engine) == 4
    with Session(engine) as s:
        imp = s.exec(select(RosterImport)).one()
        assert imp.imported_by == "web:hr1" and imp.counts["added"] == 4
        assert s.exec(select(WebUpload)).all() == []  # the stored file is gone
    # the preview page of an applied upload is gone too
    assert client.get(r.headers["location"].split("?")[0] + "/x").status_code == 404


def test_roster_upload_cancel_and_bad_files(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    r = upload(client, "roster", "roster.xlsx", roster_xlsx(ROSTER))
    preview_url = r.headers["location"]
    cancel = soup(client.get(preview_url)).select_one('form[action$="/cancel"]')
    r = client.post(
        cancel["action"],
        data={"csrf_token": csrf_of(client, "/upload/roster")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get(preview_url).status_code == 404
    assert people_count(engine) == 0
    with Session(engine) as s:
        cancelled = s.exec(select(AuditEvent).where(AuditEvent.action == "upload.cancelled")).one()
    assert (cancelled.actor, cancelled.entity) == ("web:hr1", "upload")
    assert cancelled.details == {"kind": "roster", "file": "roster.xlsx"}
    assert (
        client.post(
            cancel["action"],
            data={"csrf_token": csrf_of(client, "/upload/roster")},
            follow_redirects=False,
        ).status_code
        == 404
    )  # gone: nothing to cancel
    r = upload(client, "roster", "notes.txt", b"just some words, not a roster\n")
    assert r.status_code == 400
    assert soup(r).select_one('[role="alert"]').get_text(strip=True)
    r = upload(client, "roster", "virus.exe", b"MZ")
    assert r.status_code == 400 and "spreadsheet" in soup(r).select_one('[role="alert"]').text
    with Session(engine) as s:
        assert s.exec(select(WebUpload)).all() == []


def test_a_preview_kept_by_an_older_version_is_uploaded_again(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    r = upload(client, "roster", "roster.xlsx", roster_xlsx(ROSTER))
    with Session(engine) as s:
        row = s.exec(select(WebUpload)).one()
        row.preview = {"rows": 4, "added": 4}  # the shape an older version stored
        s.add(row)
        s.commit()
    page = client.get(r.headers["location"])
    assert page.status_code == 404 and "upload the file again" in page.text


def test_full_roster_needs_force_to_deactivate_many(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    r = upload(client, "roster", "all.xlsx", roster_xlsx(ROSTER))
    client.post(
        r.headers["location"] + "/apply", data={"csrf_token": csrf_of(client, "/upload/roster")}
    )
    r = upload(client, "roster", "half.xlsx", roster_xlsx(ROSTER[:2]), full="1")
    preview = soup(client.get(r.headers["location"]))
    assert stat(preview, "deactivated") == 2
    assert preview.select_one(".warn-box") is not None
    assert preview.select_one('input[name="force"]') is not None
    r2 = client.post(
        r.headers["location"] + "/apply", data={"csrf_token": csrf_of(client, "/upload/roster")}
    )
    assert r2.status_code == 400  # refused without the box ticked: the same rule as the CLI
    with Session(engine) as s:
        assert len(s.exec(select(Person).where(col(Person.active).is_(True))).all()) == 4
    r3 = client.post(
        r.headers["location"] + "/apply",
        data={"csrf_token": csrf_of(client, "/upload/roster"), "force": "1"},
        follow_redirects=False,
    )
    assert r3.status_code == 303
    with Session(engine) as s:
        assert len(s.exec(select(Person).where(col(Person.active).is_(True))).all()) == 2


def test_uploads_belong_to_who_made_them(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    from testrota.web.app import create_app

    make_user(engine, "hr1", "hr")
    make_user(engine, "hr2", "hr")
    sign_in(client, "hr1")
    r = upload(client, "roster", "roster.xlsx", roster_xlsx(ROSTER))
    with TestClient(create_app(web_settings)) as other:
        sign_in(other, "hr2")
        assert other.get(r.headers["location"]).status_code == 404


def results_csv(lines: list[str]) -> bytes:
    return ("工号,姓名,采样时间,检测结果\n" + "\n".join(lines) + "\n").encode("utf-8")


def test_results_upload_preview_then_apply(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    data = results_csv(
        [
            "A001,张伟,2022-05-10 09:00,阴性",
            "B001,李娜,2022-05-10 09:30,阴性",
            "X404,无名,2022-05-10 09:30,阴性",
        ]
    )
    r = upload(client, "results", "lab.csv", data)
    assert r.status_code == 303, r.text
    preview = soup(client.get(r.headers["location"]))
    assert stat(preview, "rows") == 3 and stat(preview, "recorded") == 2
    assert stat(preview, "unmatched") == 1
    assert "X404" in preview.select_one("table.errors").get_text()
    # The error report is the CLI's --errors workbook: the row as the sheet has it, marked.
    report = client.get(preview.select_one('a[href$="errors.xlsx"]')["href"])
    assert report.status_code == 200
    cells = [
        str(c.value)
        for ws in load_workbook(io.BytesIO(report.content)).worksheets
        for row in ws.iter_rows()
        for c in row
    ]
    assert "X404" in cells and any("no person has employee number X404" in c for c in cells)
    with Session(engine) as s:
        assert s.exec(select(TestResult)).all() == []
    r = client.post(
        r.headers["location"] + "/apply",
        data={"csrf_token": csrf_of(client, "/upload/results")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with Session(engine) as s:
        results = s.exec(select(TestResult)).all()
        assert sorted(t.result for t in results) == ["negative", "negative"]
        assert {t.recorded_by for t in results} == {"web:hr1"}


def test_roles_page_maps_a_title(client: TestClient, engine: Engine) -> None:
    two_departments(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get("/roles", params={"unmatched": "1"}))
    rows = page.select("table.roles tbody tr")
    assert [r["data-role"] for r in rows] == ["炉前工"]
    form = soup(client.get(rows[0].select_one("a.change")["href"])).select_one("form.role-change")
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    data |= {"scope": "department", "category": "cleaning", "reason": "cleans", "confirm": "1"}
    r = client.post(form["action"], data=data, follow_redirects=False)
    assert r.status_code == 303
    assert "1 people" in soup(client.get(r.headers["location"])).select_one(".flash").text
    with Session(engine) as s:
        p = s.exec(select(Person).where(Person.employee_no == "A002")).one()
        assert p.risk_category == "cleaning"
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "risk.role_override")).one()
        assert event.actor == "web:hr1"
    assert soup(client.get("/roles?unmatched=1")).select("table.roles tbody tr") == []


def test_hr_overrides_a_persons_category(client: TestClient, engine: Engine) -> None:
    two_departments(engine)
    make_user(engine, "hr1", "hr")
    make_user(engine, "sup", "supervisor", ["炼钢厂"])
    sign_in(client, "hr1")
    page = soup(client.get("/people/A001"))
    assert page.select_one(".matched-by").get_text(strip=True) == "role title"
    form = page.select_one("form.override")
    r = client.post(
        form["action"],
        data={
            "csrf_token": csrf_of(client, "/people/A001"),
            "category": "none",
            "reason": "调岗 moved to office",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = soup(client.get("/people/A001"))
    assert page.select_one(".matched-by").get_text(strip=True) == "set by HR"
    assert "Not high-risk" in page.get_text()
    r = post_form(
        client, "/people/A001/override", {"category": "driver", "reason": ""}, page="/people/A001"
    )
    assert r.status_code == 400
    # a supervisor sees the page but not the form, and cannot post it
    post_form(client, "/logout", {}, page="/people")
    sign_in(client, "sup")
    assert soup(client.get("/people/A001")).select_one("form.override") is None
    r = post_form(
        client, "/people/A001/override", {"category": "driver", "reason": "x"}, page="/people/A001"
    )
    assert r.status_code == 403


def test_personal_page_move_and_opt_out(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    ids = week19(engine)
    fri = add_slot(engine, "2022-05-13 08:00")
    sat = add_slot(engine, "2022-05-14 08:00")
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == "B001")).one()
    token = make_personal_token(web_settings, person.id or 0)
    page = soup(client.get(f"/me/{token}"))
    assert "李娜" in page.h1.get_text()
    assert len(page.select("ul.appointments li")) == 2
    page = soup(client.get(f"/me/{token}", params={"move": ids["B001-thu"]}))
    offered = {int(i["value"]) for i in page.select('input[name="slot_id"]')}
    # Thursday 09:00 and Friday and Saturday; the gap rule allows them all after Monday
    assert offered == {ids["thu2"], fri, sat}
    r = post_form(
        client,
        f"/me/{token}/move",
        {"appointment_id": str(ids["B001-thu"]), "slot_id": str(sat)},
        page=f"/me/{token}",
    )
    assert r.status_code == 303
    with Session(engine) as s:
        appt = s.get(Appointment, ids["B001-thu"])
        assert appt is not None and appt.slot_id == sat
        assert appt.starts_at == local("2022-05-14 08:00")
    post_form(client, f"/me/{token}/texts", {"opt_out": "1", "confirm": "1"}, page=f"/me/{token}")
    with Session(engine) as s:
        assert s.exec(select(Person).where(Person.employee_no == "B001")).one().opted_out
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "person.opted_out")).one()
    # a forged or altered token opens nothing
    assert client.get(f"/me/{token[:-2]}xx").status_code == 404
    assert client.get("/me/not-a-token").status_code == 404


def test_schedule_replan_button(client: TestClient, engine: Engine) -> None:
    two_departments(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    r = post_form(client, "/schedule/plan", {"week": "2022-W20"}, page="/schedule")
    assert r.status_code == 303
    page = soup(client.get(r.headers["location"]))
    assert page.select_one(".plan-report") is not None
    with Session(engine) as s:
        planned = s.exec(select(Appointment).where(Appointment.week == "2022-W20")).all()
        assert len(planned) == 6  # three high-risk people, twice each
        assert (
            s.exec(select(AuditEvent).where(AuditEvent.action == "plan.week")).one().actor
            == "web:hr1"
        )

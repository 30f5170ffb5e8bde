"""Pages through TestClient, read with BeautifulSoup: scoping, filters, exports, excuses."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import Appointment, AuditEvent, Message, Person, TestResult
from tests.web_support import (
    add_people,
    add_slot,
    book,
    make_user,
    post_form,
    sign_in,
    soup,
    two_departments,
    week19,
)

pytest_plugins = ("tests.web_fixtures",)


def texts(page: object, selector: str) -> list[str]:
    return [el.get_text(" ", strip=True) for el in page.select(selector)]  # type: ignore[attr-defined]


def test_people_search_and_filters(client: TestClient, engine: Engine) -> None:
    two_departments(engine)
    add_people(
        engine, [{"employee_no": "C009", "name": "赵六", "department": "炼钢厂", "active": False}]
    )
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    rows = soup(client.get("/people")).select("table.people tbody tr")
    assert len(rows) == 4  # active only
    page = soup(client.get("/people", params={"q": "李"}))
    assert texts(page, "table.people tbody td:nth-of-type(1)") == ["B001"]
    page = soup(client.get("/people", params={"q": "138 0000 0002"}))  # phone as typed
    assert texts(page, "table.people tbody td:nth-of-type(1)") == ["A002"]
    page = soup(client.get("/people", params={"category": "driver"}))
    assert texts(page, "table.people tbody td:nth-of-type(1)") == ["A001", "B002"]
    page = soup(client.get("/people", params={"high_risk": "no"}))
    assert texts(page, "table.people tbody td:nth-of-type(1)") == ["A002"]
    page = soup(client.get("/people", params={"department": "物流部", "grid_unit": "物流二组"}))
    assert texts(page, "table.people tbody td:nth-of-type(1)") == ["B001", "B002"]
    page = soup(client.get("/people", params={"active": "no"}))
    assert texts(page, "table.people tbody td:nth-of-type(1)") == ["C009"]


def test_supervisor_sees_only_their_department(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "sup", "supervisor", ["炼钢厂"])
    sign_in(client, "sup")
    # pages
    page = soup(client.get("/people"))
    assert texts(page, "table.people tbody td:nth-of-type(1)") == ["A001", "A002"]
    options = [o["value"] for o in page.select('select[name="department"] option') if o["value"]]
    assert options == ["炼钢厂"]
    assert (
        soup(client.get("/people", params={"department": "物流部"})).select("table.people tbody tr")
        == []
    )
    assert client.get("/people/B001").status_code == 404
    assert client.get("/people/A001").status_code == 200
    missed = soup(client.get("/missed"))
    assert [tr["data-employee"] for tr in missed.select("table.missed tbody tr")] == ["A001"]
    assert (
        soup(client.get("/missed", params={"department": "物流部"})).select("table.missed tbody tr")
        == []
    )
    # exports
    wb = load_workbook(io.BytesIO(client.get("/missed.xlsx").content))
    ws = wb.active
    assert [row[0] for row in ws.iter_rows(min_row=2, values_only=True)] == ["A001"]
    csv_text = client.get("/missed.csv", params={"department": "物流部"}).text
    assert "B001" not in csv_text and "B002" not in csv_text
    # API
    body = client.get("/api/people").json()
    assert {p["employee_no"] for p in body["people"]} == {"A001", "A002"}
    assert client.get("/api/people/B001").status_code == 404
    assert [r["employee_no"] for r in client.get("/api/missed").json()] == ["A001"]
    assert client.get("/api/missed", params={"department": "物流部"}).json() == []
    assert client.get("/api/status/B001").status_code == 404
    schedule = client.get("/api/schedule", params={"week": "2022-W19"}).json()
    assert {a["employee_no"] for a in schedule["appointments"]} == {"A001"}
    compliance = client.get("/api/compliance", params={"week": "2022-W19"}).json()
    assert [d["department"] for d in compliance["departments"]] == ["炼钢厂"]
    # HR-only pages stay closed
    for path in ("/roles", "/outbox", "/upload/roster", "/api/roles", "/api/outbox"):
        assert client.get(path).status_code == 403, path


def test_missed_list_filters_sorts_and_exports(client: TestClient, engine: Engine) -> None:
    week19(engine)
    last_week = add_slot(engine, "2022-05-05 08:00")  # Thursday of W18, never tested
    book(engine, "B001", last_week)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get("/missed", params={"week": "2022-W19"}))
    rows = page.select("table.missed tbody tr")
    assert [tr["data-employee"] for tr in rows] == ["A001", "B001", "B002"]
    streak = [tr["data-employee"] for tr in page.select("table.missed tbody tr.streak")]
    assert streak == ["B001"]  # missed W18 and W19
    page = soup(client.get("/missed", params={"week": "2022-W19", "sort": "-employee_no"}))
    assert [tr["data-employee"] for tr in page.select("table.missed tbody tr")] == [
        "B002",
        "B001",
        "A001",
    ]
    page = soup(
        client.get(
            "/missed", params={"week": "2022-W19", "department": "物流部", "grid_unit": "物流二组"}
        )
    )
    assert [tr["data-employee"] for tr in page.select("table.missed tbody tr")] == ["B001", "B002"]
    link = page.select_one("a.export-xlsx")["href"]
    r = client.get(link)
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    ws = load_workbook(io.BytesIO(r.content)).active
    header = [c.value for c in ws[1]]
    assert header[0].endswith("Employee no.")
    body = list(ws.iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in body] == ["B001", "B002"]
    assert ws.freeze_panes == "A2"
    r = client.get(page.select_one("a.export-csv")["href"])
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("employee_no,name,department")
    assert [line.split(",")[0] for line in lines[1:]] == ["B001", "B002"]
    # last week: only B001
    page = soup(client.get("/missed", params={"week": "2022-W18"}))
    assert [tr["data-employee"] for tr in page.select("table.missed tbody tr")] == ["B001"]


def test_formula_in_a_name_stays_text_in_exports(client: TestClient, engine: Engine) -> None:
    week19(engine)
    with Session(engine) as s:
        p = s.exec(select(Person).where(Person.employee_no == "A001")).one()
        p.name = '=HYPERLINK("http://x")'
        s.add(p)
        s.commit()
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    ws = load_workbook(io.BytesIO(client.get("/missed.xlsx?week=2022-W19").content)).active
    cell = ws["B2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    assert "'=HYPERLINK" in client.get("/missed.csv?week=2022-W19").text


def test_excuse_flow(client: TestClient, engine: Engine) -> None:
    ids = week19(engine)
    make_user(engine, "sup", "supervisor", ["物流部"])
    sign_in(client, "sup")
    page = soup(client.get("/missed"))
    form = page.select_one('tr[data-employee="B001"] form.excuse')
    data = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    data["reason"] = "病假 sick leave"
    r = client.post(form["action"], data=data, follow_redirects=False)
    assert r.status_code == 303
    page = soup(client.get(r.headers["location"]))
    assert "Excused" in page.select_one(".flash").get_text()
    assert [tr["data-employee"] for tr in page.select("table.missed tbody tr")] == ["B002"]
    with Session(engine) as s:
        appt = s.get(Appointment, ids["B001-mon"])
        assert appt is not None
        assert (appt.status, appt.excused_by, appt.excused_reason) == (
            "excused",
            "web:sup",
            "病假 sick leave",
        )
        event = s.exec(select(AuditEvent).where(AuditEvent.entity_id == str(appt.id))).one()
        assert (event.action, event.actor) == ("appointment.excused", "web:sup")
    # another department's person: refused, nothing changes
    r = post_form(
        client,
        "/missed/excuse",
        {"employee_no": "A001", "reason": "x", "appointment_id": str(ids["A001-mon"])},
        page="/missed",
    )
    assert r.status_code == 403
    r = client.post(
        "/api/excuse",
        json={"employee_no": "A001", "reason": "x"},
        headers={"X-CSRF-Token": client.get("/api/session").json()["csrf_token"]},
    )
    assert r.status_code == 404
    with Session(engine) as s:
        appt = s.get(Appointment, ids["A001-mon"])
        assert appt is not None and appt.status == "missed"
    # an excuse without the CSRF token is refused
    r = client.post("/missed/excuse", data={"employee_no": "B002", "reason": "x"})
    assert r.status_code == 403


def test_a_refused_excuse_keeps_what_was_typed_out_of_the_session_cookie(
    client: TestClient, engine: Engine
) -> None:
    """HR's refused excuse is shown on the next page from the session, which a signed cookie
    carries: an employee number of half a megabyte made a 667 KB cookie (a browser drops it,
    a proxy answers 502). The form's fields are bounded; a real number still gets its message."""
    week19(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    token = client.get("/api/session").json()["csrf_token"]
    for field, value in (("employee_no", "Z" * 500_000), ("back", "/missed" + "x" * 500_000)):
        data = {"employee_no": "Z1", "reason": "病假", field: value}
        r = client.post(
            "/missed/excuse", data=data, headers={"X-CSRF-Token": token}, follow_redirects=False
        )
        assert r.status_code == 400, field
        assert len(r.headers.get("set-cookie", "")) < 4096
        assert len(r.headers.get("location", "")) < 4096
    r = post_form(client, "/missed/excuse", {"employee_no": "Z1", "reason": "病假"}, page="/missed")
    assert r.status_code == 303 and len(r.headers.get("set-cookie", "")) < 4096
    assert "Z1" in client.get("/missed").text  # the message, shown once


def test_check_in_flow(client: TestClient, engine: Engine) -> None:
    week19(engine)
    wed = add_slot(engine, "2022-05-11 09:45", minutes=30)
    book(engine, "A002", wed)
    make_user(engine, "gate1", "site")
    sign_in(client, "gate1")
    page = soup(client.get("/checkin"))
    scan = page.select_one("input.scan")
    assert scan is not None and scan.has_attr("autofocus")
    r = post_form(client, "/checkin", {"employee_no": "A002", "site": "S1"}, page="/checkin")
    assert r.status_code == 303
    page = soup(client.get("/checkin"))
    answer = page.select_one(".answer")
    assert "green" in answer["class"]
    assert answer.select_one(".name").get_text() == "王芳"
    assert "Expected in this slot" in answer.get_text()
    # the same person again in the same slot: nothing recorded
    post_form(client, "/checkin", {"employee_no": "A002", "site": "S1"}, page="/checkin")
    answer = soup(client.get("/checkin")).select_one(".answer")
    assert "Already checked in" in answer.get_text()
    # someone not expected now (full-width digits as a phone keyboard may type them)
    post_form(client, "/checkin", {"employee_no": "Ａ００１", "site": "S1"}, page="/checkin")
    answer = soup(client.get("/checkin")).select_one(".answer")
    assert "amber" in answer["class"] and "not expected" in answer.get_text()
    post_form(client, "/checkin", {"employee_no": "Z999", "site": "S1"}, page="/checkin")
    answer = soup(client.get("/checkin")).select_one(".answer")
    assert "red" in answer["class"] and "Z999" in answer.get_text()
    page = soup(client.get("/checkin"))
    assert len(page.select("ul.recent li")) == 2
    with Session(engine) as s:
        tests = s.exec(select(TestResult).order_by(TestResult.id)).all()
    assert [(t.source, t.recorded_by) for t in tests] == [("checkin", "web:gate1")] * 2


def test_status_lookup_lights(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "gate1", "site")
    sign_in(client, "gate1")
    page = soup(client.get("/status", params={"employee_no": "A001"}))
    assert page.select_one(".answer")["data-status"] == "red"  # missed Monday
    page = soup(client.get("/status", params={"employee_no": "A002"}))
    assert page.select_one(".answer")["data-status"] == "green"  # not high-risk: nothing due
    assert client.get("/status", params={"employee_no": "NOPE"}).status_code == 404
    body = client.get("/api/status/B001").json()
    assert body["status"] == "red" and body["required"] == 2


def test_dashboard_charts_are_scoped(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr")
    make_user(engine, "sup", "supervisor", ["炼钢厂"])
    sign_in(client, "hr1")
    page = soup(client.get("/", params={"week": "2022-W19"}))
    bars = page.select("svg.bars.wide rect.bar")
    assert sorted(b["data-label"] for b in bars) == ["炼钢厂", "物流部"]
    assert page.select_one('.stat[data-key="missed"] .value').get_text(strip=True) == "3"
    assert len(page.select("svg.line-chart circle.dot")) >= 1
    assert page.select_one('.stat[data-key="high_risk"] .value').get_text(strip=True) == "3"
    post_form(client, "/logout", {}, page="/")
    sign_in(client, "sup")
    page = soup(client.get("/", params={"week": "2022-W19"}))
    assert [b["data-label"] for b in page.select("svg.bars.wide rect.bar")] == ["炼钢厂"]
    assert page.select_one('.stat[data-key="missed"] .value').get_text(strip=True) == "1"


def test_schedule_week_view(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get("/schedule", params={"week": "2022-W19"}))
    slots = page.select(".slot")
    assert [s["data-start"] for s in slots] == ["08:00", "08:00", "09:00"]
    assert [s["data-booked"] for s in slots] == ["3", "3", "0"]
    assert "物流二组" in slots[0].get_text()
    assert page.select_one("form.replan") is not None


def test_outbox_retry_of_failed(client: TestClient, engine: Engine) -> None:
    two_departments(engine)
    at = datetime(2022, 5, 10, 10, 0, tzinfo=UTC)
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == "A001")).one()
        for i, status in enumerate(("failed", "delivered", "failed")):
            s.add(
                Message(
                    kind="reminder_eve",
                    dedupe_key=f"k{i}",
                    person_id=person.id,
                    to=person.phone or "",
                    body=f"text {i}",
                    due_at=at,
                    status=status,
                    attempts=5 if status == "failed" else 1,
                    error_code="30003",
                    created_at=at,
                )
            )
        s.commit()
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get("/outbox", params={"status": "failed"}))
    rows = page.select("table.outbox tbody tr")
    assert [r["data-status"] for r in rows] == ["failed", "failed"]
    form = rows[0].select_one('form[action="/outbox/retry"]')
    data = {i["name"]: i["value"] for i in form.select("input")}
    assert client.post("/outbox/retry", data=data, follow_redirects=False).status_code == 303
    with Session(engine) as s:
        statuses = sorted(m.status for m in s.exec(select(Message)))
        assert statuses == ["delivered", "failed", "pending"]
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "message.retried")).one()
    post_form(client, "/outbox/retry", {"all_failed": "1"}, page="/outbox")
    with Session(engine) as s:
        assert sorted(m.status for m in s.exec(select(Message))) == [
            "delivered",
            "pending",
            "pending",
        ]
    assert client.get("/api/outbox").json()["counts"] == {"delivered": 1, "pending": 2}


def test_api_page_lists_the_operations(client: TestClient, engine: Engine) -> None:
    make_user(engine, "sup", "supervisor", ["物流部"])
    make_user(engine, "gate", "site")
    sign_in(client, "sup")
    page = soup(client.get("/api"))
    paths = [c.get_text() for c in page.select(".api-op h2 code")]
    assert "/api/missed" in paths and "/api/checkin" in paths
    assert page.select_one('script[src^="http"]') is None  # nothing from a CDN
    post_form(client, "/logout", {}, page="/api")
    sign_in(client, "gate")
    assert client.get("/api").status_code == 403


def test_dashboard_warns_when_the_sender_is_too_slow(client: TestClient, engine: Engine) -> None:
    from datetime import timedelta

    from sqlalchemy import insert

    from tests.web_support import add_site, local

    add_site(engine)
    start = local("2022-05-12 08:00")  # tomorrow morning: the evening reminders go out at 18:00
    at = datetime(2022, 5, 1, tzinfo=UTC)
    n = 3000  # 3,000 texts within half an hour need more than the policy's 1 text a second
    with engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {
                    "employee_no": f"X{i:05d}",
                    "name": f"人{i}",
                    "department": "物流部",
                    "phone": f"+86139{i:08d}",
                    "risk_category": "driver",
                    "created_at": at,
                    "updated_at": at,
                }
                for i in range(n)
            ],
        )
        ids = [r[0] for r in conn.execute(select(Person.id))]
        conn.execute(
            insert(Appointment),
            [
                {
                    "person_id": pid,
                    "site_code": "S1",
                    "week": "2022-W19",
                    "starts_at": start,
                    "ends_at": start + timedelta(minutes=15),
                    "created_at": at,
                    "updated_at": at,
                }
                for pid in ids
            ],
        )
    make_user(engine, "hr1", "hr")
    make_user(engine, "sup", "supervisor", ["物流部"])
    sign_in(client, "hr1")
    warning = soup(client.get("/")).select_one(".capacity")
    assert warning is not None and "3000" in warning.get_text()
    post_form(client, "/logout", {}, page="/")
    sign_in(client, "sup")
    assert soup(client.get("/")).select_one(".capacity") is None  # HR's business

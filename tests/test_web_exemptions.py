"""The exemptions page (``/exemptions``) and its API, as HR, a supervisor and the refused use it.

The world: 2022-W19 of two departments (``week19``): 张伟 (A001, 炼钢厂), 李娜 (B001) and
刘洋 (B002, 物流部), each booked on Monday (missed by now) and Thursday 08:00. It is Wednesday
2022-05-11, 10:00 in Shanghai. supA supervises 炼钢厂 alone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.db.engine import session_scope
from testrota.db.models import Appointment, AuditEvent, Exemption, Person
from tests.web_support import csrf_of, make_user, post_form, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)

NOW = datetime.fromisoformat("2022-05-11T10:00:00+08:00")


@pytest.fixture
def ids(engine: Engine) -> dict[str, int]:
    ids = week19(engine)
    make_user(engine, "hr1", "hr")
    make_user(engine, "hrzh", "hr", language="zh")
    make_user(engine, "supA", "supervisor", ["炼钢厂"])
    make_user(engine, "supzh", "supervisor", ["炼钢厂"], language="zh")
    make_user(engine, "site1", "site")
    return ids


def exempt(engine: Engine, employee_no: str, first: date, last: date, reason: str) -> int:
    """An exemption stored as another door (the CLI, a positive result) left it."""
    with session_scope(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == employee_no)).one()
        assert person.id is not None
        row = Exemption(
            person_id=person.id,
            start_date=first,
            end_date=last,
            reason=reason,
            created_by="cli:hr",
            created_at=NOW,
        )
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def exemptions(engine: Engine) -> list[tuple[str, date, date]]:
    with Session(engine) as s:
        rows = s.exec(
            select(Person.employee_no, Exemption.start_date, Exemption.end_date)
            .join(Person, col(Person.id) == col(Exemption.person_id))
            .order_by(col(Exemption.id))
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def audit(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    return [(e.action, e.actor) for e in events if e.action.startswith("exemption.")]


def status(engine: Engine, appointment_id: int) -> str:
    with Session(engine) as s:
        appt = s.get(Appointment, appointment_id)
    assert appt is not None
    return appt.status


def listed(response: Any) -> list[dict[str, str]]:
    """The list's rows as a reader sees them: each cell's text by its column header."""
    page = soup(response)
    table = page.select_one("table.exemptions")
    if table is None:
        return []
    headers = [th.get_text(" ", strip=True) for th in table.select("thead th")]
    return [
        {h: td.get_text(" ", strip=True) for h, td in zip(headers, tr.select("td"), strict=True)}
        | {"id": str(tr["data-id"])}
        for tr in table.select("tbody tr")
    ]


def field_error(response: Any, name: str) -> str:
    """The message beside an input of the add form, checked to be tied to the input."""
    page = soup(response)
    field = page.select_one(f'form.add-exemption input[name="{name}"]')
    assert field is not None
    assert field.get("aria-invalid") == "true", name
    assert field.get("aria-describedby") == f"error-{name}"
    message = page.select_one(f"#error-{name}")
    assert message is not None
    return message.get_text(strip=True)


def add(client: TestClient, **values: str) -> Any:
    return post_form(client, "/exemptions", values, page="/exemptions")


def test_hr_adds_lists_and_ends_an_exemption(
    client: TestClient, engine: Engine, ids: dict[str, int]
) -> None:
    sign_in(client, "hr1")
    page = client.get("/exemptions")
    assert page.status_code == 200
    assert soup(page).select_one('nav.nav a[href="/exemptions"]') is not None
    assert listed(page) == []

    r = add(client, employee_no="A001", start="2022-05-11", end="2022-05-13", reason="病假  flu")
    assert r.status_code == 303 and r.headers["location"] == "/exemptions"
    page = client.get("/exemptions")
    flash = soup(page).select_one(".flash.ok")
    assert flash is not None and flash.get_text(strip=True) == (
        "Exempted 张伟 (A001) from 2022-05-11 to 2022-05-13: 1 appointment(s) excused."
    )
    [row] = listed(page)
    assert {k: v for k, v in row.items() if k not in ("id", "Added by")} == {
        "Employee no.": "A001",
        "Name": "张伟",
        "Department": "炼钢厂",
        "Grid unit": "炼钢一班",
        "First day": "2022-05-11",
        "Last day": "2022-05-13",
        "Reason": "added by hand 病假 flu",
        "Status": "current",
        "End": "End… 张伟",
    }
    assert row["Added by"] == "web:hr1 2022-05-11 10:00"  # the site's zone
    # Thursday's appointment is excused; Monday's (missed before the exemption) stays missed
    assert status(engine, ids["A001-thu"]) == "excused"
    assert status(engine, ids["A001-mon"]) == "missed"

    # Filters: a day it covers, a day it does not
    assert [r["Employee no."] for r in listed(client.get("/exemptions?active_on=2022-05-13"))] == [
        "A001"
    ]
    assert listed(client.get("/exemptions?active_on=2022-05-14")) == []

    # Ending asks first: the confirmation page, its day back today or the first day
    end_page = soup(client.get(f"/exemptions/{row['id']}/end"))
    assert end_page.select_one("h1").get_text(strip=True) == "End the exemption"
    day = end_page.select_one('input[name="back_on"]')
    assert day is not None and day["value"] == "2022-05-11"
    r = post_form(
        client, f"/exemptions/{row['id']}/end", {"back_on": "2022-05-12"}, page="/exemptions"
    )
    assert r.status_code == 303
    page = client.get("/exemptions")
    flash = soup(page).select_one(".flash.ok")
    assert flash is not None and flash.get_text(strip=True) == (
        "The exemption of 张伟 (A001) now ends on 2022-05-11. 1 coming appointment(s) "
        "scheduled again."
    )
    assert [(r["Last day"], r["Status"]) for r in listed(page)] == [("2022-05-11", "current")]
    assert status(engine, ids["A001-thu"]) == "scheduled"
    assert audit(engine) == [("exemption.added", "web:hr1"), ("exemption.ended", "web:hr1")]


def test_positive_and_ended_exemptions_read_as_such(
    client: TestClient, engine: Engine, ids: dict[str, int]
) -> None:
    exempt(engine, "B001", date(2022, 5, 9), date(2022, 5, 22), "positive")
    exempt(engine, "B002", date(2022, 5, 1), date(2022, 5, 3), "年假")
    exempt(engine, "A001", date(2022, 5, 16), date(2022, 5, 20), "出差")
    sign_in(client, "hr1")
    rows = listed(client.get("/exemptions"))
    assert [(r["Employee no."], r["Reason"], r["Status"]) for r in rows] == [
        ("B001", "positive result", "current"),
        ("A001", "added by hand 出差", "upcoming"),
    ]
    rows = listed(client.get("/exemptions?ended=true"))
    assert [(r["Employee no."], r["Status"], r["End"]) for r in rows] == [
        ("B002", "over", ""),  # over: nothing to end
        ("B001", "current", "End… 李娜"),
        ("A001", "upcoming", "End… 张伟"),
    ]
    assert [r["Employee no."] for r in listed(client.get("/exemptions?department=物流部"))] == [
        "B001"
    ]
    api = client.get("/api/exemptions", params={"ended": "true"}).json()
    assert [(e["employee_no"], e["source"]) for e in api] == [
        ("B002", "manual"),
        ("B001", "positive"),
        ("A001", "manual"),
    ]
    # the fields of `exempt list --json`, with `source` added
    assert set(api[0]) == {
        "id",
        "employee_no",
        "name",
        "department",
        "grid_unit",
        "start_date",
        "end_date",
        "reason",
        "created_by",
        "created_at",
        "source",
    }
    assert api[0]["created_at"] == "2022-05-11T10:00:00+08:00"


def test_a_supervisor_sees_and_ends_only_their_own_peoples(
    client: TestClient, engine: Engine, ids: dict[str, int]
) -> None:
    theirs = exempt(engine, "B001", date(2022, 5, 11), date(2022, 5, 20), "家事")
    sign_in(client, "supA")
    assert listed(client.get("/exemptions")) == []
    assert listed(client.get("/exemptions?department=物流部&ended=true")) == []
    assert client.get("/api/exemptions", params={"department": "物流部"}).json() == []

    # The attack: another department's exemption by its id, through the page and the API
    assert client.get(f"/exemptions/{theirs}/end").status_code == 404
    r = post_form(client, f"/exemptions/{theirs}/end", {"back_on": "2022-05-12"}, page="/")
    assert r.status_code == 404
    token = csrf_of(client, "/exemptions")
    r = client.post(f"/api/exemptions/{theirs}/end", json={}, headers={"X-CSRF-Token": token})
    assert r.status_code == 404
    assert exemptions(engine) == [("B001", date(2022, 5, 11), date(2022, 5, 20))]
    assert status(engine, ids["B001-thu"]) == "scheduled"  # the stored row was not excusing

    # Exempting someone of another department, or a number that is nobody's: the same answer
    for number in ("B002", "Z999"):
        r = add(client, employee_no=number, start="2022-05-12", end="2022-05-13", reason="x")
        assert r.status_code == 403
        assert field_error(r, "employee_no") == "This person is not in your departments."
        assert "刘洋" not in r.text and "物流部" not in r.text
    r = client.post(
        "/api/exemptions",
        json={
            "employee_no": "B002",
            "start_date": "2022-05-12",
            "end_date": "2022-05-13",
            "reason": "x",
        },
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 404
    assert exemptions(engine) == [("B001", date(2022, 5, 11), date(2022, 5, 20))]

    # Their own people they manage
    r = add(client, employee_no="A001", start="2022-05-12", end="2022-05-12", reason="体检")
    assert r.status_code == 303
    [row] = listed(client.get("/exemptions"))
    assert (row["Employee no."], row["Added by"].split()[0]) == ("A001", "web:supA")
    r = post_form(client, f"/exemptions/{row['id']}/end", {"back_on": "2022-05-12"}, page="/")
    assert r.status_code == 303  # not begun by the day back: removed
    assert exemptions(engine) == [("B001", date(2022, 5, 11), date(2022, 5, 20))]
    assert audit(engine) == [("exemption.added", "web:supA"), ("exemption.removed", "web:supA")]


def test_site_staff_and_employees_get_no_access(
    client: TestClient, engine: Engine, ids: dict[str, int]
) -> None:
    one = exempt(engine, "A001", date(2022, 5, 11), date(2022, 5, 20), "病假")
    # nobody signed in (an employee has no account): the sign-in page, or 401 from the API
    r = client.get("/exemptions", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/exemptions").status_code == 401
    sign_in(client, "site1")
    assert soup(client.get("/checkin")).select_one('a[href="/exemptions"]') is None
    for url in ("/exemptions", f"/exemptions/{one}/end", "/api/exemptions"):
        assert client.get(url).status_code == 403, url
    r = add(client, employee_no="A002", start="2022-05-12", end="2022-05-13", reason="x")
    assert r.status_code == 403
    r = post_form(client, f"/exemptions/{one}/end", {"back_on": "2022-05-12"}, page="/checkin")
    assert r.status_code == 403
    assert exemptions(engine) == [("A001", date(2022, 5, 11), date(2022, 5, 20))]


def test_a_post_without_the_forms_token_changes_nothing(
    client: TestClient, engine: Engine, ids: dict[str, int]
) -> None:
    one = exempt(engine, "A001", date(2022, 5, 11), date(2022, 5, 20), "病假")
    sign_in(client, "hr1")
    form = {"employee_no": "B001", "start": "2022-05-12", "end": "2022-05-13", "reason": "x"}
    for token in (None, "forged"):
        data = form if token is None else {**form, "csrf_token": token}
        assert client.post("/exemptions", data=data).status_code == 403
        data = {"back_on": "2022-05-12"} | ({} if token is None else {"csrf_token": token})
        assert client.post(f"/exemptions/{one}/end", data=data).status_code == 403
    r = client.post(
        "/api/exemptions",
        json={"employee_no": "B001", "start_date": "2022-05-12", "end_date": "2022-05-13"}
        | {"reason": "x"},
    )
    assert r.status_code == 403
    assert exemptions(engine) == [("A001", date(2022, 5, 11), date(2022, 5, 20))]
    assert audit(engine) == []


BAD = {
    "en": {
        "employee_no": "unknown employee number 'Z999': check the number or import the roster",
        "end": "the exemption ends (2022-05-10) before it starts (2022-05-12)",
        "reason": "the reason is 401 characters; keep it under 400",
        "start": "1999-12-31 is out of range: give a day from 2000-01-01 to 2099-12-31",
        "empty": [
            "Give the person's employee number.",
            "Give the first day.",
            "Give the last day.",
            "Say why the person is exempt (e.g. sick leave, business trip).",
        ],
    },
    "zh": {
        "employee_no": "工号 'Z999' 不存在：请核对工号或先导入花名册",
        "end": "豁免的结束日期（2022-05-10）早于开始日期（2022-05-12）",
        "reason": "原因有 401 个字符，请不超过 400 个",
        "start": "1999-12-31 超出范围：请填写 2000-01-01 至 2099-12-31 之间的日期",
        "empty": [
            "请填写工号。",
            "请填写开始日期。",
            "请填写结束日期。",
            "请填写豁免原因（如：病假、出差）。",
        ],
    },
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bad_input_is_answered_beside_the_form_in_the_users_language(
    client: TestClient, engine: Engine, ids: dict[str, int], lang: str
) -> None:
    sign_in(client, "hr1" if lang == "en" else "hrzh")
    said = BAD[lang]
    good = {"employee_no": "A001", "start": "2022-05-12", "end": "2022-05-13", "reason": "病假"}

    r = add(client, **{**good, "employee_no": "Z999"})
    assert r.status_code == 400 and field_error(r, "employee_no") == said["employee_no"]
    r = add(client, **{**good, "end": "2022-05-10"})
    assert r.status_code == 400 and field_error(r, "end") == said["end"]
    r = add(client, **{**good, "start": "1999-12-31"})
    assert r.status_code == 400 and field_error(r, "start") == said["start"]
    r = add(client, **{**good, "reason": "长" * 401})
    assert r.status_code == 400 and field_error(r, "reason") == said["reason"]
    # what was typed is kept, to be corrected rather than typed again
    typed = soup(r).select_one('form.add-exemption input[name="employee_no"]')
    assert typed is not None and typed["value"] == "A001"

    r = add(client, employee_no="", start="", end="", reason=" ")
    assert r.status_code == 400
    assert [field_error(r, n) for n in ("employee_no", "start", "end", "reason")] == said["empty"]

    # and the API says why in its detail
    token = csrf_of(client, "/exemptions")
    r = client.post(
        "/api/exemptions",
        json={"employee_no": "A001", "start_date": "2022-05-12", "end_date": "2022-05-10"}
        | {"reason": "x"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 400 and "before it starts" in r.json()["detail"]
    # nothing half-written
    assert exemptions(engine) == [] and audit(engine) == []
    assert status(engine, ids["A001-thu"]) == "scheduled"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_refused_end_says_why_on_the_confirmation(
    client: TestClient, engine: Engine, ids: dict[str, int], lang: str
) -> None:
    one = exempt(engine, "A001", date(2022, 5, 11), date(2022, 5, 13), "病假")
    sign_in(client, "supA" if lang == "en" else "supzh")
    r = post_form(client, f"/exemptions/{one}/end", {"back_on": "2022-05-20"}, page="/")
    assert r.status_code == 400
    message = soup(r).select_one("#error-back-on")
    assert (
        message is not None
        and message.get_text(strip=True)
        == {
            "en": f"exemption {one} already ends on 2022-05-13; nothing to end on 2022-05-20",
            "zh": f"豁免 {one} 已于 2022-05-13 结束；无需在 2022-05-20 提前结束",
        }[lang]
    )
    r = post_form(client, f"/exemptions/{one}/end", {"back_on": "5/12"}, page="/")
    assert r.status_code == 400
    message = soup(r).select_one("#error-back-on")
    assert (
        message is not None
        and message.get_text(strip=True)
        == {
            "en": "5/12 is not a date: write it as 2022-05-09",
            "zh": "5/12 不是日期：请写成 2022-05-09 这样的格式",
        }[lang]
    )
    assert exemptions(engine) == [("A001", date(2022, 5, 11), date(2022, 5, 13))]


def test_the_api_adds_and_ends(client: TestClient, engine: Engine, ids: dict[str, int]) -> None:
    sign_in(client, "hr1")
    token = csrf_of(client, "/exemptions")
    r = client.post(
        "/api/exemptions",
        json={
            "employee_no": "B002",
            "start_date": "2022-05-11",
            "end_date": "2022-05-15",
            "reason": "出差",
        },
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    added = r.json()
    assert (added["employee_no"], added["start_date"], added["end_date"], added["created_by"]) == (
        "B002",
        "2022-05-11",
        "2022-05-15",
        "web:hr1",
    )
    assert [e["appointment_id"] for e in added["excused"]] == [ids["B002-thu"]]
    r = client.post(
        f"/api/exemptions/{added['id']}/end",
        json={"back_on": "2022-05-12"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    ended = r.json()
    assert (ended["end_date"], ended["previous_end"], ended["removed"]) == (
        "2022-05-11",
        "2022-05-15",
        False,
    )
    assert ended["restored"] == [ids["B002-thu"]]
    r = client.post(
        f"/api/exemptions/{added['id']}/end",
        json={"back_on": "0001-01-01"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 400 and "out of range" in r.json()["detail"]


def test_a_long_history_is_listed_a_page_at_a_time(
    client: TestClient, engine: Engine, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: with the ended ones the page and the API listed every exemption ever made (a
    group's positive waves: tens of thousands of rows in one page). The page shows the first
    PAGE_ROWS and says how to see the others; the API takes a bounded ``limit``."""
    from testrota.web.routes import exemptions as page

    monkeypatch.setattr(page, "PAGE_ROWS", 2)  # the page's size, small for the test
    for day in (1, 3, 5):
        exempt(engine, "B002", date(2022, 4, day), date(2022, 4, day), "年假")
    sign_in(client, "hr1")
    response = client.get("/exemptions?ended=true")
    assert [r["First day"] for r in listed(response)] == ["2022-04-01", "2022-04-03"]
    notice = soup(response).select_one('p.flash[role="status"]')
    assert notice is not None and "Only the first 2 exemptions" in notice.get_text()
    assert soup(client.get("/exemptions")).select_one('p.flash[role="status"]') is None
    api = client.get("/api/exemptions", params={"ended": "true", "limit": 2}).json()
    assert [e["start_date"] for e in api] == ["2022-04-01", "2022-04-03"]
    assert client.get("/api/exemptions", params={"limit": 5001}).status_code == 422

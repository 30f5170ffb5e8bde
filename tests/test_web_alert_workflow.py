"""The positive-result alert is a workflow: the banner leads to the alert's page, which shows
the case and its contacts with their next-day tests and results as they arrive; notes, an
.xlsx of the contacts and closing with a reason, each audited; within the reader's scope.

张伟 (A001, 炼钢厂) tested positive; 王芳 (A002, 炼钢厂, same grid unit) and 李娜 (B001, 物流部,
same slot) are his contacts. supA supervises 炼钢厂, supB 物流部 alone.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.engine import session_scope
from testrota.db.models import Alert, AuditEvent, Person, TestResult
from testrota.settings import Settings
from tests.disclosure_world import seed
from tests.web_support import make_user, post_form, sign_in, soup

pytest_plugins = ("tests.web_fixtures",)

CASE = ("张伟", "A001")


def _alert_id(engine: Engine) -> int:
    with Session(engine) as s:
        (alert,) = s.exec(select(Alert)).all()
        assert alert.id is not None
        return alert.id


def _events(engine: Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))


def _sample(engine: Engine, employee_no: str, at: datetime, result: str) -> None:
    with session_scope(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == employee_no)).one()
        s.add(
            TestResult(
                person_id=person.id or 0,
                sampled_at=at,
                result=result,
                source="lab",
                site_code="S1",
                recorded_at=at,
            )
        )


def test_hr_works_an_alert_through(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    seed(engine, web_settings)
    alert_id = _alert_id(engine)
    sign_in(client, "hr1")
    banner = soup(client.get("/")).select_one("section.alert a.open-alert")
    assert banner["href"] == f"/alerts/{alert_id}"
    page = soup(client.get(banner["href"]))
    assert page.select_one("h1") is not None
    contacts = {tr["data-employee"]: tr for tr in page.select("table.contacts tbody tr")}
    assert sorted(contacts) == ["A002", "B001"]
    assert "not tested yet" in contacts["A002"].select_one("td.tests").get_text()

    # results arrive: the page shows them against the contact
    _sample(engine, "A002", datetime(2022, 5, 10, 1, tzinfo=UTC), "pending")
    _sample(engine, "A002", datetime(2022, 5, 10, 2, tzinfo=UTC), "negative")
    page = soup(client.get(f"/alerts/{alert_id}"))
    row = next(tr for tr in page.select("table.contacts tbody tr") if tr["data-employee"] == "A002")
    assert [d["data-result"] for d in row.select("td.tests [data-result]")] == [
        "pending",
        "negative",
    ]
    assert "awaiting result" in row.select_one("td.tests").get_text()

    # a note: refused empty, then kept and audited
    r = post_form(client, f"/alerts/{alert_id}/notes", {"text": "  "}, page=f"/alerts/{alert_id}")
    assert r.status_code == 400 and soup(r).select_one("#error-note") is not None
    r = post_form(
        client,
        f"/alerts/{alert_id}/notes",
        {"text": "王芳已电话通知，明早复检"},
        page=f"/alerts/{alert_id}",
    )
    assert r.status_code == 303
    page = soup(client.get(f"/alerts/{alert_id}"))
    assert [n.get_text() for n in page.select("ul.notes .note-text")] == [
        "王芳已电话通知，明早复检"
    ]
    assert [(e.actor, e.entity_id) for e in _events(engine, "alert.noted")] == [
        ("web:hr1", str(alert_id))
    ]

    # the contacts as a spreadsheet, with their results; the export is audited
    r = client.get(page.select_one("a.export-xlsx")["href"])
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    by = [dict(zip(header, values, strict=True)) for values in rows]
    assert [(x["密接工号 Contact employee no."], x["结果 Result"]) for x in by] == [
        ("A002", "awaiting result"),
        ("A002", "negative"),
        ("B001", None),
    ]
    assert len(_events(engine, "alert.exported")) == 1

    # closing needs a reason; the reason is kept, shown and audited
    r = post_form(client, f"/alerts/{alert_id}/close", {"reason": ""}, page=f"/alerts/{alert_id}")
    assert r.status_code == 400 and soup(r).select_one("#error-close") is not None
    r = post_form(
        client,
        f"/alerts/{alert_id}/close",
        {"reason": "contacts tested negative twice"},
        page=f"/alerts/{alert_id}",
    )
    assert r.status_code == 303
    page = soup(client.get(f"/alerts/{alert_id}"))
    assert "contacts tested negative twice" in page.select_one(".case .closed").get_text()
    assert page.select_one("form.close-form") is None
    with Session(engine) as s:
        alert = s.get(Alert, alert_id)
        assert alert is not None and alert.status == "closed"
        assert alert.close_reason == "contacts tested negative twice"
    (closed,) = _events(engine, "alert.closed")
    assert closed.actor == "web:hr1"
    assert closed.details == {"reason": "contacts tested negative twice"}


def test_a_supervisor_sees_it_within_their_scope(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    seed(engine, web_settings)
    alert_id = _alert_id(engine)
    sign_in(client, "supB")  # only a contact is theirs
    r = client.get(f"/alerts/{alert_id}")
    assert r.status_code == 200
    page = soup(r)
    assert [tr["data-employee"] for tr in page.select("table.contacts tbody tr")] == ["B001"]
    assert page.select_one(".other-department") is not None
    assert not [c for c in CASE if c in r.text]
    assert page.select_one("form.close-form") is None  # the case's own department closes it
    r = post_form(client, f"/alerts/{alert_id}/close", {"reason": "x"}, page=f"/alerts/{alert_id}")
    assert r.status_code == 400
    # a note is theirs to write
    r = post_form(
        client, f"/alerts/{alert_id}/notes", {"text": "李娜已通知"}, page=f"/alerts/{alert_id}"
    )
    assert r.status_code == 303
    post_form(client, "/logout", {}, page="/")

    make_user(engine, "supC", "supervisor", ["财务部"])
    sign_in(client, "supC")  # neither the case nor a contact is theirs
    assert client.get(f"/alerts/{alert_id}").status_code == 404
    assert client.get(f"/alerts/{alert_id}/contacts.xlsx").status_code == 404
    r = post_form(client, f"/alerts/{alert_id}/notes", {"text": "x"}, page="/")
    assert r.status_code == 404
    assert len(_events(engine, "alert.noted")) == 1
    assert client.get("/alerts/999999").status_code == 404


def test_notes_and_the_closing_keep_the_case_from_another_departments_supervisor(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    """Review: supB sees "a positive case in another department", yet read every note (HR's
    "the case is 张伟, A001") and the closing line ("Closed by web:supA: 张伟 negative twice"),
    which name the case and, through its closer, its department. They read their own notes."""
    seed(engine, web_settings)
    alert_id = _alert_id(engine)
    page = f"/alerts/{alert_id}"
    sign_in(client, "hr1")
    post_form(client, f"{page}/notes", {"text": "病例为张伟 A001，居家隔离"}, page=page)
    post_form(client, "/logout", {}, page="/")
    sign_in(client, "supB")
    post_form(client, f"{page}/notes", {"text": "李娜已通知"}, page=page)
    post_form(client, "/logout", {}, page="/")
    sign_in(client, "supA")
    shown = soup(client.get(page))
    assert len(shown.select("ul.notes li")) == 2  # the case is theirs: every note
    closed = post_form(client, f"{page}/close", {"reason": "张伟两次阴性，复工"}, page=page)
    assert closed.status_code == 303
    post_form(client, "/logout", {}, page="/")

    sign_in(client, "supB")
    r = client.get(page)
    assert not [c for c in CASE if c in r.text], r.text
    assert "supA" not in r.text and "hr1" not in r.text
    theirs = soup(r)
    assert [n.get_text() for n in theirs.select(".note-text")] == ["李娜已通知"]
    assert "1 note(s)" in theirs.select_one(".hidden-notes").get_text()
    assert "Closed at" in theirs.select_one(".closed").get_text()
    api = client.get("/api/alerts", params={"closed": "true"}).json()
    assert [a["closed_by"] for a in api] == [None]


def test_the_alert_page_in_chinese(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    seed(engine, web_settings)
    alert_id = _alert_id(engine)
    with session_scope(engine) as s:
        from testrota.db.models import User

        user = s.exec(select(User).where(User.name == "supA")).one()
        user.language = "zh"
        s.add(user)
    sign_in(client, "supA")
    page = soup(client.get(f"/alerts/{alert_id}"))
    assert page.select_one("h1").get_text().startswith("阳性预警")
    assert page.select_one("form.close-form button").get_text() == "关闭预警"
    assert "同一网格" in page.select_one("table.contacts").get_text()

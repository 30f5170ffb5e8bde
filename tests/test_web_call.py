"""A supervisor calls someone who missed a test: the list shows the number masked; the "call"
action alone gives it out (a redirect to tel:, which a phone hands to its dialler), within the
supervisor's departments, and the audit says who asked for whose number."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import AuditEvent
from tests.web_support import make_user, post_form, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)


def _revealed(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == "person.phone_revealed")))


def test_the_number_only_on_the_call_action(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "sup", "supervisor", ["炼钢厂"])
    sign_in(client, "sup")
    listing = client.get("/missed", params={"week": "2022-W19"})
    assert "+8613800000001" not in listing.text  # masked for a supervisor
    row = soup(listing).select_one('tr[data-employee="A001"]')
    form = row.select_one("form.call")
    assert form is not None and form["action"] == "/missed/call"
    assert _revealed(engine) == []

    r = post_form(client, "/missed/call", {"employee_no": "A001"}, page="/missed")
    assert r.status_code == 303
    assert r.headers["location"] == "tel:+8613800000001"
    (event,) = _revealed(engine)
    assert (event.actor, event.entity_id) == ("web:sup", "A001")
    assert "+8613800000001" not in str(event.details)

    # someone in another department: nothing given out, nothing audited
    r = post_form(client, "/missed/call", {"employee_no": "B001"}, page="/missed")
    assert r.status_code == 404 and "tel:" not in r.headers.get("location", "")
    assert len(_revealed(engine)) == 1
    # without the page's CSRF token: refused
    assert client.post("/missed/call", data={"employee_no": "A001"}).status_code == 403


def test_hr_may_call_anyone(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    r = post_form(client, "/missed/call", {"employee_no": "B001"}, page="/missed")
    assert r.headers["location"] == "tel:+8613900000001"
    assert [e.actor for e in _revealed(engine)] == ["web:hr1"]

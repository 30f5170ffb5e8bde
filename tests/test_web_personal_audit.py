"""Actions through a personal link are the employee's only when the employee made them.

The personal page needs no sign-in: its link is the key. When a staff member signed in on the
same browser uses someone's link, the audit names the staff member, never ``me:<employee>``; and
a booking made on the page leaves no SMS reschedule offer behind (it never was one).
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import AuditEvent, Person, RescheduleOffer
from testrota.notify.links import make_personal_token
from testrota.settings import Settings
from tests.web_support import add_slot, make_user, post_form, sign_in, week19

pytest_plugins = ("tests.web_fixtures",)


def _token(engine: Engine, settings: Settings, employee_no: str) -> str:
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == employee_no)).one()
    return make_personal_token(settings, person.id or 0)


def _audit(engine: Engine, action: str) -> list[tuple[str, dict[str, object]]]:
    with Session(engine) as s:
        return [
            (e.actor, dict(e.details or {}))
            for e in s.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        ]


def test_the_audit_names_who_acted(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    ids = week19(engine)
    fri = add_slot(engine, "2022-05-13 08:00")
    sat = add_slot(engine, "2022-05-14 08:00")
    make_user(engine, "hr1", "hr")
    b001, b002 = (_token(engine, web_settings, no) for no in ("B001", "B002"))

    # The employee, through their own link: audited as them.
    r = post_form(
        client,
        f"/me/{b001}/move",
        {"appointment_id": str(ids["B001-thu"]), "slot_id": str(fri)},
        page=f"/me/{b001}",
    )
    assert r.status_code == 303
    # A staff member signed in on this browser, through someone else's link: audited as staff.
    sign_in(client, "hr1")
    r = post_form(
        client,
        f"/me/{b002}/move",
        {"appointment_id": str(ids["B002-thu"]), "slot_id": str(sat)},
        page=f"/me/{b002}",
    )
    assert r.status_code == 303
    post_form(client, f"/me/{b002}/texts", {"opt_out": "1", "confirm": "1"}, page=f"/me/{b002}")

    moves = _audit(engine, "appointment.rescheduled")
    assert [a for a, _ in moves] == ["me:B001", "web:hr1"]
    assert [(a, d.get("employee_no"), d["via"]) for a, d in moves] == [
        ("me:B001", "B001", "personal page"),
        ("web:hr1", "B002", "personal page"),
    ]
    assert [a for a, _ in _audit(engine, "person.opted_out")] == ["web:hr1"]
    # Neither booking pretends to be an SMS offer made to the person's phone.
    with Session(engine) as s:
        assert list(s.exec(select(RescheduleOffer))) == []

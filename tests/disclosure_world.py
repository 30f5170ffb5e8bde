"""A database with every kind of personal number and personal link the web app could show.

Two supervised departments (炼钢厂, 物流部) and one nobody supervises (财务部); phones in E.164
from the mainland and Hong Kong, as typed in the roster; resident ID numbers, a passport and a
Hong Kong ID; texts whose bodies carry personal links; a reply, a reschedule offer; numbers in
free text (an override reason, an excuse, an exemption's reason); a missed Monday, a positive
case in 炼钢厂 with contacts in both departments. :func:`secrets` reads every number back out
of the database, so a test checks what is stored, not what this file meant to store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.engine import session_scope
from testrota.db.models import (
    Alert,
    AlertContact,
    Appointment,
    Exemption,
    InboundMessage,
    Message,
    Person,
    RescheduleOffer,
    TestResult,
    User,
)
from testrota.notify.links import make_personal_link, make_personal_token
from testrota.settings import Settings
from tests.web_support import (
    add_people,
    add_site,
    add_slot,
    book,
    local,
    make_user,
    post_form,
    sign_in,
)

AT = datetime(2022, 5, 1, tzinfo=UTC)

PEOPLE: list[dict[str, Any]] = [
    {
        "employee_no": "A001",
        "name": "张伟",
        "department": "炼钢厂",
        "grid_unit": "炼钢一班",
        "role": "司机",
        "phone": "+8613811110001",
        "phone_raw": "138 1111 0001",
        "id_number": "11010119900307451X",
        "risk_category": "driver",
        "risk_categories": "driver",
        "matched_by": "title",
        "matched_text": "司机",
    },
    {
        "employee_no": "A002",
        "name": "王芳",
        "department": "炼钢厂",
        "grid_unit": "炼钢一班",
        "role": "司机",
        "phone": "+8613811110002",
        "phone_raw": "138-1111-0002",
        "id_number": "E83920175",
        "risk_category": "driver",
        "risk_categories": "driver",
        "matched_by": "title",
        "matched_text": "司机",
        # HR typed someone else's number into a free-text field
        "override_reason": "HR called 13922220002 to confirm",
    },
    {
        "employee_no": "B001",
        "name": "李娜",
        "department": "物流部",
        "grid_unit": "物流二组",
        "role": "装卸工",
        "phone": "+85291234567",
        "phone_raw": "9123 4567",
        "id_number": "K517233(4)",
        "risk_category": "cargo_transfer",
        "risk_categories": "cargo_transfer",
        "matched_by": "title",
        "matched_text": "装卸工",
    },
    {
        "employee_no": "B002",
        "name": "刘洋",
        "department": "物流部",
        "grid_unit": "物流二组",
        "role": "叉车司机",
        "phone": "+8613922220002",
        "phone_raw": "+86 139 2222 0002",
        "id_number": "44030419851123002X",
        "risk_category": "driver",
        "risk_categories": "driver",
        "matched_by": "title",
        "matched_text": "司机",
    },
    {
        "employee_no": "C001",
        "name": "陈静",
        "department": "财务部",
        "grid_unit": "",
        "role": "会计",
        "phone": "+8613733330001",
        "phone_raw": "13733330001",
        "id_number": "320102197805174416",
    },
    {
        "employee_no": "B003",
        "name": "赵磊",
        "department": "物流部",
        "grid_unit": "物流二组",
        "role": "装卸工",
        "phone": "+8615844440003",
        "phone_raw": "158 4444 0003",
        "id_number": "510104199212124638",
        "active": False,
    },
]
USERS: list[dict[str, Any]] = [
    {"name": "hr1", "role": "hr", "phone": "+8613655550001"},
    {"name": "admin1", "role": "admin", "phone": "+8613655550002"},
    {"name": "supA", "role": "supervisor", "departments": ["炼钢厂"], "phone": "+8613655550003"},
    {"name": "supB", "role": "supervisor", "departments": ["物流部"], "phone": "+8613655550004"},
    {"name": "site1", "role": "site", "phone": "+8613655550005"},
]


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)  # person ids by employee number
    tokens: dict[str, str] = field(default_factory=dict)  # a personal token by employee number
    uploads: list[str] = field(default_factory=list)  # upload tokens, roster then results
    alerts: list[int] = field(default_factory=list)  # the positive case's alert
    exemptions: list[int] = field(default_factory=list)  # B002's leave next week


def seed(engine: Engine, settings: Settings) -> World:
    world = World()
    add_people(engine, [{k: v for k, v in p.items()} for p in PEOPLE])
    for u in USERS:
        make_user(engine, u["name"], u["role"], u.get("departments", ()))
    with session_scope(engine) as s:
        for u in USERS:
            user = s.exec(select(User).where(User.name == u["name"])).one()
            user.phone = u["phone"]
            s.add(user)
        for p in s.exec(select(Person)):
            assert p.id is not None
            world.ids[p.employee_no] = p.id
    add_site(engine)
    mon = add_slot(engine, "2022-05-09 08:00")
    thu = add_slot(engine, "2022-05-12 08:00")
    appointments = {}
    for no in ("A001", "A002", "B001", "B002"):
        appointments[no] = book(engine, no, mon)
        book(engine, no, thu)
    now = local("2022-05-11 10:00")
    with session_scope(engine) as s:
        excused = s.get(Appointment, appointments["B002"])
        assert excused is not None
        excused.status, excused.excused_reason = "excused", "sick; wife: 13733330001"
        s.add(excused)
        # A positive case in 炼钢厂; contacts in its own grid unit and, through the slot, in 物流部.
        result = TestResult(
            person_id=world.ids["A001"],
            sampled_at=local("2022-05-09 08:05"),
            result="positive",
            source="lab",
            site_code="S1",
            recorded_at=now,
        )
        s.add(result)
        s.flush()
        assert result.id is not None
        alert = Alert(person_id=world.ids["A001"], result_id=result.id, created_at=now)
        s.add(alert)
        s.flush()
        assert alert.id is not None
        world.alerts.append(alert.id)
        s.add(AlertContact(alert_id=alert.id, person_id=world.ids["A002"], reason="grid_unit"))
        s.add(AlertContact(alert_id=alert.id, person_id=world.ids["B001"], reason="same_slot"))
        for i, p in enumerate(PEOPLE):
            pid = world.ids[p["employee_no"]]
            link = make_personal_link(settings, pid, now)
            world.tokens[p["employee_no"]] = make_personal_token(settings, pid, now)
            body = f"【核酸检测】{p['name']}，明天采样。查看或改约：{link}"
            s.add(
                Message(
                    kind="reminder_eve",
                    dedupe_key=f"eve:{pid}",
                    person_id=pid,
                    to=p["phone"],
                    body=body,
                    due_at=now - timedelta(hours=i),
                    status=("sent", "failed")[i % 2],
                    sent_at=now - timedelta(hours=i),
                    created_at=now,
                )
            )
        b002 = world.ids["B002"]
        s.add(
            InboundMessage(
                from_number="+8613922220002",
                body="R 13922220002",
                received_at=now,
                person_id=b002,
                action="help",
                reply=f"回R改约：{make_personal_link(settings, b002, now)}",
            )
        )
        s.add(
            RescheduleOffer(
                person_id=b002,
                appointment_id=None,
                slot_id=thu,
                mode="move",
                phone="+8613922220002",
                status="expired",
                created_at=now,
                expires_at=now,
            )
        )
        leave = Exemption(
            person_id=b002,
            start_date=date(2022, 5, 16),
            end_date=date(2022, 5, 20),
            reason="family leave; wife: 13733330001",
            created_by="web:hr1",
            created_at=now,
        )
        s.add(leave)
        s.flush()
        assert leave.id is not None
        world.exemptions.append(leave.id)
    return world


def add_uploads(client: TestClient, world: World) -> None:
    """A roster and a results file waiting for HR to apply them (their previews show rows)."""
    sign_in(client, "hr1")
    roster = (
        "工号,姓名,部门,岗位,手机,身份证号\nA001,张伟,炼钢厂,司机,13811110001,11010119900307451X\n"
    ).encode()
    results = "工号,姓名,采样时间,结果\nA002,王芳,2022-05-10 08:00,阴性\n".encode()
    for kind, data in (("roster", roster), ("results", results)):
        r = post_form(
            client,
            f"/upload/{kind}",
            {},
            files={"file": (f"{kind}.csv", data, "text/csv")},
            page=f"/upload/{kind}",
        )
        assert r.status_code == 303, r.text
        world.uploads.append(r.headers["location"].rsplit("/", 1)[1])
    post_form(client, "/logout", {}, page="/")


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def secrets(engine: Engine) -> set[str]:
    """Every phone and ID number stored, as stored and as digits only (7 digits or more)."""
    found: set[str] = set()
    with Session(engine) as s:
        values = [
            *(v for p in s.exec(select(Person)) for v in (p.phone, p.phone_raw, p.id_number)),
            *(u.phone for u in s.exec(select(User))),
            *(m.to for m in s.exec(select(Message))),
            *(m.from_number for m in s.exec(select(InboundMessage))),
            *(o.phone for o in s.exec(select(RescheduleOffer))),
        ]
    for value in values:
        if value:
            found.add(value)
            if len(digits(value)) >= 7:
                found.add(digits(value))
    return found


def personal_tokens(engine: Engine, settings: Settings) -> set[str]:
    """The token of every personal link in the outbox and the replies, and a fresh one for
    every person."""
    link = re.compile(r"/me/([0-9A-Za-z]+\.[0-9A-Za-z_-]+\.[0-9A-Za-z_-]+)")
    with Session(engine) as s:
        texts = [m.body for m in s.exec(select(Message))]
        texts += [m.reply for m in s.exec(select(InboundMessage))]
        ids = [p.id for p in s.exec(select(Person)) if p.id is not None]
    tokens = {t for text in texts for t in link.findall(text)}
    assert tokens, "the world has no personal links to look for"
    now = datetime.fromisoformat("2022-05-11T10:00:00+08:00")
    return tokens | {make_personal_token(settings, pid, now) for pid in ids}

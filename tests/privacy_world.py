"""One person with a history written by the real services, for the export and erasure tests.

Roster imports (the second changes the phone: an audit event with old and new number), a
grid-unit mate and a co-resident, appointments past and future, a positive result with its
alert and contacts, reminders in the outbox, a reply, an exemption and an excuse.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert
from sqlmodel import Session, select

from testrota.db.models import Exemption, InboundMessage, Message, Person
from testrota.notify.enqueue import sync_reminders
from testrota.policy import AlertsPolicy, Policy
from testrota.settings import Settings
from tests.compliance_fixtures import excuse, record_result
from tests.notify_data import add_appointment, add_site, notify_settings, policy

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 5, 11, 10, 0, tzinfo=SH)  # Wednesday of 2022-W19

TARGET = "X7001"
NAME = "欧阳娜娜"
PHONE_RAW_OLD = "139 1000 7001"
PHONE_RAW = "138-0013-7001"
PHONE = "+8613800137001"
OLD_PHONE = "+8613910007001"
ID_BASE = "32050219880412123"
MATE, CO_RESIDENT = "X7002", "X7003"


def id_number(base17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(base17, weights, strict=True))
    return base17 + "10X98765432"[total % 11]


ID_NUMBER = id_number(ID_BASE)
SECRETS = (NAME, PHONE, PHONE_RAW, OLD_PHONE, PHONE_RAW_OLD, ID_NUMBER, PHONE[3:], OLD_PHONE[3:])


def write_roster(path: Path, phone_raw: str, with_target: bool = True) -> Path:
    rows = [
        [
            "工号",
            "姓名",
            "部门",
            "网格",
            "岗位",
            "手机号",
            "身份证号",
            "人员类别",
            "共同居住职工工号",
        ],
        [TARGET, NAME, "冷链车间", "一组", "冷链搬运工", phone_raw, ID_NUMBER, "职工", ""],
        [MATE, "李雷", "冷链车间", "一组", "冷链搬运工", "13800137002", "", "职工", ""],
        [CO_RESIDENT, "韩梅梅", "冷链车间", "", "", "13800137003", "", "家属", TARGET],
    ]
    if not with_target:
        del rows[1]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@dataclass
class World:
    person_id: int
    settings: Settings


def build(engine: Engine, session: Session, settings: Settings, cli: Any, tmp: Path) -> World:
    env = {"TESTROTA_NOW": (NOW - timedelta(days=3)).isoformat()}
    first = cli("import", str(write_roster(tmp / "roster1.csv", PHONE_RAW_OLD)), "--json", env=env)
    assert first.exit_code == 0, first.output
    second = cli("import", str(write_roster(tmp / "roster2.csv", PHONE_RAW)), "--json", env=env)
    assert second.exit_code == 0, second.output
    people = {p.employee_no: p for p in session.exec(select(Person))}
    session.commit()
    target, mate = people[TARGET], people[MATE]
    assert target.phone == PHONE and target.id_number == ID_NUMBER
    assert people[CO_RESIDENT].host_employee_no == TARGET

    add_site(session)
    mon = datetime(2022, 5, 9, 9, 0, tzinfo=SH)
    done = add_appointment(session, target, mon, status="done")
    add_appointment(session, mate, mon, status="done")
    missed = add_appointment(
        session, target, datetime(2022, 5, 10, 9, 0, tzinfo=SH), status="missed"
    )
    add_appointment(session, target, datetime(2022, 5, 12, 9, 0, tzinfo=SH))  # tomorrow
    add_appointment(session, mate, datetime(2022, 5, 12, 9, 0, tzinfo=SH))
    assert done.id and missed.id

    pol = policy()
    out = record_result(engine, TARGET, mon, "阳性", no_exemption(pol), NOW, site="S1")
    assert out.alerts, out
    excuse(engine, TARGET, f"病假 {NAME} 电话 {PHONE}", NOW, pol, actor="hr", week="2022-W19")

    notify = notify_settings(settings)
    sync_reminders(engine, NOW, pol, notify)
    message = Message.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            insert(message).values(
                kind="missed",
                dedupe_key="missed:test",
                person_id=target.id,
                to=PHONE,
                body=f"{NAME}，您错过了检测",
                due_at=NOW.astimezone(UTC) - timedelta(hours=20),
                status="delivered",
                attempts=1,
                segments=1,
                created_at=NOW.astimezone(UTC) - timedelta(hours=20),
            )
        )
    session.add(
        InboundMessage(
            provider_sid="SMin1",
            from_number=PHONE,
            body="R 换个时间",
            received_at=NOW.astimezone(UTC),
            person_id=target.id,
            action="reschedule",
            reply="好的",
        )
    )
    session.add(
        Exemption(
            person_id=target.id or 0,
            start_date=date(2022, 5, 20),
            end_date=date(2022, 5, 27),
            reason=f"{NAME}出差",
            created_at=NOW.astimezone(UTC),
        )
    )
    session.commit()
    pending = list(
        session.exec(
            select(Message).where(Message.person_id == target.id, Message.status == "pending")
        )
    )
    session.commit()
    assert pending, "the reminders for tomorrow's slot"
    return World(person_id=target.id or 0, settings=notify)


def no_exemption(pol: Policy) -> Policy:
    """``pol`` with no exemption for a positive result: the target keeps their missed test
    for HR to excuse and tomorrow's slot with its reminders, which the export and the erasure
    are to find (their exemption is added by hand below)."""
    return pol.model_copy(update={"alerts": AlertsPolicy(positive_exempt_days=0)})


def leave(cli: Any, tmp: Path) -> None:
    """The person leaves: a full roster without them deactivates them (as HR would)."""
    result = cli(
        "import",
        str(write_roster(tmp / "roster3.csv", PHONE_RAW, with_target=False)),
        "--full",
        "--force",
        "--json",
        env={"TESTROTA_NOW": NOW.isoformat()},
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["deactivated"] == 1
    # tomorrow's slot is released at once, and the texts still pending with it
    assert summary["released"] == 1 and summary["released_texts"] >= 1

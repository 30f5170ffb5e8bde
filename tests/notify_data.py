"""Rows, settings and config directories for the notify and jobs tests (created directly)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, insert
from sqlmodel import Session

from testrota.db.models import Appointment, Message, Person, Site, Slot, User
from testrota.policy import Policy, load_policy
from testrota.settings import Settings, get_settings
from tests.conftest import CONFIG_DIR

SECRET = "test-secret-key-for-personal-links"
PUBLIC_URL = "https://rota.example.com"  # the address config/messages.yaml's Aliyun wording writes
T0 = datetime(2022, 5, 9, 0, 0, tzinfo=UTC)  # Mon 9 May 2022, 08:00 in Shanghai


def notify_settings(base: Settings, **overrides: Any) -> Settings:
    """The fixture's settings with a secret key and a public URL (and any overrides)."""
    values: dict[str, Any] = {
        "database_url": base.database_url,
        "config_dir": base.config_dir,
        "secret_key": SECRET,
        "public_url": PUBLIC_URL,
    }
    values.update(overrides)
    return get_settings(**values)


def twilio_settings(base: Settings, fake: Any, **overrides: Any) -> Settings:
    return notify_settings(
        base,
        sms_backend="twilio",
        twilio_account_sid=fake.account_sid,
        twilio_auth_token=fake.auth_token,
        twilio_from="+15005550006",
        twilio_api_base=fake.base_url,
        **overrides,
    )


def policy(**sections: dict[str, Any]) -> Policy:
    """The shipped policy with some fields of some sections replaced: ``policy(sms={...})``."""
    base = load_policy(CONFIG_DIR)
    update: dict[str, Any] = {}
    for name, fields in sections.items():
        if isinstance(fields, dict):
            update[name] = getattr(base, name).model_copy(update=fields)
        else:
            update[name] = fields
    return base.model_copy(update=update)


def config_dir(tmp: Path, **sections: dict[str, Any]) -> Path:
    """A copy of ``config/`` whose policy.yaml has some fields replaced (for subprocesses)."""
    target = tmp / "config"
    shutil.copytree(CONFIG_DIR, target, dirs_exist_ok=True)
    data = yaml.safe_load((target / "policy.yaml").read_text(encoding="utf-8"))
    for name, fields in sections.items():
        data.setdefault(name, {}).update(fields)
    (target / "policy.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


def phone(n: int) -> str:
    return f"+86138{n:08d}"


def add_site(
    session: Session, code: str = "S1", name: str = "一号采样点", tz: str = "Asia/Shanghai"
) -> Site:
    site = Site(code=code, name=name, timezone=tz)
    session.add(site)
    session.commit()
    return site


def add_person(session: Session, n: int, **fields: Any) -> Person:
    values: dict[str, Any] = {
        "employee_no": f"E{n:05d}",
        "name": f"员工{n}",
        "phone": phone(n),
        "language": "zh",
        "department": "冷链车间",
        "grid_unit": "一组",
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    person = Person(**values)
    session.add(person)
    session.commit()
    return person


def add_slot(
    session: Session,
    starts_at: datetime,
    *,
    site: str = "S1",
    minutes: int = 15,
    capacity: int = 10,
) -> Slot:
    year, week, _ = starts_at.astimezone(UTC).isocalendar()
    slot = Slot(
        site_code=site,
        week=f"{year}-W{week:02d}",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        capacity=capacity,
    )
    session.add(slot)
    session.commit()
    return slot


def add_appointment(
    session: Session,
    person: Person,
    starts_at: datetime,
    *,
    site: str = "S1",
    status: str = "scheduled",
    slot: Slot | None = None,
    week: str | None = None,
    minutes: int = 15,
) -> Appointment:
    year, number, _ = starts_at.astimezone(UTC).isocalendar()
    appt = Appointment(
        person_id=person.id or 0,
        slot_id=slot.id if slot else None,
        site_code=site,
        week=week or (slot.week if slot else f"{year}-W{number:02d}"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        grid_unit=person.grid_unit,
        status=status,
        created_at=T0,
        updated_at=T0,
    )
    session.add(appt)
    session.commit()
    return appt


def add_user(
    session: Session,
    name: str,
    role: str,
    *,
    departments: list[str] | None = None,
    phone_number: str | None = None,
    language: str = "zh",
) -> User:
    user = User(
        name=name,
        password_hash="x",
        role=role,
        departments=departments or [],
        phone=phone_number,
        language=language,
        created_at=T0,
    )
    session.add(user)
    session.commit()
    return user


def add_due_texts(
    engine: Engine,
    count: int,
    due_at: datetime,
    *,
    first: int = 1,
    kind: str = "booster",
    expires_at: datetime | None = None,
    with_people: bool = True,
    with_params: bool = False,
) -> list[int]:
    """``count`` pending texts, each to its own person, with a unique body; returns their ids.

    ``with_params``: the texts also keep the values of a booster text (name, link), as the
    outbox keeps them for a channel that sends approved templates only (Aliyun)."""
    person_table = Person.__table__  # type: ignore[attr-defined]
    message_table = Message.__table__  # type: ignore[attr-defined]
    numbers = range(first, first + count)
    with engine.begin() as conn:
        person_ids: list[int | None] = [None] * count
        if with_people:
            rows = conn.execute(
                insert(person_table).returning(person_table.c.id, sort_by_parameter_order=True),
                [
                    {
                        "employee_no": f"B{n:07d}",
                        "name": f"Person {n}",
                        "phone": phone(n),
                        "phone_raw": "",
                        "phone_valid": True,
                        "department": "D",
                        "grid_unit": "",
                        "role": "",
                        "person_type": "employee",
                        "language": "en",
                        "shift": "day",
                        "vaccination": "",
                        "risk_categories": "",
                        "active": True,
                        "opted_out": False,
                        "created_at": due_at,
                        "updated_at": due_at,
                    }
                    for n in numbers
                ],
            ).all()
            person_ids = [r.id for r in rows]
        ids = conn.execute(
            insert(message_table).returning(message_table.c.id, sort_by_parameter_order=True),
            [
                {
                    "kind": kind,
                    "dedupe_key": f"test:{kind}:{n}",
                    "person_id": pid,
                    "to": phone(n),
                    "body": f"Testrota: text number {n}",
                    "due_at": due_at,
                    "expires_at": expires_at,
                    "status": "pending",
                    "attempts": 0,
                    "segments": 1,
                    "created_at": due_at,
                    "language": "zh-Hans" if with_params else None,
                    "params": (
                        {"name": f"员工{n}", "link": f"{PUBLIC_URL}/me/{n}"}
                        if with_params
                        else None
                    ),
                }
                for n, pid in zip(numbers, person_ids, strict=True)
            ],
        ).all()
    return [r.id for r in ids]


def messages(session: Session) -> list[Message]:
    """Every outbox row, fresh; the read transaction ends at once (on SQLite every transaction
    holds the write lock, and the code under test needs it)."""
    from sqlmodel import col, select

    query = select(Message).order_by(col(Message.id)).execution_options(populate_existing=True)
    rows = list(session.exec(query))
    session.commit()
    return rows

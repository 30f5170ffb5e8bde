"""Leavers and changes of category take effect at once.

A mid-week ``import --full`` that drops a person, or gives them a title that is not high-risk,
releases their coming appointments and cancels their pending texts in the same transaction;
slots already over stay as they are. The same holds for HR's overrides and role mappings. The
week's compliance then counts each person only for what was asked of them.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.db.models import Appointment, Message, Person, RescheduleOffer
from testrota.notify.enqueue import sync_reminders
from testrota.policy import SurgeRule
from testrota.scheduling.release import Booked, Holder, to_release
from testrota.settings import Settings
from tests.compliance_fixtures import SH, add_appt, add_person, add_slot, local, policy
from tests.test_import_cli import BASE, person, write_roster
from tests.web_support import make_user, post_form, sign_in

pytest_plugins = ("tests.web_fixtures",)

P = policy()
NOW = local(SH, 2022, 5, 10, 12, 0)  # Tuesday of 2022-W19, noon
WEDNESDAY = local(SH, 2022, 5, 11, 12, 0)


def _booked(
    i: int,
    start: datetime,
    *,
    status: str = "scheduled",
    reason: str = "plan",
    minutes: int = 30,
    person_id: int = 1,
) -> Booked:
    return Booked(i, person_id, start, start + timedelta(minutes=minutes), status, reason)


def test_which_appointments_are_released() -> None:
    appointments = [
        _booked(1, NOW - timedelta(hours=3)),  # over: flagging decides
        _booked(2, NOW - timedelta(minutes=10)),  # in progress: released
        _booked(3, NOW + timedelta(days=1)),
        _booked(4, NOW + timedelta(days=1), reason="contact"),  # a positive case's contact
        _booked(5, NOW + timedelta(days=2), status="excused"),
        _booked(6, NOW - timedelta(days=1), status="missed"),
        _booked(7, NOW + timedelta(days=1), person_id=2),  # not among the holders
    ]
    leaver = {1: Holder(1, leaving=True)}
    assert to_release(appointments, leaver, NOW, P) == [2, 3, 4]
    not_high_risk = {1: Holder(1, leaving=False, department="炼钢厂")}
    assert to_release(appointments, not_high_risk, NOW, P) == [2, 3]
    still_high_risk = {1: Holder(1, leaving=False, category="driver")}
    assert to_release(appointments, still_high_risk, NOW, P) == []


def test_a_surge_keeps_the_days_it_covers_for_someone_no_longer_high_risk() -> None:
    surge = SurgeRule(
        name="静态管控",
        start=date(2022, 5, 12),
        end=date(2022, 5, 13),
        tests_per_week=7,
        departments=["炼钢厂"],
    )
    surged = P.model_copy(update={"testing": P.testing.model_copy(update={"surge": [surge]})})
    wednesday = _booked(1, local(SH, 2022, 5, 11, 9))
    thursday = _booked(2, local(SH, 2022, 5, 12, 9))
    holders = {1: Holder(1, leaving=False, department="炼钢厂")}
    assert to_release([wednesday, thursday], holders, NOW, surged) == [1]
    elsewhere = {1: Holder(1, leaving=False, department="物流部")}
    assert to_release([wednesday, thursday], elsewhere, NOW, surged) == [1, 2]
    assert to_release([thursday], {1: Holder(1, leaving=True)}, NOW, surged) == [2]


# ------------------------------------------------------------------------------------ the import


def _appointments(engine: Engine, employee_no: str) -> list[Appointment]:
    with Session(engine) as s:
        pid = s.exec(select(Person.id).where(Person.employee_no == employee_no)).one()
        return list(
            s.exec(
                select(Appointment)
                .where(Appointment.person_id == pid)
                .order_by(col(Appointment.starts_at))
            )
        )


def _json(cli: Any, *args: str, env: dict[str, str]) -> Any:
    result = cli(*args, env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _env(at: datetime) -> dict[str, str]:
    return {"TESTROTA_NOW": at.isoformat()}


def test_a_mid_week_full_import_releases_leavers_and_the_no_longer_high_risk(
    cli: Any, engine: Engine, web_settings: Settings, tmp_path: Path
) -> None:
    monday = local(SH, 2022, 5, 9, 6, 0)
    _json(cli, "import", str(write_roster(tmp_path / "a.xlsx", BASE)), "--json", env=_env(monday))
    _json(cli, "plan", "--week", "2022-W19", "--json", env=_env(monday))
    sync_reminders(engine, WEDNESDAY, P, web_settings)
    with Session(engine) as s:
        leaver = s.exec(select(Person).where(Person.employee_no == "0004")).one()
        cook = s.exec(select(Person).where(Person.employee_no == "0002")).one()
        # texts that are not reminders: a leaver's all go, the cook's stay
        for who, key in ((leaver, "booster:0004"), (cook, "booster:0002")):
            s.add(
                Message(
                    kind="booster",
                    dedupe_key=key,
                    person_id=who.id,
                    to=who.phone or "",
                    body="加强针",
                    due_at=WEDNESDAY + timedelta(days=1),
                    created_at=WEDNESDAY,
                )
            )
        s.commit()
    before = {no: _appointments(engine, no) for no in ("0001", "0002", "0004")}
    coming = {no: [a.id for a in appts if a.ends_at > WEDNESDAY] for no, appts in before.items()}
    assert coming["0002"] and coming["0004"], "the plan gives each a test after Wednesday"
    reminded = _reminders(engine, coming["0002"] + coming["0004"])
    assert reminded and set(reminded.values()) == {"pending"}

    # 0004 left; 0002 moved from the canteen kitchen to the office
    moved = [
        *BASE[:1],
        person("0002", "王芳", "行政部", "文员", "+86-138-1234-5602"),
        BASE[2],
        BASE[4],
    ]
    roster = write_roster(tmp_path / "b.xlsx", moved)
    preview = _json(
        cli, "import", str(roster), "--full", "--dry-run", "--json", env=_env(WEDNESDAY)
    )
    released = len(coming["0002"]) + len(coming["0004"])
    assert preview["released"] == released
    assert [a.status for a in _appointments(engine, "0004")] == [
        a.status for a in before["0004"]
    ]  # a dry run writes nothing

    summary = _json(cli, "import", str(roster), "--full", "--json", env=_env(WEDNESDAY))
    assert (summary["deactivated"], summary["released"]) == (1, released)
    assert summary["released_texts"] == len(reminded) + 1  # the leaver's booster text too
    for no in ("0002", "0004"):
        for old, new in zip(before[no], _appointments(engine, no), strict=True):
            assert new.status == ("cancelled" if old.id in coming[no] else old.status)
    assert [a.status for a in _appointments(engine, "0001")] == [a.status for a in before["0001"]]
    assert set(_reminders(engine, coming["0002"] + coming["0004"]).values()) == {"cancelled"}
    with Session(engine) as s:
        boosters = {
            m.dedupe_key: m.status for m in s.exec(select(Message).where(Message.kind == "booster"))
        }
    assert boosters == {"booster:0004": "cancelled", "booster:0002": "pending"}

    human = cli("import", str(roster), "--full", "--dry-run", env=_env(WEDNESDAY))
    assert human.exit_code == 0, human.output  # nothing more to release now
    assert "release" not in human.stdout

    # At the end of the week only what was asked of each person counts.
    saturday = _env(local(SH, 2022, 5, 14, 23, 0))
    missed = _json(cli, "missed", "--week", "2022-W19", "--format", "json", env=saturday)
    for no in ("0002", "0004"):
        past = [a for a in before[no] if a.id not in coming[no]]
        rows = [r for r in missed if r["employee_no"] == no]
        assert len(rows) == len(past)
        assert all(r["required"] == len(past) for r in rows)
    assert all(r["required"] >= 1 for r in missed)
    report = _json(cli, "compliance", "--week", "2022-W19", "--format", "json", env=saturday)
    asked = 1 + sum(1 for no in ("0002", "0004") if len(before[no]) > len(coming[no]))
    assert report["total"]["people"] == asked


def _reminders(engine: Engine, appointment_ids: list[int]) -> dict[int, str]:
    with Session(engine) as s:
        rows = s.exec(select(Message).where(col(Message.appointment_id).in_(appointment_ids)))
        return {m.id: m.status for m in rows if m.id is not None}


# ---------------------------------------------------------------------- overrides and mappings


def _booked_people(engine: Engine) -> dict[str, list[int]]:
    with Session(engine) as s:
        out: dict[str, list[int]] = {}
        slot = add_slot(s, NOW + timedelta(days=4))
        for no, role in (("1001", "司机"), ("1002", "司机"), ("1003", "叉车司机")):
            p = add_person(s, no, role=role, phone=f"+861380000{no}")
            out[no] = [
                add_appt(s, p, NOW - timedelta(days=1)).id,  # Monday: over
                add_appt(s, p, NOW + timedelta(days=2)).id,  # Thursday
                add_appt(s, p, NOW + timedelta(days=3), reason="contact").id,
            ]
            s.add(
                RescheduleOffer(
                    person_id=p.id,
                    appointment_id=out[no][1],
                    slot_id=slot.id,
                    mode="move",
                    phone=p.phone or "",
                    created_at=NOW,
                    expires_at=NOW + timedelta(hours=2),
                )
            )
        s.commit()
        return {k: [i for i in v if i is not None] for k, v in out.items()}


def _statuses(engine: Engine, ids: list[int]) -> list[str]:
    with Session(engine) as s:
        return [s.get(Appointment, i).status for i in ids]  # type: ignore[union-attr]


def test_override_to_not_high_risk_releases_at_once(cli: Any, engine: Engine) -> None:
    ids = _booked_people(engine)
    doc = _json(cli, "override", "1001", "none", "--reason", "office work", "--json", env=_env(NOW))
    assert doc["released"] == 1  # Thursday; the contact's extra test stays
    assert _statuses(engine, ids["1001"]) == ["scheduled", "cancelled", "scheduled"]
    assert _statuses(engine, ids["1002"]) == ["scheduled"] * 3
    with Session(engine) as s:
        offers = {o.person_id: o.status for o in s.exec(select(RescheduleOffer))}
    assert sorted(offers.values()) == ["open", "open", "superseded"]
    # back to a category: nothing more to release, nothing re-booked by the override itself
    again = cli("override", "1001", "driver", "--reason", "drives again", env=_env(NOW))
    assert again.exit_code == 0 and "released" not in again.stdout


def test_mapping_a_title_to_not_high_risk_releases_everyone_with_it(
    cli: Any, engine: Engine
) -> None:
    ids = _booked_people(engine)
    result = cli(
        "roles", "map", "司机", "none", "--reason", "drivers are office staff here", env=_env(NOW)
    )
    assert result.exit_code == 0, result.output
    assert "2 people reclassified; 2 coming appointments released" in result.stdout
    for no in ("1001", "1002"):
        assert _statuses(engine, ids[no]) == ["scheduled", "cancelled", "scheduled"]
    assert _statuses(engine, ids["1003"]) == ["scheduled"] * 3  # 叉车司机 is another title


@pytest.mark.parametrize("door", ["override", "roles"])
def test_the_web_releases_too(client: TestClient, engine: Engine, door: str) -> None:
    ids = _booked_people(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    if door == "override":
        r = post_form(
            client,
            "/people/1001/override",
            {"category": "none", "reason": "office work"},
            page="/people/1001",
        )
    else:
        r = post_form(
            client,
            "/roles/map",
            {
                "role": "司机",
                "scope": "all",
                "category": "none",
                "reason": "office",
                "confirm": "1",
            },
            page="/roles",
        )
    assert r.status_code == 303, r.text
    assert _statuses(engine, ids["1001"]) == ["scheduled", "cancelled", "scheduled"]
    page = client.get(r.headers["location"]).text
    assert "coming appointments released" in page

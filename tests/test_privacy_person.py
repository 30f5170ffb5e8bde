"""``export-person`` gives everything held on one person; ``erase-person`` anonymises them and
keeps the anonymous counts. Both on SQLite and PostgreSQL, through the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, String, Text
from sqlalchemy import select as sa_select
from sqlalchemy.types import JSON
from sqlmodel import Session, SQLModel, select

from testrota.actions.compliance import ComplianceReport
from testrota.db.models import Appointment, AuditEvent, Message, Person, TestResult
from testrota.privacy.erase import ERASED, scrub
from testrota.settings import Settings
from tests import privacy_world as world
from tests.compliance_fixtures import compliance
from tests.notify_data import add_user, policy
from tests.ops_runner import runner


@pytest.fixture
def ops(cli_env: dict[str, str]) -> Any:
    return runner({**cli_env, "TESTROTA_NOW": world.NOW.isoformat()})


@pytest.fixture
def built(
    engine: Engine, session: Session, settings: Settings, cli: Any, tmp_path: Path
) -> world.World:
    return world.build(engine, session, settings, cli, tmp_path)


def _everything(engine: Engine) -> list[tuple[str, str, Any]]:
    """Every text and JSON value in every table: ``(table, column, value)``."""
    found = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            for row in conn.execute(sa_select(*columns)).all():
                for column, value in zip(columns, row, strict=True):
                    if value not in (None, ""):
                        found.append((table.name, column.name, value))
    return found


def _traces(engine: Engine, needles: tuple[str, ...]) -> list[tuple[str, str, str]]:
    hits = []
    for table, column, value in _everything(engine):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        hits += [(table, column, n) for n in needles if n in text]
    return hits


def test_export_holds_everything_about_the_person(
    built: world.World, ops: Any, engine: Engine, session: Session
) -> None:
    result = ops("export-person", world.TARGET)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["format"] == "testrota.person-export/1" and doc["employee_no"] == world.TARGET
    person = doc["person"]
    assert (person["name"], person["phone"], person["id_number"], person["phone_raw"]) == (
        world.NAME,
        world.PHONE,
        world.ID_NUMBER,
        world.PHONE_RAW_OLD,
    )  # as first written
    assert doc["classification"]["risk_category"] == "cold_chain"
    assert doc["classification"]["high_risk"] is True
    assert doc["household"] == {"host_employee_no": None, "co_residents": [world.CO_RESIDENT]}
    statuses = sorted(a["status"] for a in doc["appointments"])
    assert statuses == ["done", "excused", "scheduled"]
    assert [r["result"] for r in doc["test_results"]] == ["positive"]
    (alert,) = doc["alerts"]
    assert alert["status"] == "open" and alert["contacts"] >= 1
    assert doc["contact_of"] == []
    assert {m["kind"] for m in doc["messages"]} >= {"missed", "reminder_eve"}
    assert all(m["to"] == world.PHONE for m in doc["messages"])
    assert [i["body"] for i in doc["inbound_messages"]] == ["R 换个时间"]
    assert [e["reason"] for e in doc["exemptions"]] == [f"{world.NAME}出差"]
    actions = {e["action"] for e in doc["audit_events"]}
    assert {"person.updated", "result.recorded", "alert.raised", "appointment.excused"} <= actions
    phone_change = next(e for e in doc["audit_events"] if e["action"] == "person.updated")
    assert phone_change["details"]["phone"] == [world.OLD_PHONE, world.PHONE]
    # times in the policy's zone, with their offset
    assert doc["exported_at"] == "2022-05-11T10:00:00+08:00"
    assert doc["appointments"][0]["starts_at"].endswith("+08:00")
    assert doc["counts"]["appointments"] == 3 and doc["counts"]["audit_events"] == len(
        doc["audit_events"]
    )

    # The mate appears as a contact of the alert, and sees none of the case's data.
    mate = json.loads(ops("export-person", world.MATE).stdout)
    assert [c["reason"] for c in mate["contact_of"]] == ["grid_unit"]
    assert world.NAME not in json.dumps(mate, ensure_ascii=False)

    exports = list(session.exec(select(AuditEvent).where(AuditEvent.action == "person.exported")))
    session.commit()
    assert [e.entity_id for e in exports] == [world.TARGET, world.MATE]
    assert "name" not in json.dumps(exports[0].details)


def test_export_to_a_file_and_refusals(built: world.World, ops: Any, tmp_path: Path) -> None:
    target = tmp_path / "x7001.json"
    result = ops("export-person", world.TARGET, "--output", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8"))["person"]["name"] == world.NAME
    missing = ops("export-person", "NOPE-1")
    assert missing.exit_code == 2 and "no person with employee number 'NOPE-1'" in missing.output
    assert "Traceback" not in missing.output
    folder = ops("export-person", world.TARGET, "--output", str(tmp_path))
    assert folder.exit_code == 2 and "is a directory" in folder.output


def test_erase_leaves_no_trace_and_keeps_the_counts(
    built: world.World, ops: Any, engine: Engine, session: Session, cli: Any, tmp_path: Path
) -> None:
    world.leave(cli, tmp_path)
    pol = policy()
    before = compliance(engine, world.NOW, pol, week="2022-W19")
    assert _traces(engine, world.SECRETS), "the world holds the personal data first"
    add_user(session, "root", "admin")

    result = ops(
        "erase-person",
        world.TARGET,
        "--reason",
        "left the company; request 2022-17",
        "--yes",
        "--by",
        "root",
        "--json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    new_no = f"erased-{built.person_id}"
    assert report["erased"] == world.TARGET and report["employee_no"] == new_no
    assert report["counts"]["appointments_kept"] == 3
    assert report["counts"]["test_results_kept"] == 1
    assert report["counts"]["messages_stopped"] == 0  # cancelled when they left

    assert _traces(engine, world.SECRETS) == []
    assert not [t for t in _everything(engine) if t[2] == world.TARGET]

    session.expire_all()
    person = session.get(Person, built.person_id)
    assert person is not None
    assert (
        person.employee_no,
        person.name,
        person.phone,
        person.id_number,
        person.phone_raw,
        person.active,
        person.opted_out,
    ) == (new_no, ERASED, None, None, "", False, True)
    assert (person.department, person.grid_unit, person.risk_category) == (
        "冷链车间",
        "一组",
        "cold_chain",
    )
    co_resident = session.exec(select(Person).where(Person.employee_no == world.CO_RESIDENT)).one()
    assert co_resident.host_employee_no == new_no
    appointments = list(
        session.exec(select(Appointment).where(Appointment.person_id == built.person_id))
    )
    # tomorrow's slot was released when they left
    assert sorted(a.status for a in appointments) == ["cancelled", "done", "excused"]
    assert all(a.excused_reason in (None, ERASED) for a in appointments)
    assert (
        len(list(session.exec(select(TestResult).where(TestResult.person_id == built.person_id))))
        == 1
    )
    texts = list(session.exec(select(Message).where(Message.person_id == built.person_id)))
    assert texts and all((m.body, m.to) == ("", "") for m in texts)
    assert "pending" not in {m.status for m in texts}
    erasure = session.exec(select(AuditEvent).where(AuditEvent.action == "person.erased")).one()
    session.commit()
    assert (erasure.actor, erasure.entity_id) == ("cli:root", new_no)
    assert erasure.details["reason"] == "left the company; request 2022-17"

    # The week's figures are the same, now about an anonymous person.
    after = compliance(engine, world.NOW, pol, week="2022-W19")
    assert _figures(after) == _figures(before)

    again = ops("export-person", world.TARGET)
    assert again.exit_code == 2
    anonymous = json.loads(ops("export-person", new_no).stdout)
    assert anonymous["person"]["name"] == ERASED
    assert ops("erase-person", new_no, "--reason", "again", "--yes").exit_code == 2


def _figures(report: ComplianceReport) -> list[Any]:
    return [replace(g, trend=[]) for g in [report.total, *report.departments, *report.grid_units]]


def test_erase_needs_yes_a_reason_and_an_admin(
    built: world.World, ops: Any, engine: Engine, session: Session
) -> None:
    no_yes = ops("erase-person", world.TARGET, "--reason", "left")
    assert no_yes.exit_code == 2 and "--yes" in no_yes.output
    empty = ops("erase-person", world.TARGET, "--reason", "  ", "--yes")
    assert empty.exit_code == 2 and "--reason" in empty.output
    active = ops("erase-person", world.TARGET, "--reason", "left", "--yes")
    assert active.exit_code == 2 and "still on the roster" in active.output
    add_user(session, "sup", "supervisor")
    not_admin = ops(
        "erase-person", world.TARGET, "--reason", "left", "--yes", "--by", "sup", "--deactivate"
    )
    assert not_admin.exit_code == 2 and "not an active admin" in not_admin.output
    unknown = ops("erase-person", "NOPE-1", "--reason", "left", "--yes", "--deactivate")
    assert unknown.exit_code == 2
    session.expire_all()
    person = session.get(Person, built.person_id)
    session.commit()
    assert person is not None and person.name == world.NAME  # nothing was changed
    plain = ops("erase-person", world.TARGET, "--reason", "left", "--yes", "--deactivate")
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.startswith(f"erased {world.TARGET}: now erased-")
    session.expire_all()
    person = session.get(Person, built.person_id)
    session.commit()
    assert person is not None and not person.active and person.deactivated_at is not None


def test_scrub_replaces_numbers_keys_and_secrets() -> None:
    details = {
        "employee_no": "E1",
        "name": ["张三", "张三丰"],
        "phone": None,
        "rows": [{"employee_no": "E1", "reason": "sick"}, {"employee_no": "E10"}],
        "message": "张三 +8613800000001 did not come",
        "count": 3,
    }
    out = scrub(details, "E1", "erased-9", ["+8613800000001", "张三"])
    assert out == {
        "employee_no": "erased-9",
        "name": [ERASED, ERASED],
        "phone": None,
        "rows": [{"employee_no": "erased-9", "reason": "sick"}, {"employee_no": "E10"}],
        "message": f"{ERASED} {ERASED} did not come",
        "count": 3,
    }


def test_nothing_is_erased_when_it_fails_half_way(
    built: world.World, ops: Any, engine: Engine, session: Session
) -> None:
    """One transaction: the last step fails (the anonymous number is taken), and the audit
    events, texts and replies scrubbed before it are as they were."""
    taken = f"erased-{built.person_id}"
    session.add(
        Person(employee_no=taken, name="someone", created_at=world.NOW, updated_at=world.NOW)
    )
    session.commit()
    before = _traces(engine, world.SECRETS)
    result = ops("erase-person", world.TARGET, "--reason", "left", "--yes", "--deactivate")
    assert result.exit_code == 2 and taken in result.output, result.output
    assert "Traceback" not in result.output
    assert _traces(engine, world.SECRETS) == before
    session.expire_all()
    person = session.get(Person, built.person_id)
    session.commit()
    assert person is not None and person.employee_no == world.TARGET

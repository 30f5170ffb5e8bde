"""Texts to supervisors by unit (issue 15): the daily digest and the positive alert reach a
supervisor given units (and everything below them), never for a namesake department elsewhere;
a supervisor with departments and units is counted as their pages show them: by units only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from testrota.db.models import Alert, Message, Person, TestResult
from testrota.notify.enqueue import enqueue_digests, enqueue_positive_alerts
from testrota.notify.outbox import MissedGroup, Recipient, digest_line
from testrota.org.config import load_org
from testrota.org.units import sync_units
from testrota.settings import Settings
from tests.conftest import CONFIG_DIR
from tests.notify_data import (
    add_appointment,
    add_person,
    add_site,
    add_user,
    messages,
    notify_settings,
    phone,
    policy,
)

SH = ZoneInfo("Asia/Shanghai")
SUNDAY = datetime(2022, 5, 8, 9, 0, tzinfo=SH)
MONDAY_MORNING = datetime(2022, 5, 9, 8, 0, tzinfo=SH)


def _place(session: Session) -> None:
    sync_units(session.connection(), load_org(CONFIG_DIR), datetime(2022, 5, 1, tzinfo=UTC))
    session.commit()


def _missed(session: Session, n: int, department: str, unit_path: str) -> Person:
    person = add_person(session, n, department=department, unit_path=unit_path)
    add_appointment(session, person, SUNDAY, status="missed")
    return person


def _group_roster(session: Session) -> None:
    """Sunday's missed tests: 板材公司 has 炼钢厂 2 and 运输部 1; 北营公司's own 炼钢厂 1; and
    物流部, a department of a flat roster (a unit under the root), 1."""
    add_site(session)
    _missed(session, 1, "炼钢厂", "板材公司/炼钢厂/转炉车间")
    _missed(session, 2, "炼钢厂", "板材公司/炼钢厂")
    _missed(session, 3, "运输部", "板材公司/运输部")
    _missed(session, 4, "炼钢厂", "北营公司/炼钢厂")
    _missed(session, 5, "物流部", "")
    later = add_person(session, 6, department="炼钢厂", unit_path="板材公司/炼钢厂")
    add_appointment(session, later, SUNDAY - timedelta(days=1), status="missed")  # Saturday
    _place(session)


def _unit_user(session: Session, name: str, units: list[str], departments: list[str]) -> int:
    user = add_user(session, name, "supervisor", departments=departments, phone_number=phone(500))
    user.units = units
    user.phone = phone(600 + len(name))
    session.add(user)
    session.commit()
    assert user.id is not None
    return user.id


def _digests(session: Session) -> dict[int | None, Message]:
    return {m.user_id: m for m in messages(session) if m.kind == "digest"}


def test_a_supervisor_with_units_only_gets_a_digest_of_their_units_and_below(
    engine: Engine, session: Session, settings: Settings
) -> None:
    _group_roster(session)
    sup = _unit_user(session, "plates", ["本钢集团/板材公司"], [])
    assert enqueue_digests(engine, MONDAY_MORNING, policy(), notify_settings(settings)) == 1
    body = _digests(session)[sup].body
    # 板材公司's 3 (炼钢厂 2 of them below it), not 北营公司's namesake 炼钢厂
    assert "漏检3人" in body and "炼钢厂 2" in body and "运输部 1" in body, body
    assert "物流部" not in body


def test_a_supervisor_with_departments_and_units_is_counted_by_units_as_the_pages_are(
    engine: Engine, session: Session, settings: Settings
) -> None:
    _group_roster(session)
    both = _unit_user(session, "both", ["本钢集团/北营公司"], ["物流部", "运输部"])
    overlap = _unit_user(session, "overlap", ["本钢集团/板材公司/运输部"], ["运输部"])
    flat = add_user(session, "flat", "supervisor", departments=["运输部"], phone_number=phone(700))
    assert enqueue_digests(engine, MONDAY_MORNING, policy(), notify_settings(settings)) == 3
    digests = _digests(session)
    # the pages show a supervisor given units those units only (auth.scope.scope_for): so does
    # the text, or its link would open a list shorter than the count it gave
    assert "漏检1人" in digests[both].body and "炼钢厂 1" in digests[both].body
    assert "物流部" not in digests[both].body and "运输部" not in digests[both].body
    assert "漏检1人" in digests[overlap].body
    assert "漏检1人" in digests[flat.id].body  # departments alone: as before units


def test_the_digest_line_is_pure_over_groups() -> None:
    groups = [
        MissedGroup("炼钢厂", "本钢集团/板材公司/炼钢厂", 2),
        MissedGroup("炼钢厂", "本钢集团/北营公司/炼钢厂", 1),
        MissedGroup("炼钢厂", "本钢集团/板材公司二/炼钢厂", 4),  # a prefix of a name: not below
        MissedGroup("运输部", None, 5),  # not placed in the tree: reached by department only
    ]
    units_only = Recipient(1, "a", "+8613800000000", "zh", (), ("本钢集团/板材公司",))
    assert digest_line(units_only, groups).missed_by_department == {"炼钢厂": 2}
    both = Recipient(2, "b", "+8613800000001", "zh", ("运输部", "机修"), ("本钢集团/北营公司",))
    assert digest_line(both, groups).missed_by_department == {"炼钢厂": 1}
    flat = Recipient(3, "c", "+8613800000002", "zh", ("运输部", "机修"), ())
    assert digest_line(flat, groups).missed_by_department == {"运输部": 5, "机修": 0}


def test_a_positive_alert_reaches_the_supervisor_of_the_persons_unit(
    engine: Engine, session: Session, settings: Settings
) -> None:
    person = add_person(session, 1, department="炼钢厂", unit_path="板材公司/炼钢厂")
    add_person(session, 2, department="炼钢厂", unit_path="北营公司/炼钢厂")
    _place(session)
    now = datetime(2022, 5, 9, 12, 0, tzinfo=SH)
    result = TestResult(
        person_id=person.id or 0,
        sampled_at=now - timedelta(hours=5),
        result="positive",
        source="lab",
        recorded_at=now,
    )
    session.add(result)
    session.commit()
    session.add(Alert(person_id=person.id or 0, result_id=result.id or 0, created_at=now))
    session.commit()
    mine = _unit_user(session, "plates", ["本钢集团/板材公司"], [])
    _unit_user(session, "north", ["本钢集团/北营公司"], [])
    assert enqueue_positive_alerts(engine, now, policy(), notify_settings(settings)) == 1
    (row,) = [m for m in messages(session) if m.kind == "positive_alert"]
    assert row.user_id == mine


def test_the_digest_job_places_people_not_yet_in_the_tree_before_counting(
    engine: Engine, session: Session, settings: Settings
) -> None:
    """The first morning after an upgrade nobody has a unit yet: the job builds the tree
    first, or a unit supervisor's digest would count nobody."""
    from testrota.app import build_app
    from testrota.clock import FixedClock
    from testrota.jobs import tasks
    from testrota.jobs.tasks import JobContext

    add_site(session)
    _missed(session, 1, "炼钢厂", "板材公司/炼钢厂")  # not placed: no sync_units here
    sup = _unit_user(session, "plates", ["本钢集团/板材公司"], [])
    app = build_app(
        notify_settings(settings),
        engine=engine,
        policy=policy(),
        clock=FixedClock(MONDAY_MORNING),
    )
    outcome = tasks.supervisors_digest(JobContext(app=app, worker="w1"))
    assert outcome.ran and outcome.result == {"texts": 1}
    assert "漏检1人" in _digests(session)[sup].body

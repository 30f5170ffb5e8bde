"""Exemptions, as HR and the lab use them: a person on leave, or positive, is excused for some
days and not planned; their appointments then are excused and nobody texts them about them.

The world: the five people of the roster import's tests, imported and planned for 2022-W19
on its Monday morning through the command line, as an office does it.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.actions.alerts import CloseAlert, close_alert
from testrota.actions.exemptions import (
    AddExemption,
    EndExemption,
    OutOfScope,
    add_exemption,
    end_exemption,
)
from testrota.actions.plan import PlanWeek, plan_week
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.db.models import Appointment, AuditEvent, Exemption, Message
from testrota.errors import UserError
from testrota.notify.enqueue import sync_reminders
from testrota.settings import Settings
from tests.compliance_fixtures import (
    SH,
    alerts,
    app_at,
    import_results,
    local,
    policy,
    write_xlsx,
)
from tests.test_import_cli import BASE, write_roster
from tests.test_release_appointments import _appointments

pytest_plugins = ("tests.web_fixtures",)

P = policy()
MONDAY = local(SH, 2022, 5, 9, 6, 0)
HR = Actor.cli("hr")


def _env(at: datetime) -> dict[str, str]:
    return {"TESTROTA_NOW": at.isoformat()}


def _json(cli: Any, *args: str, at: datetime) -> Any:
    result = cli(*args, "--json", env=_env(at))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def planned(cli: Any, engine: Engine, tmp_path: Path) -> None:
    _json(cli, "import", str(write_roster(tmp_path / "roster.xlsx", BASE)), at=MONDAY)
    _json(cli, "plan", "--week", "2022-W19", at=MONDAY)


def _day(a: Appointment) -> date:
    return a.starts_at.astimezone(SH).date()


def _texts(engine: Engine, appointment_ids: list[int]) -> dict[int, str]:
    with Session(engine) as s:
        rows = s.exec(select(Message).where(col(Message.appointment_id).in_(appointment_ids)))
        return {m.id or 0: m.status for m in rows}


def _audit(engine: Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_hr_exempts_someone_on_the_command_line(
    cli: Any, engine: Engine, planned: None, web_settings: Settings
) -> None:
    before = _appointments(engine, "0001")
    assert len(before) == 2, "the plan gives 0001 two tests in the week"
    first, second = before
    assert first.id is not None and second.id is not None
    # the reminder job has queued the second test's texts (48 hours ahead)
    sync_reminders(engine, second.starts_at - timedelta(hours=30), P, web_settings)
    assert set(_texts(engine, [second.id]).values()) == {"pending"}

    # sick leave covering the second test's day only
    day = _day(second).isoformat()
    out = _json(
        cli, "exempt", "add", "0001", "--from", day, "--to", day, "--reason", " 病假  sick ",
        at=MONDAY,
    )  # fmt: skip
    assert (out["start_date"], out["end_date"], out["reason"]) == (day, day, "病假 sick")
    assert [e["appointment_id"] for e in out["excused"]] == [second.id]

    after = {a.id: a for a in _appointments(engine, "0001")}
    assert after[first.id].status == "scheduled"  # outside the range: unchanged
    assert after[second.id].status == "excused"
    assert after[second.id].excused_reason == "病假 sick"
    assert (after[second.id].excused_by or "").startswith("cli:")  # whoever ran the command
    assert set(_texts(engine, [second.id]).values()) == {"cancelled"}
    # the reminder job does not make them again
    sync_reminders(engine, second.starts_at - timedelta(hours=20), P, web_settings)
    with Session(engine) as s:
        again = s.exec(
            select(Message).where(Message.appointment_id == second.id, Message.status == "pending")
        ).all()
    assert again == []
    [added] = _audit(engine, "exemption.added")
    assert added.details["employee_no"] == "0001" and added.details["excused"] == 1
    assert [e.entity_id for e in _audit(engine, "appointment.excused")] == [str(second.id)]

    listed = _json(cli, "exempt", "list", "--active-on", day, at=MONDAY)
    assert [(r["employee_no"], r["reason"]) for r in listed] == [("0001", "病假 sick")]
    assert _json(cli, "exempt", "list", "--active-on", "2022-06-01", at=MONDAY) == []
    zh = cli("--lang", "zh", "exempt", "list", env=_env(MONDAY))
    assert zh.exit_code == 0 and "结束日期" in zh.stdout and "0001" in zh.stdout


def test_an_exempt_person_is_not_planned_in_those_days(engine: Engine, planned: None) -> None:
    app = app_at(engine, MONDAY, P)
    # 0001 is away the whole next week and its Monday; 0002 from its Wednesday
    add_exemption(app, AddExemption("0001", date(2022, 5, 16), date(2022, 5, 23), "年假 leave", HR))
    add_exemption(app, AddExemption("0002", date(2022, 5, 18), date(2022, 5, 31), "出差 trip", HR))
    report = plan_week(app, PlanWeek(HR, "2022-W20")).report
    next_week = [a for a in _appointments(engine, "0001") if _day(a) >= date(2022, 5, 16)]
    assert next_week == []
    days_0002 = [_day(a) for a in _appointments(engine, "0002") if _day(a) >= date(2022, 5, 16)]
    assert days_0002 and all(d < date(2022, 5, 18) for d in days_0002)
    assert [_day(a) for a in _appointments(engine, "0004") if _day(a) >= date(2022, 5, 16)]
    assert report["exempt_people"] >= 2


def test_a_supervisor_exempts_only_their_own_people(engine: Engine, planned: None) -> None:
    app = app_at(engine, MONDAY, P)
    supervisor = Scope.of(["炼钢厂"])
    with pytest.raises(OutOfScope, match="运输部, which is not one of your departments"):
        add_exemption(
            app,
            AddExemption(
                "0001", date(2022, 5, 9), date(2022, 5, 10), "sick", Actor.web("sup"),
                scope=supervisor,
            ),
        )  # fmt: skip
    with Session(engine) as s:
        assert s.exec(select(Exemption)).all() == []
    assert {a.status for a in _appointments(engine, "0001")} == {"scheduled"}
    # their own: allowed
    out = add_exemption(
        app,
        AddExemption(
            "0005", date(2022, 5, 9), date(2022, 5, 10), "sick", Actor.web("sup"), scope=supervisor
        ),
    )
    assert out.employee_no == "0005"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("0001", "--from", "2022-05-12", "--to", "2022-05-10"), "ends (2022-05-10) before it"),
        (("0001", "--from", "2022-05-10", "--to", "2023-05-12"), "of 368 days is too long"),
        (("0001", "--from", "2022-05-10", "--to", "10/05/2022"), "--to '10/05/2022': write it"),
        (("9999", "--from", "2022-05-10", "--to", "2022-05-12"), "unknown employee number"),
    ],
)
def test_bad_ranges_and_people_are_refused_with_a_clear_message(
    cli: Any, engine: Engine, planned: None, args: tuple[str, ...], message: str
) -> None:
    result = cli("exempt", "add", *args, "--reason", "sick", env=_env(MONDAY))
    assert result.exit_code == 2
    assert message in result.output
    with Session(engine) as s:
        assert s.exec(select(Exemption)).all() == []
    empty = cli(
        "exempt", "add", "0001", "--from", "2022-05-10", "--to", "2022-05-10", "--reason", " ",
        env=_env(MONDAY),
    )  # fmt: skip
    assert empty.exit_code == 2 and "give a reason" in empty.output


def test_a_positive_result_exempts_the_person_and_stops_their_texts(
    cli: Any, engine: Engine, planned: None, web_settings: Settings, tmp_path: Path
) -> None:
    first, second = _appointments(engine, "0001")
    assert first.id is not None and second.id is not None
    # sampled at their first test; the lab's sheet arrives the day before their second
    sampled = first.starts_at.astimezone(SH) + timedelta(minutes=5)
    now = second.starts_at - timedelta(hours=30)
    assert sampled < now
    sync_reminders(engine, now, P, web_settings)
    assert set(_texts(engine, [second.id]).values()) == {"pending"}
    sheet = write_xlsx(
        tmp_path / "lab.xlsx",
        ["工号", "姓名", "采样时间", "检测结果"],
        [["0001", "张伟", sampled.replace(tzinfo=None), "阳性"]],
    )
    summary = import_results(engine, sheet, P, now)
    assert summary.positives == 1

    with Session(engine) as s:
        [exemption] = s.exec(select(Exemption)).all()
    assert (exemption.start_date, exemption.end_date, exemption.reason) == (
        sampled.date(),
        sampled.date() + timedelta(days=13),
        "positive",
    )
    by_id = {a.id: a for a in _appointments(engine, "0001")}
    assert by_id[first.id].status == "done"  # the positive sample is their test
    assert (by_id[second.id].status, by_id[second.id].excused_reason) == ("excused", "positive")
    assert by_id[second.id].excused_code == "recovering"
    assert set(_texts(engine, [second.id]).values()) == {"cancelled"}
    assert [e.details["reason"] for e in _audit(engine, "exemption.added")] == ["positive"]

    # nobody texts them, they are not listed as missed, and next week has no test for them
    later = second.starts_at + timedelta(hours=6)
    sync_reminders(engine, second.starts_at - timedelta(hours=20), P, web_settings)
    assert set(_texts(engine, [second.id]).values()) == {"cancelled"}
    missed = _json(cli, "missed", "--week", "2022-W19", "--format", "json", at=later)
    assert "0001" not in {r["employee_no"] for r in missed}
    _json(cli, "plan", "--week", "2022-W20", at=later)
    assert all(_day(a) < date(2022, 5, 16) for a in _appointments(engine, "0001"))

    # the same sheet again raises nothing and adds no second exemption
    import_results(engine, sheet, P, later)
    with Session(engine) as s:
        assert len(s.exec(select(Exemption)).all()) == 1
    # closing the alert leaves the person exempt: HR ends that when they are back
    [alert] = alerts(engine, later, P)
    close_alert(app_at(engine, later, P), CloseAlert(alert.id, HR, reason="handled"))
    with Session(engine) as s:
        assert len(s.exec(select(Exemption)).all()) == 1


def test_an_exemption_takes_off_only_the_days_it_covers(
    cli: Any, engine: Engine, planned: None
) -> None:
    """The simulated week (run with the exemption) found: an exemption from the second test's
    day asks the days before it their share, one test of two, but the second test it excused
    was also taken off that, leaving 0: the person left the week's figures, and the first test,
    missed, left the missed list with them."""
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup
    from tests.test_rollup import _weekly_kept, _weekly_recounted

    first, second = _appointments(engine, "0001")
    away = _day(second)
    assert (away - _day(first)).days >= 2 and away.weekday() <= 4  # days left before it
    app = app_at(engine, MONDAY, P)
    rebuild_rollup(app, RebuildRollup(HR))  # the week held: kept figures and a recount both
    add_exemption(app, AddExemption("0001", away, away + timedelta(days=13), "sick", HR))
    later = first.ends_at + timedelta(days=1)  # the first test missed, the second to come
    assert later < second.starts_at
    missed = _json(cli, "missed", "--week", "2022-W19", "--format", "json", at=later)
    assert "0001" in {r["employee_no"] for r in missed}
    report = _json(cli, "compliance", "--week", "2022-W19", at=later)
    [mine] = [d for d in report["departments"] if d["department"] == "运输部"]  # 0001's alone
    assert (mine["people"], mine["required"], mine["missed"], mine["excused"]) == (1, 1, 1, 1)
    assert _weekly_kept(engine) == _weekly_recounted(engine, app_at(engine, later, P))


def test_the_roll_ups_stay_equal_to_a_recount(engine: Engine, planned: None) -> None:
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup
    from tests.test_rollup import _kept, _recounted, _weekly_kept, _weekly_recounted

    app = app_at(engine, MONDAY, P)
    rebuild_rollup(app, RebuildRollup(HR))
    add_exemption(app, AddExemption("0001", date(2022, 5, 9), date(2022, 5, 12), "sick", HR))
    week = [date(2022, 5, 9) + timedelta(days=i) for i in range(7)]
    assert _kept(engine) == _recounted(engine, SH, week)
    assert _weekly_kept(engine) == _weekly_recounted(engine, app) != {}


def test_ending_an_exemption_early_gives_back_the_coming_tests(
    cli: Any, engine: Engine, planned: None, web_settings: Settings
) -> None:
    first, second = _appointments(engine, "0001")
    assert second.id is not None
    sync_reminders(engine, second.starts_at - timedelta(hours=30), P, web_settings)
    app = app_at(engine, MONDAY, P)
    out = add_exemption(app, AddExemption("0001", date(2022, 5, 9), date(2022, 5, 20), "sick", HR))
    assert {a.status for a in _appointments(engine, "0001")} == {"excused"}
    back = _day(first) + timedelta(days=1)  # back the day after their first test
    ended = _json(cli, "exempt", "end", str(out.id), "--on", back.isoformat(), at=MONDAY)
    assert (ended["end_date"], ended["restored"]) == (_day(first).isoformat(), [second.id])
    statuses = {a.id: a.status for a in _appointments(engine, "0001")}
    assert statuses == {first.id: "excused", second.id: "scheduled"}
    assert set(_texts(engine, [second.id]).values()) == {"pending"}
    assert [e.entity_id for e in _audit(engine, "exemption.ended")] == [str(out.id)]

    # one not begun by the return day is removed; an unknown id is refused
    later = add_exemption(app, AddExemption("0002", date(2022, 6, 1), date(2022, 6, 3), "trip", HR))
    gone = end_exemption(app, EndExemption(later.id, HR, back_on=date(2022, 5, 30)))
    assert gone.removed
    with Session(engine) as s:
        assert [e.id for e in s.exec(select(Exemption))] == [out.id]
    with pytest.raises(UserError, match="no exemption 999"):
        end_exemption(app, EndExemption(999, HR))
    # someone else's exemption looks to a supervisor as if it were not there
    with pytest.raises(UserError, match=f"no exemption {out.id}"):
        end_exemption(app, EndExemption(out.id, HR, scope=Scope.of(["炼钢厂"])))


def test_ending_one_of_two_overlapping_exemptions_keeps_the_other_ones_days_excused(
    engine: Engine, planned: None
) -> None:
    """Review: two positive samples a few days apart (or HR typing the same reason twice) make
    two overlapping exemptions of one reason and author; ending the shorter gave back a test on
    a day the longer one still covers."""
    _, second = _appointments(engine, "0001")
    app = app_at(engine, MONDAY, P)
    long = AddExemption("0001", date(2022, 5, 9), date(2022, 5, 31), "sick", HR)
    add_exemption(app, long)
    short = add_exemption(app, AddExemption("0001", _day(second), _day(second), "sick", HR))
    ended = end_exemption(app, EndExemption(short.id, HR, back_on=_day(second)))
    assert ended.removed and ended.restored == []
    assert {a.status for a in _appointments(engine, "0001")} == {"excused"}

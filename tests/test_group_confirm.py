"""Confirming the daily report upward (分级把关, issue 15): kept with who, when and the
figures then; late past report.confirm_by; a later change shown as changed."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.actions.report import ConfirmReport, DailyReport, confirm_report, daily_report
from testrota.audit import Actor
from testrota.db.models import AuditEvent, Person
from testrota.errors import UserError
from tests.compliance_fixtures import (
    NY,
    SH,
    add_appt,
    add_person,
    add_sample,
    add_site,
    app_at,
    local,
    policy,
)

DAY = date(2022, 5, 10)


def _world(session: Session) -> tuple[Person, Person]:
    add_site(session)
    a = add_person(session, "1", department="炼钢厂", grid_unit="")
    b = add_person(session, "2", department="炼钢厂", grid_unit="")
    add_person(session, "3", department="运输部", grid_unit="")
    add_appt(session, a, local(SH, 2022, 5, 10, 9, 0), status="done")
    add_sample(session, a, local(SH, 2022, 5, 10, 9, 5))
    add_appt(session, b, local(SH, 2022, 5, 10, 9, 0), status="missed")
    session.commit()
    return a, b


def _rows(engine: Engine, at: Any) -> dict[str, Any]:
    out = daily_report(app_at(engine, at, policy()), DailyReport(DAY, Actor.cli()))
    return {r.path: r for r in out.rows}


def test_a_confirmation_keeps_its_figures_and_a_late_result_shows_as_changed(
    engine: Engine, session: Session
) -> None:
    _, b = _world(session)
    at = local(SH, 2022, 5, 11, 8, 30)
    done = confirm_report(
        app_at(engine, at, policy()),
        ConfirmReport(DAY, "炼钢厂", Actor.web("sup"), note="已核对  两人"),
    )
    assert (done.unit, done.late, done.replaced, done.note) == (
        "本钢集团/炼钢厂",
        False,
        False,
        "已核对 两人",
    )
    split = done.figures.pop("untested_by_reason")
    assert done.figures == {
        "people": 2,
        "required": 2,
        "tested": 1,
        "untested": 1,
        "extra": 0,
        "positive": 0,
    }
    assert split["none"] == 1 and sum(split.values()) == 1  # untested, for no reason given
    rows = _rows(engine, at)
    mine = rows["本钢集团/炼钢厂"]
    assert mine.confirmation == "confirmed"
    assert mine.confirmed is not None and mine.confirmed["by"] == "web:sup"
    assert mine.confirmed["changed"] is False
    assert rows["本钢集团/运输部"].confirmation == "waiting"
    # the lab's result of yesterday's sample of the untested person arrives late
    add_sample(session, b, local(SH, 2022, 5, 10, 17, 0), source="lab", result="negative")
    session.commit()
    mine = _rows(engine, local(SH, 2022, 5, 11, 9, 0))["本钢集团/炼钢厂"]
    assert mine.confirmed is not None and mine.confirmed["changed"] is True
    changes = mine.confirmed["changes"]
    assert (changes["tested"], changes["untested"]) == ([1, 2], [1, 0])
    assert set(changes) == {"tested", "untested", "untested_by_reason"}
    with Session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "report.confirmed")).one()[0]
        assert event.actor == "web:sup" and event.details["unit"] == "本钢集团/炼钢厂"
        assert event.details["tested"] == 1


def test_units_not_confirmed_by_the_deadline_are_late_and_a_late_confirmation_says_so(
    engine: Engine, session: Session
) -> None:
    _world(session)
    before = _rows(engine, local(SH, 2022, 5, 11, 9, 59))
    assert before["本钢集团/炼钢厂"].confirmation == "waiting"
    after = _rows(engine, local(SH, 2022, 5, 11, 10, 1))
    assert after["本钢集团/炼钢厂"].confirmation == "late"
    assert after["本钢集团/运输部"].confirmation == "late"
    done = confirm_report(
        app_at(engine, local(SH, 2022, 5, 11, 10, 30), policy()),
        ConfirmReport(DAY, "本钢集团/炼钢厂", Actor.cli("sup")),
    )
    assert done.late
    again = confirm_report(
        app_at(engine, local(SH, 2022, 5, 11, 10, 40), policy()),
        ConfirmReport(DAY, "本钢集团/炼钢厂", Actor.cli("sup"), note="复核"),
    )
    assert again.replaced
    rows = _rows(engine, local(SH, 2022, 5, 11, 11, 0))
    assert rows["本钢集团/炼钢厂"].confirmation == "confirmed_late"
    assert rows["本钢集团/炼钢厂"].confirmed is not None
    assert rows["本钢集团/炼钢厂"].confirmed["note"] == "复核"


def test_the_deadline_is_local_time_in_a_dst_zone(engine: Engine, session: Session) -> None:
    pol = policy(timezone="America/New_York")
    add_site(session)
    p = add_person(session, "9", department="炼钢厂", grid_unit="")
    add_appt(session, p, local(NY, 2022, 3, 12, 9, 0), status="missed")
    session.commit()
    day = date(2022, 3, 12)  # the deadline is 10:00 on the 13th, the morning DST starts
    at = local(NY, 2022, 3, 13, 9, 30)  # 13:30 UTC; the deadline is 14:00 UTC
    rows = daily_report(app_at(engine, at, pol), DailyReport(day, Actor.cli())).rows
    assert rows[1].confirmation == "waiting"
    later = local(NY, 2022, 3, 13, 10, 5)
    rows = daily_report(app_at(engine, later, pol), DailyReport(day, Actor.cli())).rows
    assert rows[1].confirmation == "late"


def test_a_future_day_a_long_note_and_an_unknown_unit_are_refused(
    engine: Engine, session: Session
) -> None:
    _world(session)
    evening = app_at(engine, local(SH, 2022, 5, 10, 20, 0), policy())
    with pytest.raises(UserError, match="has not happened yet"):
        confirm_report(evening, ConfirmReport(date(2022, 5, 11), "炼钢厂", Actor.cli()))
    # the day itself, not over yet (it was accepted at 20:00; found in review)
    with pytest.raises(UserError, match="not over yet"):
        confirm_report(evening, ConfirmReport(DAY, "炼钢厂", Actor.cli()))
    app = app_at(engine, local(SH, 2022, 5, 11, 8, 0), policy())
    with pytest.raises(UserError, match="keep it under 400"):
        confirm_report(app, ConfirmReport(DAY, "炼钢厂", Actor.cli(), note="x" * 401))
    with pytest.raises(UserError, match="no unit"):
        confirm_report(app, ConfirmReport(DAY, "轧钢厂", Actor.cli()))


def test_report_confirm_on_the_command_line(cli: Any, session: Session) -> None:
    _world(session)
    env = {"TESTROTA_NOW": "2022-05-11T08:00:00+08:00"}
    result = cli(
        "report",
        "confirm",
        "--date",
        "2022-05-10",
        "--unit",
        "炼钢厂",
        "--note",
        "ok",
        "--json",
        env=env,
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["unit"] == "本钢集团/炼钢厂" and doc["late"] is False
    assert doc["confirmed_at"].endswith("+08:00")
    daily = json.loads(cli("report", "daily", "--date", "2022-05-10", "--json", env=env).stdout)
    row = next(r for r in daily if r["path"] == "本钢集团/炼钢厂")
    assert row["confirmed"]["note"] == "ok" and row["confirmation"] == "confirmed"
    bad = cli("report", "confirm", "--date", "2022-05-10", "--unit", "无", env=env)
    assert bad.exit_code == 2


def test_supervisors_of_units_late_past_the_deadline_get_one_text_per_unit_and_day(
    engine: Engine, session: Session
) -> None:
    from testrota.actions.report import RemindLate, remind_late
    from testrota.actions.units import ensure_units
    from testrota.auth.users import add_user
    from testrota.db.models import Message

    _world(session)
    app = app_at(engine, local(SH, 2022, 5, 11, 9, 0), policy())
    ensure_units(app, Actor.cli())
    for name, unit, phone in (
        ("sup1", "本钢集团/炼钢厂", "+8613900000001"),
        ("sup2", "本钢集团/运输部", "+8613900000002"),
        ("sup3", "本钢集团/炼钢厂", None),  # no phone: nobody to text
    ):
        add_user(
            session,
            name=name,
            role="supervisor",
            password="pw-long-enough",
            units=[unit],
            phone=phone,
            now=local(SH, 2022, 5, 1, 9, 0),
        )
    session.commit()
    confirm_report(app, ConfirmReport(DAY, "运输部", Actor.web("sup2")))
    job = RemindLate(Actor.job("remind_late_confirmations"))
    assert remind_late(app_at(engine, local(SH, 2022, 5, 11, 9, 59), policy()), job) == 0
    late = app_at(engine, local(SH, 2022, 5, 11, 10, 5), policy())
    assert remind_late(late, job) == 1
    assert remind_late(late, job) == 0  # once per unit and day
    with Session(engine) as s:
        [text] = s.exec(select(Message)).all()
        message = text[0] if not isinstance(text, Message) else text
        assert message.kind == "confirm_late" and message.to == "+8613900000001"
        assert "炼钢厂" in message.body and "10:00" in message.body
        assert "/report/daily?date=20220510&u=" in message.body
        assert message.params is not None and message.params["unit"] == "炼钢厂"


def test_a_grid_units_leader_is_not_chased_for_a_confirmation_never_asked(
    engine: Engine, session: Session
) -> None:
    """A grid unit's report has no confirmation to give (its row says so); its leader got a
    "not confirmed" text every day all the same (found in review)."""
    from testrota.actions.report import RemindLate, remind_late
    from testrota.actions.units import ensure_units
    from testrota.auth.users import add_user
    from testrota.db.models import Message

    add_site(session)
    person = add_person(session, "1", department="炼钢厂", grid_unit="一号网格")
    add_appt(session, person, local(SH, 2022, 5, 10, 9, 0), status="missed")
    session.commit()
    app = app_at(engine, local(SH, 2022, 5, 11, 10, 5), policy())
    ensure_units(app, Actor.cli())
    grid = "本钢集团/炼钢厂/一号网格"
    add_user(
        session,
        name="leader",
        role="supervisor",
        password="pw-long-enough",
        units=[grid],
        phone="+8613900000009",
        now=local(SH, 2022, 5, 1, 9, 0),
    )
    session.commit()
    assert _rows(engine, local(SH, 2022, 5, 11, 10, 5))[grid].confirmation is None
    assert remind_late(app, RemindLate(Actor.job("remind_late_confirmations"))) == 0
    with Session(engine) as s:
        assert s.exec(select(Message)).all() == []


def test_a_later_hire_is_no_change_to_a_confirmed_day_and_a_later_excuse_is(
    engine: Engine, session: Session
) -> None:
    """What a confirmation is compared on is the day's: the unit's headcount now is not (a
    hire a week later marked the day changed), the 未检 split by reason is (an excuse filed
    afterwards did not; both found in review)."""
    add_site(session)
    person = add_person(session, "1", department="炼钢厂", grid_unit="")
    appt = add_appt(session, person, local(SH, 2022, 5, 10, 9, 0), status="missed")
    session.commit()
    confirm_report(
        app_at(engine, local(SH, 2022, 5, 11, 8, 0), policy()),
        ConfirmReport(DAY, "炼钢厂", Actor.cli("sup")),
    )
    add_person(session, "2", department="炼钢厂", grid_unit="")
    session.commit()
    row = _rows(engine, local(SH, 2022, 5, 18, 8, 0))["本钢集团/炼钢厂"]
    assert row.confirmed["changed"] is False, row.confirmed["changes"]
    appt.status, appt.excused_code = "excused", "quarantine"
    session.add(appt)
    session.commit()
    row = _rows(engine, local(SH, 2022, 5, 18, 8, 0))["本钢集团/炼钢厂"]
    assert row.untested_by_reason["quarantine"] == 1
    assert row.confirmed["changed"] is True
    assert set(row.confirmed["changes"]) == {"untested_by_reason"}

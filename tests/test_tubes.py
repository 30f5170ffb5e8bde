"""Pooled tubes (混管): open, fill through the check-in, close at the ratio or by hand, list;
every refusal is one line, exit 2, and nothing written."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.actions.checkin import CheckIn, check_in
from testrota.actions.tubes import CloseTube, ListTubes, OpenTube, close_tube, list_tubes, open_tube
from testrota.audit import Actor
from testrota.db.models import AuditEvent, Person, TestResult, Tube, TubeMember
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.sampling.tubes import Candidate, TubeState, check_member, ratio_for
from tests.compliance_fixtures import NY, SH, add_person, add_site, app_at, local, policy
from tests.conftest import CONFIG_DIR

NOW = "2022-05-11T10:00:00+08:00"
CLI_ENV = {"TESTROTA_NOW": NOW}


def _people(engine: Engine) -> None:
    with Session(engine) as s:
        add_site(s, "S1", "一号采样点")
        add_site(s, "S2", "二号采样点")
        for i in range(1, 8):
            add_person(s, f"10{i:02d}", f"炼钢{i}", grid_unit="炼钢一班", category="driver")
        add_person(s, "2001", "物流1", department="物流部", grid_unit="物流二组")
        add_person(s, "3001", "冷链1", grid_unit="炼钢一班", category="cold_chain")
        s.commit()


def _counts(engine: Engine) -> tuple[int, int, int, int]:
    with Session(engine) as s:
        return tuple(  # type: ignore[return-value]
            int(s.scalar(select(func.count()).select_from(m)) or 0)
            for m in (TestResult, TubeMember, Tube, AuditEvent)
        )


def _ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if result.stdout.startswith(("{", "[")) else result.stdout


def _refused(result: Any, text: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and text in lines[0], lines


def test_a_tube_fills_through_the_checkin_and_closes_at_its_ratio(engine: Engine, cli: Any) -> None:
    _people(engine)
    opened = _ok(
        cli("tube", "open", "HG0001", "--site", "S1", "--ratio", "5", "--json", env=CLI_ENV)
    )
    assert (opened["code"], opened["ratio"], opened["status"], opened["places_left"]) == (
        "HG0001",
        5,
        "open",
        5,
    )
    for i in range(1, 5):
        doc = _ok(cli("checkin", f"10{i:02d}", "--tube", "HG0001", "--json", env=CLI_ENV))
        assert (doc["tube"], doc["tube_places_left"], doc["tube_closed"]) == (
            "HG0001",
            5 - i,
            False,
        )
        assert doc["site"] == "S1"  # the tube's site, none given
    human = cli("checkin", "1005", "--site", "S1", "--tube", "hg0001", env=CLI_ENV)
    assert human.exit_code == 2 and "no tube hg0001" in human.output  # codes are exact
    human = _ok(cli("checkin", "1005", "--site", "S1", "--tube", "ＨＧ0001", env=CLI_ENV))
    assert "Tube HG0001 is full and closed." in human
    listed = _ok(cli("tubes", "--date", "2022-05-11", "--format", "json", env=CLI_ENV))
    assert len(listed) == 1
    tube = listed[0]
    assert {k: tube[k] for k in ("code", "site", "ratio", "status", "members", "result")} == {
        "code": "HG0001",
        "site": "S1",
        "ratio": 5,
        "status": "closed",
        "members": ["1001", "1002", "1003", "1004", "1005"],
        "result": None,
    }
    assert tube["opened_at"] == NOW and tube["closed_at"] == NOW
    _refused(cli("checkin", "1006", "--tube", "HG0001", env=CLI_ENV), "tube HG0001 is closed")
    # Another day: nothing listed; the CSV has a header and one row per tube.
    assert _ok(cli("tubes", "--date", "2022-05-12", "--json", env=CLI_ENV)) == []
    csv = _ok(cli("tubes", "--site", "S1", "--format", "csv", env=CLI_ENV))
    assert csv.splitlines()[0].startswith("code,site,ratio,status,members")
    assert "1001 1002 1003 1004 1005" in csv.splitlines()[1]


def test_refusals_write_nothing(engine: Engine, cli: Any, tmp_path: Path) -> None:
    _people(engine)
    _ok(cli("tube", "open", "T1", "--site", "S1", "--ratio", "10", env=CLI_ENV))
    _ok(cli("tube", "open", "T2", "--site", "S1", "--ratio", "10", env=CLI_ENV))
    _ok(cli("checkin", "1001", "--tube", "T1", env=CLI_ENV))
    before = _counts(engine)
    later = {"TESTROTA_NOW": "2022-05-11T14:00:00+08:00"}
    cases = [
        # a person in two open tubes (a later visit, T1 still open)
        (("checkin", "1001", "--tube", "T2"), later, "1001 is already in open tube T1"),
        # the same visit: the swab is in T1 already
        (("checkin", "1001", "--tube", "T2"), CLI_ENV, "sampled into tube T1 already"),
        # grid units kept apart
        (("checkin", "2001", "--tube", "T1"), CLI_ENV, "grid units are kept apart"),
        # a category tested one per tube
        (("checkin", "3001", "--tube", "T2"), CLI_ENV, "tested one per tube"),
        # a tube of another site, an unknown tube, a personal code as a tube
        (("checkin", "1002", "--site", "S2", "--tube", "T2"), CLI_ENV, "is at site S1, not S2"),
        (("checkin", "1002", "--tube", "NOPE"), CLI_ENV, "no tube NOPE"),
        (("checkin", "1002", "--tube", "TR:1.2.3.X"), CLI_ENV, "a personal code, not a tube"),
        # the code used on another day, a ratio not validated, reopened elsewhere
        (
            ("tube", "open", "T1", "--site", "S1"),
            {"TESTROTA_NOW": "2022-05-12T08:00:00+08:00"},
            "tube T1 was used on 2022-05-11",
        ),
        (("tube", "open", "T3", "--site", "S1", "--ratio", "3"), CLI_ENV, "1, 5, 10 or 20"),
        (("tube", "open", "T1", "--site", "S2"), CLI_ENV, "already open at S1"),
        (("tube", "open", "T1", "--site", "S1", "--ratio", "5"), CLI_ENV, "open for 10 swabs"),
        (("tube", "open", "T4", "--site", "NOWHERE"), CLI_ENV, "unknown site"),
        (("tube", "close", "T2"), CLI_ENV, "tube T2 is empty"),
        (("tube", "close", "T9"), CLI_ENV, "no tube T9"),
        (("tubes", "--date", "11/05/2022"), CLI_ENV, "use YYYY-MM-DD"),
    ]
    for args, env, text in cases:
        _refused(cli(*args, env=env), text)
    assert _counts(engine) == before
    # The repeat of an open is harmless; a single tube takes the cold-chain worker.
    again = _ok(cli("tube", "open", "T1", "--site", "S1", "--json", env=CLI_ENV))
    assert again["already"] is True and again["members"] == ["1001"]
    _ok(cli("tube", "open", "S-0001", "--site", "S1", "--ratio", "1", env=CLI_ENV))
    doc = _ok(cli("checkin", "3001", "--tube", "S-0001", "--json", env=CLI_ENV))
    assert doc["tube_closed"] is True and doc["tube_places_left"] == 0
    closed = _ok(cli("tube", "close", "T1", "--json", env=CLI_ENV))
    assert (closed["status"], closed["closed_at"], closed["already"]) == ("closed", NOW, False)
    assert _ok(cli("tube", "close", "T1", "--json", env=CLI_ENV))["already"] is True
    # With grid units allowed to mix, the logistics worker joins T2 after a steel worker.
    config = tmp_path / "config"
    import shutil

    shutil.copytree(CONFIG_DIR, config)
    data = yaml.safe_load((config / "policy.yaml").read_text(encoding="utf-8"))
    data["testing"]["keep_grid_units_apart"] = False
    (config / "policy.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**CLI_ENV, "TESTROTA_CONFIG_DIR": str(config)}
    _ok(cli("checkin", "1002", "--tube", "T2", env=env))
    _ok(cli("checkin", "2001", "--tube", "T2", env=env))
    tubes = {t["code"]: t for t in _ok(cli("tubes", "--json", env=env))}
    assert tubes["T2"]["members"] == ["1002", "2001"] and tubes["T2"]["grid_unit"] == ""


def test_audit_of_a_tube_day(engine: Engine, cli: Any) -> None:
    _people(engine)
    _ok(cli("tube", "open", "T1", "--site", "S1", "--ratio", "5", env=CLI_ENV))
    _ok(cli("checkin", "1001", "--tube", "T1", env=CLI_ENV))
    _ok(cli("tube", "close", "T1", env=CLI_ENV))
    with Session(engine) as s:
        events = [
            (e.action, e.entity_id, e.details.get("tube"))
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))  # type: ignore[arg-type]
        ]
    assert events == [
        ("tube.opened", "T1", None),
        ("checkin.recorded", "1001", "T1"),
        ("tube.closed", "T1", None),
    ]


# --- the rules, pure ------------------------------------------------------------------------


def _policy(**testing: Any) -> Policy:
    return policy(**testing)


def test_ratio_comes_from_the_policy_and_its_surge_override() -> None:
    plain = _policy()
    assert ratio_for(date(2022, 5, 11), None, plain) == 10
    assert ratio_for(date(2022, 5, 11), 20, plain) == 20
    surge = _policy(
        pooling={"default_ratio": 10, "surge_ratio": 20, "single_categories": []},
        surge=[
            {
                "name": "5月静态管控",
                "start": "2022-05-10",
                "end": "2022-05-12",
                "tests_per_week": 7,
                "all_staff": True,
            }
        ],
    )
    assert ratio_for(date(2022, 5, 11), None, surge) == 20
    assert ratio_for(date(2022, 5, 13), None, surge) == 10
    with pytest.raises(UserError, match="not 3"):
        ratio_for(date(2022, 5, 11), 3, plain)
    with pytest.raises(ValueError):
        _policy(pooling={"default_ratio": 30})


def test_a_tube_at_its_ratio_takes_no_more() -> None:
    full = TubeState("T", "S1", date(2022, 5, 11), 5, "open", "u", 5, datetime(2022, 5, 11))
    with pytest.raises(UserError, match=r"tube T is full \(5 of 5\)"):
        check_member(full, Candidate("1", "u", None), "S1", None, _policy())


def test_the_tube_day_is_the_local_day_in_a_dst_zone(engine: Engine) -> None:
    _people(engine)
    ny = _policy(timezone="America/New_York")
    # 23:30 on the night clocks go back: already the next day in UTC
    at = local(NY, 2022, 11, 6, 23, 30)
    app = app_at(engine, at, ny)
    view = open_tube(app, OpenTube("NY1", "S1", Actor.cli("t"), ratio=5))
    assert view.day == date(2022, 11, 6)
    check_in(app, CheckIn("1001", Actor.cli("t"), tube="NY1"))
    assert [v.code for v in list_tubes(app, ListTubes())] == ["NY1"]
    assert list_tubes(app, ListTubes(date(2022, 11, 7))) == []
    sh = app_at(engine, local(SH, 2022, 5, 11, 10, 0), _policy())
    with pytest.raises(UserError, match="used on 2022-11-06"):
        open_tube(sh, OpenTube("NY1", "S1", Actor.cli("t")))
    assert close_tube(app, CloseTube("NY1", Actor.cli("t"))).status == "closed"
    with Session(engine) as s:
        person = s.scalars(select(Person).where(Person.employee_no == "1001")).one()
        member = s.scalars(select(TubeMember)).one()
        assert member.person_id == person.id


def test_a_swab_into_a_tube_reads_and_adds_its_membership_past_the_orms_execute(
    engine: Engine,
) -> None:
    """The tube's members read and the swab's membership added at every scan are Core
    statements on the session's connection (not through ``Session.execute``'s ORM compile);
    the tube, a model, and its closing still go through the session, which sees it closed."""
    from sqlalchemy import event

    _people(engine)
    app = app_at(engine, datetime.fromisoformat(NOW), policy())
    open_tube(app, OpenTube("HG0002", "S1", Actor.cli("t"), ratio=5))
    through_orm: list[str] = []

    def note(state: Any) -> None:
        through_orm.append(str(state.statement))

    event.listen(Session, "do_orm_execute", note)
    try:
        placed = [
            check_in(app, CheckIn(f"10{i:02d}", Actor.cli("s"), tube="HG0002")) for i in range(1, 6)
        ]
    finally:
        event.remove(Session, "do_orm_execute", note)
    assert [(r.tube_places_left, r.tube_closed) for r in placed] == [
        (4, False),
        (3, False),
        (2, False),
        (1, False),
        (0, True),
    ]
    assert not [s for s in through_orm if "tubemember" in s], through_orm
    assert [s for s in through_orm if s.startswith("UPDATE tube")]  # the closing
    with Session(engine) as s:
        tube = s.exec(select(Tube)).scalars().one()  # type: ignore[call-overload]
        assert (tube.status, tube.grid_unit) == ("closed", "炼钢一班")

"""Planning stored in the database, through the CLI and the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import Engine, insert, select, update

from testrota.audit import Actor
from testrota.db.models import Appointment, AuditEvent, Exemption, Person, PlanRun, Slot
from testrota.policy import load_policy
from testrota.risk.vocabulary import load_vocabulary
from testrota.scheduling.service import (
    add_midweek,
    latest_report,
    plan_week_service,
    schedule_rows,
)
from testrota.scheduling.sites import load_sites
from tests.conftest import CONFIG_DIR, SAMPLE_ROSTERS

FRIDAY_NOON = "2022-05-06T12:00:00+08:00"  # before ISO week 2022-W19
WEEK = "2022-W19"
ACTOR = Actor.cli("planner")
A = Appointment.__table__  # type: ignore[attr-defined]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def add_people(
    engine: Engine,
    n: int,
    *,
    prefix: str = "E",
    units: int = 4,
    category: str | None = "cold_chain",
    shift: str = "day",
    start: int = 0,
    department: str = "冷轧车间",
) -> None:
    at = datetime(2022, 5, 1, tzinfo=UTC)
    rows = [
        {
            "employee_no": f"{prefix}{start + i:04d}",
            "name": f"员工{start + i}",
            "department": department,
            "grid_unit": f"{(start + i) % units + 1}网格",
            "shift": shift,
            "risk_category": category,
            "active": True,
            "created_at": at,
            "updated_at": at,
        }
        for i in range(n)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Person.__table__), rows)  # type: ignore[attr-defined]


def run_json(cli: Any, *args: str, now: str = FRIDAY_NOON, **env: str) -> Any:
    result = cli(*args, env={"TESTROTA_NOW": now, **env})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def appointments(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(A).order_by(A.c.id)))


def test_plan_and_schedule_through_the_cli(cli: Any, engine: Engine) -> None:
    add_people(engine, 40)
    add_people(engine, 5, prefix="X", category=None, start=100)  # not high-risk: not planned
    report = run_json(cli, "plan", "--week", WEEK, "--json")
    assert report["week"] == WEEK
    assert report["required"] == report["scheduled"] == 80
    assert report["unscheduled"] == []
    assert report["added"] == 80 and report["kept"] == 0 and report["cancelled"] == 0
    assert report["single_unit_slot_share"] == 1.0
    assert {u["site"] for u in report["utilisation"]} == {"NORTH", "SOUTH", "DORM"}
    # The SMS sender's capacity for the week's reminders is part of the report (issue 6).
    assert report["sms_capacity"]["week"] == WEEK

    rows = run_json(cli, "schedule", "--week", WEEK, "--format", "json")
    assert len(rows) == 80
    for row in rows:
        assert {"employee_no", "site", "starts_at", "ends_at", "status", "grid_unit"} <= set(row)
        assert row["starts_at"].endswith("+08:00") and row["status"] == "scheduled"
        starts = datetime.fromisoformat(row["starts_at"])
        assert date(2022, 5, 9) <= starts.date() <= date(2022, 5, 15)
    assert Counter(r["employee_no"] for r in rows) == {f"E{i:04d}": 2 for i in range(40)}
    assert not any(r["employee_no"].startswith("X") for r in rows)

    mine = run_json(cli, "schedule", "--week", WEEK, "--person", "E0007", "--format", "json")
    assert len(mine) == 2 and {r["employee_no"] for r in mine} == {"E0007"}
    days = sorted(datetime.fromisoformat(r["starts_at"]).date() for r in mine)
    assert (days[1] - days[0]).days in (3, 4)

    csv_out = cli("schedule", "--week", WEEK, "--format", "csv", env={"TESTROTA_NOW": FRIDAY_NOON})
    assert csv_out.exit_code == 0, csv_out.output
    assert csv_out.stdout.splitlines()[0].startswith("employee_no,name,department,grid_unit")
    table = cli("schedule", "--week", WEEK, env={"TESTROTA_NOW": FRIDAY_NOON})
    assert table.exit_code == 0 and "1网格" in table.stdout
    human = cli("plan", "--week", WEEK, "--show", env={"TESTROTA_NOW": FRIDAY_NOON})
    assert human.exit_code == 0 and "80 / 80" in human.stdout

    shown = run_json(cli, "plan", "--week", WEEK, "--show", "--json")
    assert shown == report
    with engine.connect() as conn:
        assert conn.execute(select(PlanRun.__table__)).first() is not None  # type: ignore[attr-defined]
        audit = conn.execute(select(AuditEvent.__table__)).all()  # type: ignore[attr-defined]
    assert [(a.action, a.entity_id) for a in audit] == [("plan.week", WEEK)]


def test_the_default_week_is_the_current_one(cli: Any, engine: Engine) -> None:
    add_people(engine, 3)
    now = "2022-05-11T09:00:00+08:00"  # Wednesday of 2022-W19
    report = run_json(cli, "plan", "--json", now=now)
    assert report["week"] == WEEK and report["scheduled"] == 6
    rows = run_json(cli, "schedule", "--format", "json", now=now)
    assert len(rows) == 6
    assert all(datetime.fromisoformat(r["starts_at"]) > datetime.fromisoformat(now) for r in rows)


def test_replanning_with_nothing_changed_keeps_every_row(cli: Any, engine: Engine) -> None:
    add_people(engine, 30)
    run_json(cli, "plan", "--week", WEEK, "--json")
    before = appointments(engine)
    again = run_json(cli, "plan", "--week", WEEK, "--json")
    assert (again["kept"], again["added"], again["cancelled"]) == (60, 0, 0)
    assert again["kept_share"] == 1.0
    assert appointments(engine) == before  # same ids, same rows


def test_next_week_keeps_last_weeks_weekdays_and_times(cli: Any, engine: Engine) -> None:
    add_people(engine, 30, units=3)
    run_json(cli, "plan", "--week", WEEK, "--json")
    nxt = run_json(cli, "plan", "--week", "2022-W20", "--json")
    assert nxt["unchanged_share"] == 1.0 and nxt["compared_people"] == 30
    w19 = {
        (r["employee_no"], datetime.fromisoformat(r["starts_at"]) + timedelta(days=7))
        for r in run_json(cli, "schedule", "--week", WEEK, "--format", "json")
    }
    w20 = {
        (r["employee_no"], datetime.fromisoformat(r["starts_at"]))
        for r in run_json(cli, "schedule", "--week", "2022-W20", "--format", "json")
    }
    assert w19 == w20


def test_a_replan_mid_week_never_touches_the_past_and_cancels_instead_of_deleting(
    cli: Any, engine: Engine
) -> None:
    add_people(engine, 20, units=2)
    run_json(cli, "plan", "--week", WEEK, "--json")
    wednesday = datetime(2022, 5, 11, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
    rows = appointments(engine)
    past = [r for r in rows if r.starts_at <= wednesday]
    future = [r for r in rows if r.starts_at > wednesday]
    assert past and future
    with engine.begin() as conn:
        conn.execute(update(A).where(A.c.id == past[0].id).values(status="done"))
        conn.execute(update(A).where(A.c.id == past[1].id).values(status="missed"))
        # One person leaves; one joins mid-week.
        leaver = future[0].person_id
        conn.execute(
            update(Person.__table__)
            .where(  # type: ignore[attr-defined]
                Person.__table__.c.id == leaver
            )
            .values(active=False)
        )  # type: ignore[attr-defined]
    add_people(engine, 1, prefix="N", units=2, start=1)  # joins unit 2网格
    report = run_json(cli, "plan", "--week", WEEK, "--json", now=wednesday.isoformat())
    after = {r.id: r for r in appointments(engine)}
    for r in past:  # nothing whose slot has started moved, changed status or vanished
        assert after[r.id].starts_at == r.starts_at
        assert after[r.id].status == {past[0].id: "done", past[1].id: "missed"}.get(
            r.id, "scheduled"
        )
    left = [r for r in after.values() if r.person_id == leaver and r.starts_at > wednesday]
    assert left and all(r.status == "cancelled" for r in left)  # kept as rows, cancelled
    assert report["cancelled"] == len(left)
    unchanged = [r for r in future if r.person_id != leaver]
    assert all(after[r.id].status == "scheduled" for r in unchanged)  # same rows kept
    with engine.connect() as conn:
        newcomer = conn.execute(
            select(Person.__table__.c.id).where(  # type: ignore[attr-defined]
                Person.__table__.c.employee_no == "N0001"
            )
        ).scalar_one()  # type: ignore[attr-defined]
    new_rows = sorted(
        (r for r in after.values() if r.person_id == newcomer), key=lambda r: r.starts_at
    )
    assert len(new_rows) == 2
    free_after = min(s.starts_at for s in _slots(engine) if s.starts_at > wednesday)
    local = [r.starts_at.astimezone(SHANGHAI).date() for r in new_rows]
    assert local[0] == free_after.astimezone(SHANGHAI).date()  # the earliest day left
    assert (local[1] - local[0]).days >= 2


def _slots(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Slot.__table__)))  # type: ignore[attr-defined]


def test_exempt_people_are_not_scheduled_on_their_exempt_days(cli: Any, engine: Engine) -> None:
    add_people(engine, 2)
    with engine.begin() as conn:
        ids = [r.id for r in conn.execute(select(Person.__table__.c.id))]  # type: ignore[attr-defined]
        conn.execute(
            insert(Exemption.__table__),
            [  # type: ignore[attr-defined]
                {
                    "person_id": ids[0],
                    "start_date": date(2022, 5, 1),
                    "end_date": date(2022, 5, 31),
                    "reason": "positive, until 31 May",
                    "created_at": datetime(2022, 5, 2, tzinfo=UTC),
                },
                {
                    "person_id": ids[1],
                    "start_date": date(2022, 5, 9),
                    "end_date": date(2022, 5, 11),
                    "reason": "leave",
                    "created_at": datetime(2022, 5, 2, tzinfo=UTC),
                },
            ],
        )
    report = run_json(cli, "plan", "--week", WEEK, "--json")
    assert report["required"] == 2 and report["exempt_people"] == 2
    rows = run_json(cli, "schedule", "--week", WEEK, "--format", "json")
    assert {r["employee_no"] for r in rows} == {"E0001"}
    assert all(datetime.fromisoformat(r["starts_at"]).date() >= date(2022, 5, 12) for r in rows)


def test_contacts_get_an_extra_test_tomorrow_that_a_replan_keeps(
    engine: Engine, settings: Any
) -> None:
    add_people(engine, 6, units=1)
    policy = load_policy(CONFIG_DIR)
    sites = load_sites(CONFIG_DIR, policy)
    friday = datetime(2022, 5, 6, 4, tzinfo=UTC)
    plan_week_service(engine, WEEK, policy, sites, CONFIG_DIR, friday, actor=ACTOR)
    tuesday = datetime(2022, 5, 10, 6, tzinfo=UTC)
    with engine.connect() as conn:
        ids = [r.id for r in conn.execute(select(Person.__table__.c.id))]  # type: ignore[attr-defined]
    out = add_midweek(
        engine, ids[:3], tuesday, policy, sites, reason="contact", earliest=date(2022, 5, 11)
    )
    booked_days = {datetime.fromisoformat(a["starts_at"]).date() for a in out["added"]}
    # Whoever already tests on Wednesday is not booked twice that day.
    assert out["booked"] + len(out["already_booked"]) == 3
    assert booked_days <= {date(2022, 5, 11)}
    contact_rows = [r for r in appointments(engine) if r.reason == "contact"]
    assert len(contact_rows) == out["booked"]
    replan = plan_week_service(engine, WEEK, policy, sites, CONFIG_DIR, tuesday, actor=ACTOR)
    assert replan["cancelled"] == 0
    assert all(r.status == "scheduled" for r in appointments(engine) if r.reason == "contact")
    # A newcomer mid-week: the earliest feasible slots left this week.
    add_people(engine, 1, prefix="N", units=1)
    with engine.connect() as conn:
        new_id = conn.execute(
            select(Person.__table__.c.id).where(  # type: ignore[attr-defined]
                Person.__table__.c.employee_no == "N0000"
            )
        ).scalar_one()  # type: ignore[attr-defined]
    mid = add_midweek(engine, [new_id], tuesday, policy, sites)
    assert mid["booked"] == 2 and mid["unscheduled"] == []
    first = datetime.fromisoformat(mid["added"][0]["starts_at"])
    assert first.date() == date(2022, 5, 10)  # Tuesday afternoon, the same day
    rows = schedule_rows(engine, WEEK, policy, employee_no="N0000")
    assert [r["reason"] for r in rows] == ["midweek", "midweek"]
    with pytest.raises(ValueError, match="reason"):
        add_midweek(engine, [new_id], tuesday, policy, sites, reason="whim")


def test_surge_and_a_daylight_saving_site_through_the_cli(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    policy = yaml.safe_load((config / "policy.yaml").read_text(encoding="utf-8"))
    policy["testing"]["surge"] = [
        {
            "name": "静态管控",
            "start": "2022-03-09",
            "end": "2022-03-20",
            "tests_per_week": 7,
            "departments": ["冷轧车间"],
        }
    ]
    (config / "policy.yaml").write_text(
        yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8"
    )
    (config / "sites.yaml").write_text(
        yaml.safe_dump(
            {
                "sites": [
                    {
                        "code": "NY",
                        "name": "New York plant",
                        "timezone": "America/New_York",
                        "capacity": 10,
                        "hours": {"daily": ["07:00-11:00"]},
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    add_people(engine, 4, units=1)
    env = {"TESTROTA_CONFIG_DIR": str(config)}
    report = run_json(
        cli, "plan", "--week", "2022-W10", "--json", now="2022-03-01T00:00:00Z", **env
    )
    # Mon, Tue at 2/7 plus Wed..Sun daily: 6 tests each.
    assert report["required"] == report["scheduled"] == 24
    assert report["surge"][0]["name"] == "静态管控" and report["surge"][0]["people"] == 4
    rows = run_json(
        cli, "schedule", "--week", "2022-W10", "--format", "json", now="2022-03-01T00:00:00Z", **env
    )
    offsets = {r["starts_at"][:10]: r["starts_at"][-6:] for r in rows}
    assert offsets["2022-03-12"] == "-05:00" and offsets["2022-03-13"] == "-04:00"
    assert {r["starts_at"][11:16] for r in rows} <= {"07:00", "07:15", "07:30", "07:45"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "--week", "2022-W99"), "2022 has no week 99"),
        (("plan", "--week", "May"), "not an ISO week"),
        (("plan", "--week", "2022-W30", "--show"), "has not been planned yet"),
        (("schedule", "--person", "NOBODY", "--format", "json"), "no person"),
        (("schedule", "--format", "xml"), "unknown format"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(
    cli: Any, engine: Engine, args: tuple[str, ...], message: str
) -> None:
    result = cli(*args, env={"TESTROTA_NOW": FRIDAY_NOON})
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_broken_sites_file_writes_nothing(cli: Any, engine: Engine, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "sites.yaml").write_text(
        "sites:\n  - code: A\n    name: A\n    hours:\n      mon: ['09:00-12:00', '08:00-09:30']\n",
        encoding="utf-8",
    )
    add_people(engine, 2)
    result = cli(
        "plan",
        "--week",
        WEEK,
        env={"TESTROTA_NOW": FRIDAY_NOON, "TESTROTA_CONFIG_DIR": str(config)},
    )
    assert result.exit_code == 2 and "site A" in result.output
    assert appointments(engine) == [] and _slots(engine) == []


def test_a_database_without_schema_says_run_init(cli: Any, tmp_path: Path) -> None:
    result = cli(
        "plan",
        "--week",
        WEEK,
        "--db",
        f"sqlite:///{tmp_path / 'empty.db'}",
        env={"TESTROTA_NOW": FRIDAY_NOON},
    )
    assert result.exit_code == 2 and "testrota init" in result.output


def test_the_sample_rosters_are_planned(cli: Any, engine: Engine) -> None:
    rosters = sorted(SAMPLE_ROSTERS.glob("*.xlsx"))
    if not rosters:
        pytest.skip("no sample rosters in this checkout")
    for roster in rosters:
        result = cli("import", str(roster), "--json", env={"TESTROTA_NOW": FRIDAY_NOON})
        assert result.exit_code == 0, result.output
    people = run_json(cli, "people", "--high-risk", "--format", "json")
    report = run_json(cli, "plan", "--week", WEEK, "--json")
    vocabulary = load_vocabulary(CONFIG_DIR)
    expected = sum(vocabulary.tests_per_week(p["risk_category"]) for p in people)
    assert report["required"] == expected > 0
    assert report["scheduled"] == report["required"] and report["unscheduled"] == []
    assert report["single_unit_slot_share"] >= 0.95  # a few hundred people: room to spare
    rows = run_json(cli, "schedule", "--week", WEEK, "--format", "json")
    assert len(rows) == report["scheduled"]
    assert latest_report(engine, WEEK) == report


def test_two_planners_at_once_do_not_double_book(engine: Engine, database_url: str) -> None:
    """Two processes re-planning the same week queue on the plan lock; neither double-books."""
    from concurrent.futures import ThreadPoolExecutor

    from testrota.db.engine import make_engine

    add_people(engine, 30, units=3)
    policy = load_policy(CONFIG_DIR)
    sites = load_sites(CONFIG_DIR, policy)
    friday = datetime(2022, 5, 6, 4, tzinfo=UTC)
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            reports = list(
                pool.map(
                    lambda e: plan_week_service(
                        e, WEEK, policy, sites, CONFIG_DIR, friday, actor=ACTOR, check_sms=False
                    ),
                    engines,
                )
            )
    finally:
        for e in engines:
            e.dispose()
    assert sorted((r["added"], r["kept"]) for r in reports) == [(0, 60), (60, 0)]
    live = [r for r in appointments(engine) if r.status == "scheduled"]
    assert len(live) == 60
    assert Counter(r.person_id for r in live) == {pid: 2 for pid in {r.person_id for r in live}}
    slots = _slots(engine)
    assert len(slots) == len({(s.site_code, s.starts_at) for s in slots})  # no slot twice

"""``config/sites.yaml``: validation, and the week's slots on each site's own clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from testrota.errors import UserError
from testrota.policy import load_policy
from testrota.scheduling.sites import load_sites, parse_sites, week_slots
from testrota.weeks import monday_of, normalise_week, shift_week, week_label
from tests.conftest import CONFIG_DIR
from tests.plan_helpers import make_policy

POLICY = make_policy()


def _sites(*sites: dict, **top: object) -> list:  # type: ignore[type-arg]
    return parse_sites({"sites": list(sites), **top}, POLICY)


def test_the_shipped_sites_file_loads_and_gives_slots() -> None:
    policy = load_policy(CONFIG_DIR)
    sites = load_sites(CONFIG_DIR, policy)
    assert sites and len({s.code for s in sites}) == len(sites)
    slots = week_slots(sites, date(2022, 5, 9))
    assert slots and all(s.starts_at.tzinfo is UTC for s in slots)
    assert all(0 <= s.day < 7 for s in slots)


def test_shanghai_slots_are_eight_hours_ahead_of_utc() -> None:
    sites = _sites(
        {"code": "A", "name": "A", "hours": {"mon": ["08:00-09:00"]}}, slot_minutes=30, capacity=7
    )
    slots = week_slots(sites, date(2022, 5, 9))
    assert [(s.starts_at, s.ends_at, s.capacity, s.day, s.minute) for s in slots] == [
        (
            datetime(2022, 5, 9, 0, 0, tzinfo=UTC),
            datetime(2022, 5, 9, 0, 30, tzinfo=UTC),
            7,
            0,
            480,
        ),
        (
            datetime(2022, 5, 9, 0, 30, tzinfo=UTC),
            datetime(2022, 5, 9, 1, 0, tzinfo=UTC),
            7,
            0,
            510,
        ),
    ]


def test_new_york_across_the_spring_forward_change() -> None:
    # 13 March 2022: at 02:00 EST the clocks jump to 03:00 EDT.
    sites = _sites(
        {
            "code": "NY",
            "name": "NY",
            "timezone": "America/New_York",
            "hours": {"daily": ["00:00-05:00", "08:00-09:00"]},
        },
        slot_minutes=60,
    )
    monday = date(2022, 3, 7)
    slots = [s for s in week_slots(sites, monday) if s.site_code == "NY"]
    sunday = [s for s in slots if s.day == 6]
    tz = ZoneInfo("America/New_York")
    local = [s.starts_at.astimezone(tz).strftime("%H:%M %Z") for s in sunday]
    assert local == ["00:00 EST", "01:00 EST", "03:00 EDT", "04:00 EDT", "08:00 EDT"]
    assert [s.minute for s in sunday] == [0, 60, 180, 240, 480]
    # 08:00 local is 13:00 UTC on Saturday (EST) and 12:00 UTC on Sunday (EDT).
    saturday_8 = next(s for s in slots if s.day == 5 and s.minute == 480)
    sunday_8 = next(s for s in slots if s.day == 6 and s.minute == 480)
    assert saturday_8.starts_at.hour == 13 and sunday_8.starts_at.hour == 12
    # Every slot lasts its real 60 minutes, even the one ending in the skipped hour.
    assert all(s.ends_at - s.starts_at == timedelta(hours=1) for s in slots)


def test_new_york_across_the_fall_back_change_has_one_slot_per_local_time() -> None:
    # 6 November 2022: at 02:00 EDT the clocks go back to 01:00 EST.
    sites = _sites(
        {
            "code": "NY",
            "name": "NY",
            "timezone": "America/New_York",
            "hours": {"sun": ["00:00-03:00"]},
        },
        slot_minutes=60,
    )
    slots = week_slots(sites, date(2022, 10, 31))
    tz = ZoneInfo("America/New_York")
    assert [s.starts_at.astimezone(tz).strftime("%H:%M %Z") for s in slots] == [
        "00:00 EDT",
        "01:00 EDT",
        "02:00 EST",
    ]
    assert len({s.starts_at for s in slots}) == 3


def test_planning_a_new_york_site_over_the_change_keeps_the_local_times() -> None:
    from testrota.scheduling.model import PlanPerson
    from testrota.scheduling.planner import plan_week

    policy = make_policy()
    sites = _sites(
        {
            "code": "NY",
            "name": "NY",
            "timezone": "America/New_York",
            "hours": {"daily": ["07:00-09:00"]},
        },
        slot_minutes=30,
        capacity=5,
    )
    # Week of 7 March 2022 planned, then the week after with it as "last week".
    people = [PlanPerson(i, f"E{i}", "D", "G", "day", "driver", 2) for i in range(1, 5)]
    w1 = date(2022, 3, 7)
    s1 = week_slots(sites, w1)
    r1 = plan_week(
        people,
        s1,
        [],
        policy,
        datetime(2022, 3, 1, tzinfo=UTC),
        week_start=w1,
        sites=[s.scope for s in sites],
    )
    from tests.plan_helpers import as_previous, per_person

    w2 = w1 + timedelta(days=7)
    s2 = week_slots(sites, w2)
    r2 = plan_week(
        people,
        s2,
        as_previous(r1, s1),
        policy,
        datetime(2022, 3, 1, tzinfo=UTC),
        week_start=w2,
        sites=[s.scope for s in sites],
    )
    assert r2.report["unchanged_share"] == 1.0
    tz = ZoneInfo("America/New_York")
    before = per_person(r1.assignments, s1)
    after = per_person(r2.assignments, s2)
    for p in people:
        old = [s.starts_at.astimezone(tz) for s in before[p.id]]
        new = [s.starts_at.astimezone(tz) for s in after[p.id]]
        assert [(t.weekday(), t.time()) for t in old] == [(t.weekday(), t.time()) for t in new]
        # ... which is an hour earlier in UTC once daylight-saving time has begun.
        gaps = [n.astimezone(UTC) - o.astimezone(UTC) for o, n in zip(old, new, strict=True)]
        assert gaps == [timedelta(days=7, hours=-1)] * 2


def test_a_window_past_midnight_gives_slots_on_the_next_day() -> None:
    sites = _sites(
        {"code": "N", "name": "Night", "hours": {"sun": ["23:00-01:00"], "mon": ["23:00-01:00"]}},
        slot_minutes=60,
    )
    slots = week_slots(sites, date(2022, 5, 9))
    tz = ZoneInfo("Asia/Shanghai")
    assert [s.starts_at.astimezone(tz).strftime("%a %H:%M") for s in slots] == [
        "Mon 00:00",  # from last Sunday's window
        "Mon 23:00",
        "Tue 00:00",
        "Sun 23:00",  # this Sunday's 00:00 slot is next week's
    ]
    assert [s.day for s in slots] == [0, 0, 1, 6]


def test_closed_dates_and_window_capacity() -> None:
    sites = _sites(
        {
            "code": "A",
            "name": "A",
            "closed": ["2022-05-10"],
            "hours": {"mon-wed": [{"start": "08:00", "end": "09:00", "capacity": 3}]},
        },
        slot_minutes=60,
    )
    slots = week_slots(sites, date(2022, 5, 9))
    assert [(s.day, s.capacity) for s in slots] == [(0, 3), (2, 3)]


def test_unquoted_yaml_times_are_read_as_times(tmp_path: Path) -> None:
    # YAML 1.1 reads 13:00 unquoted as the number 780; it must still mean 13:00.
    (tmp_path / "sites.yaml").write_text(
        "sites:\n  - code: A\n    name: A\n    hours:\n      mon: [{start: 13:00, end: 14:00}]\n",
        encoding="utf-8",
    )
    sites = load_sites(tmp_path, POLICY)
    assert sites[0].hours[0][0].start == 13 * 60


@pytest.mark.parametrize(
    ("sites", "message"),
    [
        ([{"code": "A", "name": "A"}, {"code": "A", "name": "B"}], "appears twice"),
        ([{"code": "A", "name": "A", "hours": {"mon": ["8:00-25:00"]}}], "not a time of day"),
        ([{"code": "A", "name": "A", "hours": {"mon": ["eight-nine"]}}], "not a time"),
        ([{"code": "A", "name": "A", "hours": {"someday": ["08:00-09:00"]}}], "not a weekday"),
        ([{"code": "A", "name": "A", "hours": {"mon": ["08:00-10:00", "09:00-11:00"]}}], "overlap"),
        ([{"code": "A", "name": "A", "hours": {"mon": ["08:00-08:05"]}}], "shorter than one slot"),
        (
            [{"code": "A", "name": "A", "hours": {"sun": ["22:00-09:00"], "mon": ["08:00-12:00"]}}],
            "run past midnight into mon",
        ),
        ([{"code": "A", "name": "A", "timezone": "Mars/Olympus"}], "unknown time zone"),
        ([{"code": "A", "name": "A", "capacity": 0}], "site A: capacity"),
        ([{"code": "A B", "name": "A"}], "code"),
        ([{"code": "A", "name": "A", "serves": "some"}], "serves"),
        ([{"code": "A", "name": "A", "colour": "red"}], "colour"),
        ([], "no sites"),
    ],
)
def test_bad_sites_files_say_what_is_wrong(sites: list, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(UserError, match=message):
        parse_sites({"sites": sites}, POLICY)


def test_a_missing_sites_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="TESTROTA_CONFIG_DIR"):
        load_sites(tmp_path, POLICY)


def test_iso_weeks() -> None:
    assert monday_of("2022-W19") == date(2022, 5, 9)
    assert normalise_week("2022w1") == "2022-W01"
    assert week_label(date(2021, 1, 3)) == "2020-W53"
    assert shift_week("2022-W01", -1) == "2021-W52"
    for bad in ("2022-19", "W19", "2022-W54", ""):
        with pytest.raises(UserError, match="week"):
            monday_of(bad)

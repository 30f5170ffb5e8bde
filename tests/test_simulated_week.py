"""The simulated week at 2,000 people on each database, and the pieces it stands on: the clock
file every process reads, the workers' schedule on simulated time, and the ground truth."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from testrota.clock import FileClock, FixedClock, SystemClock, clock_from_settings, write_clock_file
from testrota.jobs.worker import JOBS
from testrota.policy import load_policy
from testrota.settings import get_settings
from tests.bounded import join_all
from tests.conftest import CONFIG_DIR
from tests.sim_procs import base_env
from tests.sim_worker import SimSchedule
from tests.sim_world import (
    PRE,
    ROUND,
    ApptTruth,
    Moment,
    PersonTruth,
    SampleTruth,
    World,
    expected_compliance,
    expected_missed,
    expected_missed_notices,
    expected_reminders,
    step_times,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(CONFIG_DIR)


# ---------------------------------------------------------------- the clock file


def test_a_file_clock_reads_the_time_written_and_follows_every_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_file(path, datetime(2022, 5, 9, 8, 0, tzinfo=SHANGHAI))
    clock = FileClock(path)
    assert clock.now() == datetime(2022, 5, 9, 0, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    for minutes in range(1, 50):  # faster than any file system's timestamp granularity
        write_clock_file(path, datetime(2022, 5, 9, 0, minutes, tzinfo=UTC))
        assert clock.now() == datetime(2022, 5, 9, 0, minutes, tzinfo=UTC)
    assert [p.name for p in tmp_path.iterdir()] == ["clock"]  # no temporary files left


def test_readers_never_see_half_a_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    start = datetime(2022, 5, 9, tzinfo=UTC)
    write_clock_file(path, start)
    clock, seen, stop = FileClock(path), [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(clock.now())

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(300):
        write_clock_file(path, start + timedelta(seconds=i))
    stop.set()
    join_all([reader], 10)
    assert seen and all(start <= t <= start + timedelta(seconds=299) for t in seen)


@pytest.mark.parametrize(
    ("content", "message"),
    [("2022-05-09T08:00:00", "needs a UTC offset"), ("next tuesday", "not an ISO 8601 time")],
)
def test_a_clock_file_without_a_usable_time_is_an_error_that_says_so(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "clock"
    path.write_text(content)
    with pytest.raises(RuntimeError, match=message):
        FileClock(path).now()
    with pytest.raises(RuntimeError, match="cannot read it"):
        FileClock(tmp_path / "missing").now()
    with pytest.raises(ValueError, match="aware"):
        write_clock_file(path, datetime(2022, 5, 9))


def test_the_settings_choose_the_clock(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_file(path, datetime(2022, 5, 9, tzinfo=UTC))
    assert isinstance(clock_from_settings(get_settings(clock_file=path)), FileClock)
    fixed = clock_from_settings(get_settings(now=datetime(2022, 5, 9, tzinfo=UTC)))
    assert isinstance(fixed, FixedClock)
    assert isinstance(clock_from_settings(get_settings()), SystemClock)
    with pytest.raises(ValidationError, match="set only one of them"):
        get_settings(clock_file=path, now=datetime(2022, 5, 9, tzinfo=UTC))


def test_a_process_started_with_a_clock_file_follows_it(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_file(path, datetime(2022, 5, 9, 3, 0, tzinfo=UTC))
    script = (
        "from testrota.clock import clock_from_settings\n"
        "from testrota.settings import get_settings\n"
        "print(clock_from_settings(get_settings()).now().isoformat())"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=base_env(TESTROTA_CLOCK_FILE=str(path)),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == "2022-05-09T03:00:00+00:00"


# ---------------------------------------------------------------- the workers' schedule


def _due(schedule: SimSchedule, at: datetime) -> set[str]:
    return {spec.id for spec in schedule.due(at)}


def test_the_simulated_schedule_runs_interval_jobs_and_crossed_cron_jobs_once() -> None:
    schedule = SimSchedule(JOBS, POLICY)
    friday = datetime(2022, 5, 6, 10, 0, tzinfo=SHANGHAI)
    # A worker started after 08:00 and 02:30 runs the digest and the nightly job at once.
    assert _due(schedule, friday) == {
        "dispatch_texts",
        "sync_reminders",
        "notify_alerts",
        "flag_missed",
        "supervisors_digest",
        "nightly",
        "remind_late_confirmations",
    }
    assert _due(schedule, friday + timedelta(minutes=1)) == {"dispatch_texts", "notify_alerts"}
    assert "plan_next_week" in _due(schedule, friday.replace(hour=12))  # Friday noon
    assert "plan_next_week" not in _due(schedule, friday.replace(hour=13))
    # Three digests' times crossed in one jump run it once, if the last is inside the grace.
    assert "supervisors_digest" in _due(schedule, friday + timedelta(days=3))
    # A jump far past the time misses it, as APScheduler's misfire grace time makes it.
    assert "supervisors_digest" not in _due(schedule, friday + timedelta(days=3, hours=6))


# ---------------------------------------------------------------- the ground truth


def _world() -> World:
    monday = datetime(2022, 5, 9, tzinfo=SHANGHAI)
    steps = step_times(
        monday - timedelta(hours=8),
        monday + timedelta(days=7, hours=8),
        SHANGHAI,
        30,
        180,
        (time(22), time(6)),
    )
    world = World(
        steps=steps,
        policy=POLICY,
        week="2022-W19",
        week_start=monday.astimezone(UTC),
        week_end=(monday + timedelta(days=7)).astimezone(UTC),
    )
    for pid in (1, 2):
        world.people[pid] = PersonTruth(
            pid, f"E{pid}", f"+861380000000{pid}", "冷链车间", "一组", "cold_chain", 2
        )
    return world


def _appt(world: World, aid: int, pid: int, start: datetime) -> ApptTruth:
    appt = ApptTruth(
        aid,
        pid,
        start.astimezone(UTC),
        (start + timedelta(minutes=15)).astimezone(UTC),
        "NORTH",
        "2022-W19",
        "plan",
        SHANGHAI,
        Moment(0, PRE),
    )
    world.appts[aid] = appt
    return appt


def test_the_truth_holds_back_reminders_for_what_happened_before_their_round() -> None:
    world = _world()
    tuesday = datetime(2022, 5, 10, 15, 0, tzinfo=SHANGHAI)
    appt = _appt(world, 1, 1, tuesday)
    expected = expected_reminders(world)
    before, eve = sorted(k for k in expected.must if ":appt:1:" in k)
    assert before.startswith("reminder_before") and eve.startswith("reminder_eve")
    # Tested that morning, before the round the 14:00 reminder goes out in: not sent.
    k_morning = world.step_at_or_after(tuesday.replace(hour=9))
    assert k_morning is not None
    world.samples.append(
        SampleTruth(
            1, world.steps[k_morning], "NORTH", "checkin", "pending", Moment(k_morning, PRE)
        )
    )
    expected = expected_reminders(world)
    assert before in expected.never and eve in expected.must
    # A check-in racing with the very round the reminder is due in: either way is right.
    world.samples.clear()
    k_due = expected.must.get(before) or world.step_at_or_after(tuesday.replace(hour=14))
    assert k_due is not None
    world.samples.append(
        SampleTruth(1, world.steps[k_due], "NORTH", "checkin", "pending", Moment(k_due, ROUND))
    )
    assert before in expected_reminders(world).maybe
    # Cancelled the day before: neither goes out. A STOP the same day: only the evening one.
    world.samples.clear()
    appt.cancelled = Moment(1, PRE)
    assert {eve, before} <= set(expected_reminders(world).never)
    appt.cancelled = None
    world.people[1].stopped = Moment(k_morning, PRE)
    expected = expected_reminders(world)
    assert before in expected.never and eve in expected.must


def test_the_truth_of_missed_tests_and_compliance() -> None:
    world = _world()
    mon = datetime(2022, 5, 9, 10, 0, tzinfo=SHANGHAI)
    thu = datetime(2022, 5, 12, 10, 0, tzinfo=SHANGHAI)
    _appt(world, 1, 1, mon)
    _appt(world, 2, 1, thu)
    _appt(world, 3, 2, mon)
    excused = _appt(world, 4, 2, thu)
    excused.excused = Moment(5, PRE)
    k = world.step_at_or_after(mon)
    assert k is not None
    world.samples.append(
        SampleTruth(1, mon.astimezone(UTC), "NORTH", "lab", "negative", Moment(k + 8, ROUND))
    )
    assert expected_missed(world) == {("E1", thu.astimezone(UTC)), ("E2", mon.astimezone(UTC))}
    departments, total = expected_compliance(world)
    assert total.as_dict() == {
        "people": 2,
        "required": 3,
        "scheduled": 4,
        "done": 1,
        "missed": 2,
        "excused": 1,
        "tests": 1,
        "compliant_people": 0,
    }
    assert departments["冷链车间"] == total


def test_the_truth_of_a_positive_cases_exemption() -> None:
    """Positive on Tuesday morning: exempt from Tuesday from the moment the result is imported.
    Monday's test stands, Tuesday's is done by the positive sample itself, Friday's is excused
    and its texts not sent; the week asks Monday's share only. A result that comes after a
    test of its days was flagged missed excuses that test too, its notice already due."""
    world = _world()
    second = world.people.pop(2)  # person 1 alone until the second story
    mon = datetime(2022, 5, 9, 10, 0, tzinfo=SHANGHAI)
    tue = datetime(2022, 5, 10, 9, 0, tzinfo=SHANGHAI)
    fri = datetime(2022, 5, 13, 10, 0, tzinfo=SHANGHAI)
    monday, tuesday, friday = (
        _appt(world, 1, 1, mon),
        _appt(world, 2, 1, tue),
        _appt(world, 3, 1, fri),
    )
    k_mon, k_tue = world.step_at_or_after(mon), world.step_at_or_after(tue + timedelta(minutes=5))
    assert k_mon is not None and k_tue is not None
    world.samples.append(
        SampleTruth(1, world.steps[k_mon], "NORTH", "checkin", "pending", Moment(k_mon, ROUND))
    )
    before = expected_reminders(world)
    friday_texts = {k for k in before.must if ":appt:3:" in k}
    assert len(friday_texts) == 2
    imported = Moment(k_tue, ROUND)
    world.samples.append(
        SampleTruth(
            1, tue.astimezone(UTC) + timedelta(minutes=5), "NORTH", "lab", "positive", imported
        )
    )
    tested = world.tested_days()
    assert [world.final_status(a, tested) for a in (monday, tuesday, friday)] == [
        "done",
        "done",
        "excused",
    ]
    assert world.excused_moment(friday, tested) == imported
    after = expected_reminders(world)
    assert friday_texts <= set(after.never) and not friday_texts & set(after.must)
    assert {after.never[k] for k in friday_texts} == {"appointment excused"}
    assert expected_missed(world) == set()
    _, total = expected_compliance(world)
    # Monday alone is not exempt: ceil(2 x 1 / 7) = 1 asked; Friday's excuse is not taken off
    # again, its day already asks nothing.
    assert (total.people, total.required, total.scheduled, total.excused) == (1, 1, 3, 1)
    assert (total.done, total.tests, total.compliant_people) == (2, 1, 1)
    # Nothing may be booked on their exempt days once the result is in.
    assert world.booked_while_exempt() == []
    late = _appt(world, 4, 1, datetime(2022, 5, 11, 10, 0, tzinfo=SHANGHAI))
    late.created = Moment(k_tue + 1, PRE)
    assert world.booked_while_exempt() == [late]
    del world.appts[4]

    # Person 2 missed Wednesday's test; their positive of Tuesday is imported on Thursday.
    world.people[2] = second
    wed = datetime(2022, 5, 11, 10, 0, tzinfo=SHANGHAI)
    missed = _appt(world, 5, 2, wed)
    flagged = world.flag_step(missed)
    k_thu = world.step_at_or_after(datetime(2022, 5, 12, 12, 0, tzinfo=SHANGHAI))
    assert flagged is not None and k_thu is not None and flagged < k_thu
    world.samples.append(
        SampleTruth(2, tue.astimezone(UTC), None, "lab", "positive", Moment(k_thu, ROUND))
    )
    tested = world.tested_days()
    assert world.final_status(missed, tested) == "excused"
    assert world.flagged_step(missed, tested) == flagged
    assert "missed:appt:5" in expected_missed_notices(world).must
    assert ("E2", wed.astimezone(UTC)) not in expected_missed(world)


# ---------------------------------------------------------------- the week itself


@pytest.mark.slow
@pytest.mark.timeout(1800)  # 3-5 minutes alone; far longer with the suite on two cores
def test_a_simulated_week_of_2000_people_matches_its_ground_truth(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    from tests.sim_checks import check, figures
    from tests.sim_week import SimConfig, run_week

    result = run_week(SimConfig(database_url=database_url, workdir=tmp_path, people=2000))
    problems, tolerated = check(result)
    measured = figures(result)
    print(f"\nsimulated week on {engine.dialect.name}: {measured}\ntolerated: {tolerated}")
    assert not problems, "\n".join(problems)
    # The week really happened: the shares the driver aimed at, texts of every kind.
    assert measured["appointments_in_week"] > 1000
    assert measured["web_checkins"] > 0.6 * measured["appointments_in_week"]
    assert measured["lab_results"] > 0.1 * measured["appointments_in_week"]
    assert measured["positives"] == 2 and len(result.alerts) == 2
    # A case's exemption excused a test still to come, so the checks above judged it.
    assert measured["exempt_excused"] > 0
    assert measured["appointments_cancelled"] > 0
    assert set(measured["texts_by_kind"]) == {
        "reminder_eve",
        "reminder_before",
        "missed",
        "positive_alert",
        "digest",
    }
    assert sum(result.injected.values()) > 0
    assert len(result.outputs["missed"]) > 0.03 * measured["appointments_in_week"]

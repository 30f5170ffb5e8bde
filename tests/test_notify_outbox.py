"""When reminders are due: evening before, an hour before, quiet hours, DST. Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from testrota.notify.capacity import capacity_warning, needed_rate, reminder_windows
from testrota.notify.outbox import (
    MissedTarget,
    ReminderTarget,
    in_quiet_hours,
    plan_missed_notices,
    plan_reminders,
    quiet_window_end,
    reminder_key,
    reminder_times,
)
from testrota.notify.templates import load_templates
from testrota.policy import ReminderPolicy
from tests.conftest import CONFIG_DIR

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
RULES = ReminderPolicy()


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def times(start: datetime, tz: ZoneInfo, rules: ReminderPolicy = RULES) -> dict[str, datetime]:
    return {kind: due.astimezone(tz) for kind, due in reminder_times(start, tz, rules)}


def test_evening_before_and_an_hour_before() -> None:
    start = local(SH, 2022, 5, 10, 9, 30)
    got = times(start, SH)
    assert got == {
        "reminder_eve": local(SH, 2022, 5, 9, 18, 0),
        "reminder_before": local(SH, 2022, 5, 10, 8, 30),
    }
    assert all(due.tzinfo is not None for due in got.values())


def test_a_reminder_due_in_quiet_hours_waits_for_the_morning() -> None:
    start = local(SH, 2022, 5, 10, 7, 30)  # an hour before is 06:30: quiet
    got = times(start, SH)
    assert got["reminder_before"] == local(SH, 2022, 5, 10, 7, 0)


def test_never_due_once_the_slot_has_started() -> None:
    # 06:00 is quiet; the morning (07:00) is the start itself: the evening text covers it.
    start = local(SH, 2022, 5, 10, 7, 0)
    assert times(start, SH) == {"reminder_eve": local(SH, 2022, 5, 9, 18, 0)}
    # A night-shift slot at 00:30: 23:30 is quiet and the morning is too late.
    night = local(SH, 2022, 5, 10, 0, 30)
    assert times(night, SH) == {"reminder_eve": local(SH, 2022, 5, 9, 18, 0)}
    for slot in (start, night):
        assert all(due < slot for due in times(slot, SH).values())


def test_without_an_evening_text_a_quiet_reminder_moves_before_the_quiet_hours() -> None:
    rules = RULES.model_copy(update={"evening_before": None})
    start = local(SH, 2022, 5, 10, 7, 0)
    got = times(start, SH, rules)
    assert got == {"reminder_before": local(SH, 2022, 5, 9, 21, 30)}
    assert not in_quiet_hours(got["reminder_before"], SH, rules)


def test_quiet_window_that_does_not_cross_midnight() -> None:
    rules = RULES.model_copy(update={"quiet_start": time(12, 0), "quiet_end": time(14, 0)})
    assert in_quiet_hours(local(SH, 2022, 5, 10, 13, 0), SH, rules)
    assert not in_quiet_hours(local(SH, 2022, 5, 10, 14, 0), SH, rules)
    assert quiet_window_end(local(SH, 2022, 5, 10, 12, 30), SH, rules) == local(
        SH, 2022, 5, 10, 14, 0
    )


def test_dst_spring_forward_new_york() -> None:
    # Sunday 13 March 2022: 02:00 EST -> 03:00 EDT.
    start = local(NY, 2022, 3, 13, 7, 30)
    got = times(start, NY)
    assert got["reminder_eve"] == local(NY, 2022, 3, 12, 18, 0)  # EST, the day before
    assert got["reminder_eve"].utcoffset() == timedelta(hours=-5)
    # 06:30 EDT is quiet; the morning is 07:00 EDT, 11:00 UTC (not 12:00).
    assert got["reminder_before"] == local(NY, 2022, 3, 13, 7, 0)
    assert got["reminder_before"].astimezone(UTC) == datetime(2022, 3, 13, 11, 0, tzinfo=UTC)
    # An hour before is an hour of real time even across the change.
    start = local(NY, 2022, 3, 13, 9, 0)
    assert times(start, NY)["reminder_before"].astimezone(UTC) == datetime(
        2022, 3, 13, 12, 0, tzinfo=UTC
    )


def test_dst_fall_back_berlin() -> None:
    # Sunday 30 October 2022: 03:00 CEST -> 02:00 CET.
    start = local(BERLIN, 2022, 10, 30, 8, 0)
    got = times(start, BERLIN)
    assert got["reminder_eve"] == local(BERLIN, 2022, 10, 29, 18, 0)
    assert got["reminder_eve"].utcoffset() == timedelta(hours=2)
    assert got["reminder_before"] == local(BERLIN, 2022, 10, 30, 7, 0)
    assert got["reminder_before"].utcoffset() == timedelta(hours=1)
    # The quiet window of that night is 10 hours of real time, and ends at 07:00 CET.
    ends = quiet_window_end(local(BERLIN, 2022, 10, 30, 1, 0), BERLIN, RULES)
    assert ends.astimezone(UTC) == datetime(2022, 10, 30, 6, 0, tzinfo=UTC)


def test_quiet_hours_ending_in_the_hour_the_clocks_repeat_end_after_now() -> None:
    """Quiet until 02:30 on the night Berlin's clocks go back: at the second 02:10 (CET) the
    window ended at the first 02:30 (CEST), already past, and a deferred text was claimed
    again and again until the real end (found in review). Every minute of that night's
    quiet hours ends after itself, at the wall time's next passing."""
    rules = RULES.model_copy(update={"quiet_start": time(22, 0), "quiet_end": time(2, 30)})
    at = datetime(2022, 10, 29, 20, 0, tzinfo=UTC)  # 22:00 CEST
    while at < datetime(2022, 10, 30, 3, 0, tzinfo=UTC):
        if in_quiet_hours(at, BERLIN, rules):
            end = quiet_window_end(at, BERLIN, rules)
            assert end > at, at
            assert not in_quiet_hours(end, BERLIN, rules)
        at += timedelta(minutes=5)
    second = datetime(2022, 10, 30, 1, 10, tzinfo=UTC)  # 02:10 CET
    assert quiet_window_end(second, BERLIN, rules) == datetime(2022, 10, 30, 1, 30, tzinfo=UTC)


def _target(start: datetime, appointment_id: int = 1, language: str = "zh") -> ReminderTarget:
    return ReminderTarget(
        appointment_id,
        10,
        "张三",
        "+8613800000001",
        language,
        "一号点",
        "Asia/Shanghai",
        SH,
        start.astimezone(UTC),
    )


def test_plan_reminders_keys_bodies_and_expiry() -> None:
    templates = load_templates(CONFIG_DIR)
    start = local(SH, 2022, 5, 10, 9, 30)
    now = local(SH, 2022, 5, 9, 8, 0)
    rows = plan_reminders([_target(start)], now, RULES, templates, lambda pid: f"L{pid}")
    assert [r.kind for r in rows] == ["reminder_eve", "reminder_before"]
    for row in rows:
        assert row.expires_at == start
        assert row.due_at < start
        assert row.dedupe_key == reminder_key(row.kind, 1, start)
        assert row.dedupe_key.endswith(":20220510T0130Z")
        assert "09:30" in row.body and "L10" in row.body and "一号点" in row.body
        assert row.tz == "Asia/Shanghai" and row.segments <= 2
    # Already present keys are not planned (and not rendered) again.
    again = plan_reminders(
        [_target(start)], now, RULES, templates, lambda pid: "L", {rows[0].dedupe_key}
    )
    assert [r.kind for r in again] == ["reminder_before"]


def test_a_moved_appointment_gets_new_keys() -> None:
    a = reminder_key("reminder_eve", 7, local(SH, 2022, 5, 10, 9, 30))
    b = reminder_key("reminder_eve", 7, local(SH, 2022, 5, 11, 9, 30))
    assert a != b


def test_booked_late_only_the_latest_due_text_goes() -> None:
    templates = load_templates(CONFIG_DIR)
    start = local(SH, 2022, 5, 10, 9, 30)
    now = local(SH, 2022, 5, 10, 8, 45)  # both the evening and the 08:30 text are overdue
    rows = plan_reminders([_target(start)], now, RULES, templates, lambda pid: "L")
    assert [r.kind for r in rows] == ["reminder_before"]
    # And a slot that has started gets nothing.
    assert plan_reminders([_target(start)], start, RULES, templates, lambda pid: "L") == []


def test_english_reminder() -> None:
    templates = load_templates(CONFIG_DIR)
    start = local(SH, 2022, 5, 10, 9, 30)
    rows = plan_reminders(
        [_target(start, language="en")],
        local(SH, 2022, 5, 9, 8, 0),
        RULES,
        templates,
        lambda pid: "https://x/me/t",
    )
    assert rows[0].body.startswith("Testrota:") and "Tue 10 May" in rows[0].body


def test_missed_notice_waits_for_the_morning() -> None:
    templates = load_templates(CONFIG_DIR)
    target = MissedTarget(
        3,
        10,
        "张三",
        "+8613800000001",
        "zh",
        "一号点",
        "Asia/Shanghai",
        SH,
        local(SH, 2022, 5, 9, 15, 0).astimezone(UTC),
    )
    rows = plan_missed_notices(
        [target], local(SH, 2022, 5, 9, 23, 10), RULES, templates, lambda pid: "L"
    )
    assert rows[0].due_at == local(SH, 2022, 5, 10, 7, 0)
    assert rows[0].dedupe_key == "missed:appt:3"
    assert "R" in rows[0].body and "L" in rows[0].body


# ---------------------------------------------------------------- sender capacity


def test_needed_rate_of_one_burst() -> None:
    t = datetime(2022, 5, 9, 10, 0, tzinfo=UTC)
    windows = [(t, t + timedelta(minutes=30))] * 3600
    rate, texts, a, b = needed_rate(windows)
    assert texts == 3600 and a == t and b == t + timedelta(minutes=30)
    assert rate == 2.0
    assert capacity_warning(windows, 2.0) is None
    warning = capacity_warning(windows, 1.0)
    assert warning is not None and warning.needed_rate == 2.0
    assert "needs 2.00 texts/s" in warning.message


def test_needed_rate_finds_the_tightest_interval() -> None:
    t = datetime(2022, 5, 9, 10, 0, tzinfo=UTC)
    loose = [(t, t + timedelta(hours=2))] * 720  # 0.1/s
    tight = [(t + timedelta(minutes=30), t + timedelta(minutes=40))] * 300  # 0.5/s alone
    rate, texts, a, b = needed_rate(loose + tight)
    assert (texts, a, b) == (300, t + timedelta(minutes=30), t + timedelta(minutes=40))
    assert rate == 0.5
    assert capacity_warning(loose + tight, 0) is None  # no limit configured


def test_reminder_windows_for_a_busy_morning() -> None:
    """2,400 people in 30 slots of one morning: the evening texts all fall due at 18:00."""
    first = local(SH, 2022, 5, 10, 8, 0)
    starts = [first + timedelta(minutes=10 * (i % 30)) for i in range(2400)]
    windows = reminder_windows([s.astimezone(UTC) for s in starts], SH, RULES)
    assert len(windows) == 4800
    warning = capacity_warning(windows, 1.0)
    assert warning is not None
    assert warning.window_start == local(SH, 2022, 5, 9, 18, 0)
    assert warning.needed_rate == 2400 / (30 * 60)  # all evening texts within 30 minutes
    assert capacity_warning(windows, 1.5) is None

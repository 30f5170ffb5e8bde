"""The simulation's own quiet-hours and reminder rules agree with the outbox's, everywhere.

Two implementations written apart from the same documentation: where they disagree, one of them
is wrong, and the simulated week (which judges with :mod:`tests.sim_rules`) would say so late.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from testrota.notify.outbox import in_quiet_hours, quiet_window_end, reminder_times
from testrota.policy import ReminderPolicy
from tests.sim_rules import after_quiet, is_quiet, reminder_timetable

ZONES = [ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"), ZoneInfo("Europe/London")]
# Around both of 2022's daylight-saving changes in New York and London, and an ordinary week.
STARTS = [
    datetime(2022, 3, 10, tzinfo=UTC),
    datetime(2022, 3, 24, tzinfo=UTC),
    datetime(2022, 10, 27, tzinfo=UTC),
    datetime(2022, 11, 3, tzinfo=UTC),
    datetime(2022, 5, 8, tzinfo=UTC),
]
CLOCKS = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def policies(draw: st.DrawFn) -> ReminderPolicy:
    return ReminderPolicy(
        evening_before=draw(st.one_of(st.none(), CLOCKS)),
        before_minutes=draw(st.sampled_from([0, 30, 60, 180])),
        quiet_start=draw(CLOCKS),
        quiet_end=draw(CLOCKS),
        send_within_minutes=draw(st.sampled_from([10, 30])),
    )


instants = st.builds(
    lambda base, minutes: base + timedelta(minutes=minutes),
    st.sampled_from(STARTS),
    st.integers(0, 7 * 24 * 4).map(lambda q: q * 15),
)


@settings(max_examples=400, deadline=None)
@given(instants, st.sampled_from(ZONES), policies())
def test_quiet_hours_agree(at: datetime, tz: ZoneInfo, rules: ReminderPolicy) -> None:
    assert is_quiet(at, tz, rules) == in_quiet_hours(at, tz, rules)
    assert after_quiet(at, tz, rules) == quiet_window_end(at, tz, rules)


@settings(max_examples=400, deadline=None)
@given(instants, st.sampled_from(ZONES), policies())
def test_reminder_timetables_agree(start: datetime, tz: ZoneInfo, rules: ReminderPolicy) -> None:
    assert reminder_timetable(start, tz, rules) == reminder_times(start, tz, rules)


def test_a_text_due_in_quiet_hours_waits_for_the_morning() -> None:
    rules = ReminderPolicy(quiet_start=time(22), quiet_end=time(7))
    shanghai = ZONES[0]
    late = datetime(2022, 5, 9, 23, 30, tzinfo=shanghai)
    assert is_quiet(late, shanghai, rules)
    assert after_quiet(late, shanghai, rules) == datetime(2022, 5, 10, 7, tzinfo=shanghai)
    assert not is_quiet(datetime(2022, 5, 10, 7, tzinfo=shanghai), shanghai, rules)

"""A reminder's ``due_at`` is when it can really go: never before it is planned, never in quiet
hours, never once the slot has started, for slots booked late in the evening, after midnight
and across the clock changes (Asia/Shanghai and America/New_York); and the dispatcher never
holds a text for the morning past its slot's start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, update
from sqlmodel import Session

from testrota.clock import FixedClock
from testrota.db.models import Message
from testrota.notify.backends import ConsoleBackend
from testrota.notify.dispatcher import Dispatcher
from testrota.notify.outbox import ReminderTarget, in_quiet_hours, plan_reminders
from testrota.notify.templates import load_templates
from testrota.policy import ReminderPolicy
from tests.conftest import CONFIG_DIR
from tests.notify_data import add_due_texts, messages
from tests.notify_data import policy as notify_policy

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
RULES = ReminderPolicy()  # evening 18:00, an hour before, quiet 22:00-07:00
TEMPLATES = load_templates(CONFIG_DIR)


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def due(start: datetime, now: datetime, tz: ZoneInfo) -> list[tuple[str, datetime]]:
    target = ReminderTarget(
        1, 10, "张三", "+8613800000001", "zh", "一号点", str(tz), tz, start.astimezone(UTC)
    )
    rows = plan_reminders([target], now, RULES, TEMPLATES, lambda pid: "L")
    return [(r.kind, r.due_at.astimezone(tz)) for r in rows]


def test_a_slot_after_midnight_booked_in_the_evening_is_told_at_once() -> None:
    slot = local(SH, 2022, 5, 10, 0, 30)
    # Booked at 20:00: the evening text's time (18:00) has passed, so it goes now; the hour
    # before (23:30) is quiet and the morning is too late.
    assert due(slot, local(SH, 2022, 5, 9, 20, 0), SH) == [
        ("reminder_eve", local(SH, 2022, 5, 9, 20, 0))
    ]
    # Booked at 23:00, in quiet hours that last past the start: no text rather than one the
    # dispatcher would hold until after the slot.
    assert due(slot, local(SH, 2022, 5, 9, 23, 0), SH) == []


def test_a_slot_booked_late_in_the_evening_for_the_morning_gets_one_text_at_seven() -> None:
    slot = local(SH, 2022, 5, 10, 7, 15)
    assert due(slot, local(SH, 2022, 5, 9, 22, 30), SH) == [
        ("reminder_before", local(SH, 2022, 5, 10, 7, 0))
    ]
    assert due(slot, local(SH, 2022, 5, 9, 21, 40), SH) == [
        ("reminder_eve", local(SH, 2022, 5, 9, 21, 40)),
        ("reminder_before", local(SH, 2022, 5, 10, 7, 0)),
    ]


def test_the_hour_before_text_of_a_slot_booked_within_the_hour_goes_now() -> None:
    slot = local(SH, 2022, 5, 10, 9, 30)
    now = local(SH, 2022, 5, 10, 8, 45)
    assert due(slot, now, SH) == [("reminder_before", now)]
    earlier = local(SH, 2022, 5, 10, 8, 0)
    assert due(slot, earlier, SH) == [
        ("reminder_eve", earlier),
        ("reminder_before", local(SH, 2022, 5, 10, 8, 30)),
    ]


def test_new_york_nights_when_the_clocks_change() -> None:
    # Sunday 13 March 2022, 02:00 EST -> 03:00 EDT: a slot at 03:00 EDT.
    spring = local(NY, 2022, 3, 13, 3, 0)
    assert due(spring, local(NY, 2022, 3, 12, 21, 30), NY) == [
        ("reminder_eve", local(NY, 2022, 3, 12, 21, 30))
    ]
    assert due(spring, local(NY, 2022, 3, 12, 22, 30), NY) == []
    # Sunday 6 November 2022, 02:00 EDT -> 01:00 EST: a slot at the first 01:30 (EDT).
    fall = local(NY, 2022, 11, 6, 1, 30)
    assert due(fall, local(NY, 2022, 11, 5, 23, 0), NY) == []
    morning = local(NY, 2022, 11, 6, 7, 30)  # EST; an hour before is 06:30, quiet
    got = due(morning, local(NY, 2022, 11, 5, 22, 15), NY)
    assert got == [("reminder_before", local(NY, 2022, 11, 6, 7, 0))]
    assert got[0][1].utcoffset() == timedelta(hours=-5)


STARTS = st.datetimes(
    min_value=datetime(2022, 3, 10), max_value=datetime(2022, 11, 9), timezones=st.just(UTC)
).map(lambda t: t.replace(second=0, microsecond=0))


@settings(max_examples=300, deadline=None)
@given(
    tz=st.sampled_from([SH, NY]),
    start=STARTS,
    lead=st.integers(min_value=1, max_value=48 * 60),
)
def test_every_text_is_due_between_now_and_the_start_outside_quiet_hours(
    tz: ZoneInfo, start: datetime, lead: int
) -> None:
    now = start - timedelta(minutes=lead)
    got = due(start, now, tz)
    assert len({kind for kind, _ in got}) == len(got)
    assert [at for _, at in got] == sorted(at for _, at in got)
    for _kind, at in got:
        assert now <= at < start
        assert not in_quiet_hours(at, tz, RULES)


def test_a_text_claimed_in_quiet_hours_that_outlast_its_slot_expires_instead_of_waiting(
    engine: Engine, session: Session
) -> None:
    # A text queued before this rule (or held up by a backlog) is claimed at 23:10; quiet
    # hours end at 07:00, after its slot at 00:30: it expires now, never due after the start.
    slot = local(SH, 2022, 5, 10, 0, 30)
    late, fine = add_due_texts(
        engine, 2, local(SH, 2022, 5, 9, 18, 0), expires_at=slot.astimezone(UTC)
    )
    with engine.begin() as conn:
        table = Message.__table__  # type: ignore[attr-defined]
        conn.execute(update(table).values(tz="Asia/Shanghai"))
        conn.execute(  # the other one is for a slot at 09:00: it waits for the morning
            update(table)
            .where(table.c.id == fine)
            .values(expires_at=local(SH, 2022, 5, 10, 9, 0).astimezone(UTC))
        )
    pol = notify_policy(sms={"rate_per_second": 0})
    claimed_at = local(SH, 2022, 5, 9, 23, 10)
    report = Dispatcher(engine, ConsoleBackend(), pol, FixedClock(claimed_at)).run()
    assert (report.sent, report.deferred, report.expired) == (0, 1, 1)
    rows = {m.id: m for m in messages(session)}
    assert rows[late].status == "expired" and rows[late].attempts == 0
    assert rows[late].due_at < slot
    assert rows[fine].status == "pending"
    assert rows[fine].due_at == local(SH, 2022, 5, 10, 7, 0)

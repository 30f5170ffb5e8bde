"""Putting texts into the outbox, on both databases: reminders follow the plan, other kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from testrota.db.models import Alert, AlertContact, Appointment, Message, Person, TestResult
from testrota.notify.enqueue import (
    enqueue_booster_campaign,
    enqueue_digests,
    enqueue_missed_notices,
    enqueue_positive_alerts,
    sync_reminders,
)
from testrota.notify.retention import apply_retention
from testrota.settings import Settings
from tests.notify_data import (
    PUBLIC_URL,
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
NOW = datetime(2022, 5, 9, 8, 0, tzinfo=SH)  # Monday morning


def _pending(session: Session) -> list[Message]:
    return [m for m in messages(session) if m.status == "pending"]


def test_sync_creates_two_reminders_per_appointment_within_the_horizon(
    engine: Engine, session: Session, settings: Settings
) -> None:
    s = notify_settings(settings)
    add_site(session)
    alice = add_person(session, 1)
    bob = add_person(session, 2, language="en", name="Bob Smith")
    add_appointment(session, alice, datetime(2022, 5, 10, 9, 30, tzinfo=SH))
    add_appointment(session, bob, datetime(2022, 5, 10, 14, 0, tzinfo=SH))
    add_appointment(session, alice, datetime(2022, 5, 12, 9, 30, tzinfo=SH))  # beyond 48 h
    add_appointment(session, bob, datetime(2022, 5, 9, 7, 0, tzinfo=SH))  # already started

    report = sync_reminders(engine, NOW, policy(), s)
    assert report.created == 4
    rows = messages(session)
    assert sorted((m.kind, m.person_id) for m in rows) == [
        ("reminder_before", alice.id),
        ("reminder_before", bob.id),
        ("reminder_eve", alice.id),
        ("reminder_eve", bob.id),
    ]
    for m in rows:
        assert m.status == "pending" and m.due_at < m.expires_at
        assert f"{PUBLIC_URL}/me/" in m.body
        assert m.to == phone(1 if m.person_id == alice.id else 2)
        assert m.segments in (1, 2) and m.tz == "Asia/Shanghai"
    english = next(m for m in rows if m.person_id == bob.id)
    # A Chinese site name makes an English text UCS-2: a shorter variant keeps it in 2 segments.
    assert english.body.startswith("Testrota:") and "一号采样点" in english.body
    assert "STOP" in english.body and english.segments == 2
    # Idempotent: nothing new, nothing cancelled.
    again = sync_reminders(engine, NOW, policy(), s)
    assert (again.created, again.cancelled) == (0, 0)
    assert len(messages(session)) == 4


def test_a_moved_appointment_never_keeps_a_reminder_for_its_old_slot(
    engine: Engine, session: Session, settings: Settings
) -> None:
    s = notify_settings(settings)
    add_site(session)
    person = add_person(session, 1)
    appt = add_appointment(session, person, datetime(2022, 5, 10, 9, 30, tzinfo=SH))
    sync_reminders(engine, NOW, policy(), s)
    # The planner moves it a day later (in place, same id).
    appt.starts_at = datetime(2022, 5, 10, 15, 0, tzinfo=SH)
    appt.ends_at = appt.starts_at + timedelta(minutes=15)
    session.add(appt)
    session.commit()
    report = sync_reminders(engine, NOW, policy(), s)
    assert (report.created, report.cancelled) == (2, 2)
    rows = messages(session)
    live = [m for m in rows if m.status == "pending"]
    assert {m.expires_at for m in live} == {appt.starts_at}
    assert all("15:00" in m.body for m in live)
    assert all(m.status == "cancelled" for m in rows if m not in live)


def test_cancelled_or_deleted_appointments_cancel_their_reminders(
    engine: Engine, session: Session, settings: Settings
) -> None:
    s = notify_settings(settings)
    add_site(session)
    a = add_appointment(session, add_person(session, 1), datetime(2022, 5, 10, 9, 0, tzinfo=SH))
    b = add_appointment(session, add_person(session, 2), datetime(2022, 5, 10, 9, 0, tzinfo=SH))
    sync_reminders(engine, NOW, policy(), s)
    a.status = "cancelled"
    session.add(a)
    session.commit()
    session.exec(delete(Appointment).where(col(Appointment.id) == b.id))  # type: ignore[call-overload]
    session.commit()
    report = sync_reminders(engine, NOW, policy(), s)
    assert report.cancelled == 4
    assert _pending(session) == []


def test_pending_texts_follow_a_corrected_phone_number(
    engine: Engine, session: Session, settings: Settings
) -> None:
    s = notify_settings(settings)
    add_site(session)
    person = add_person(session, 1)
    add_appointment(session, person, datetime(2022, 5, 10, 9, 0, tzinfo=SH))
    sync_reminders(engine, NOW, policy(), s)
    person.phone = phone(99)
    session.add(person)
    session.commit()
    assert sync_reminders(engine, NOW, policy(), s).readdressed == 2
    assert {m.to for m in messages(session)} == {phone(99)}


def test_site_time_zone_and_people_without_a_phone(
    engine: Engine, session: Session, settings: Settings
) -> None:
    s = notify_settings(settings)
    ny = ZoneInfo("America/New_York")
    add_site(session, "NY", "Newark gate", "America/New_York")
    person = add_person(session, 1, language="en")
    add_person(session, 2, phone=None)
    start = datetime(2022, 3, 13, 9, 0, tzinfo=ny)  # the day clocks spring forward
    add_appointment(session, person, start, site="NY")
    now = datetime(2022, 3, 12, 12, 0, tzinfo=ny)
    sync_reminders(engine, now, policy(), s)
    rows = {m.kind: m for m in messages(session)}
    assert rows["reminder_eve"].due_at == datetime(2022, 3, 12, 18, 0, tzinfo=ny)
    assert rows["reminder_before"].due_at == datetime(2022, 3, 13, 8, 0, tzinfo=ny)
    assert rows["reminder_eve"].tz == "America/New_York"
    assert "Newark gate" in rows["reminder_eve"].body and "09:00" in rows["reminder_eve"].body


def test_missed_notices_once_per_missed_test(
    engine: Engine, session: Session, settings: Settings
) -> None:
    s = notify_settings(settings)
    add_site(session)
    person = add_person(session, 1)
    add_appointment(session, person, datetime(2022, 5, 9, 7, 0, tzinfo=SH), status="missed")
    add_appointment(
        session, add_person(session, 2), datetime(2022, 5, 6, 7, 0, tzinfo=SH), status="missed"
    )  # too long ago to offer a rebooking
    now = datetime(2022, 5, 9, 12, 0, tzinfo=SH)
    assert enqueue_missed_notices(engine, now, policy(), s) == 1
    assert enqueue_missed_notices(engine, now, policy(), s) == 0
    (row,) = messages(session)
    assert row.kind == "missed" and row.person_id == person.id and "回R" in row.body
    assert enqueue_missed_notices(engine, now, policy(reminders={"missed_notice": False}), s) == 0


def test_positive_alerts_reach_the_departments_supervisors_and_hr(
    engine: Engine, session: Session, settings: Settings
) -> None:
    s = notify_settings(settings)
    person = add_person(session, 1, department="冷链车间")
    contact = add_person(session, 2, department="冷链车间")
    result = TestResult(
        person_id=person.id or 0,
        sampled_at=NOW - timedelta(hours=5),
        result="positive",
        source="lab",
        recorded_at=NOW,
    )
    session.add(result)
    session.commit()
    alert = Alert(person_id=person.id or 0, result_id=result.id or 0, created_at=NOW)
    session.add(alert)
    session.commit()
    session.add(AlertContact(alert_id=alert.id or 0, person_id=contact.id or 0, reason="grid_unit"))
    session.commit()
    sup = add_user(session, "sup", "supervisor", departments=["冷链车间"], phone_number=phone(500))
    add_user(session, "other", "supervisor", departments=["食堂"], phone_number=phone(501))
    hr = add_user(session, "hr", "hr", phone_number=phone(502), language="en")
    add_user(session, "hr2", "hr")  # no phone: nothing to send
    at_night = datetime(2022, 5, 9, 23, 30, tzinfo=SH)
    assert enqueue_positive_alerts(engine, at_night, policy(), s) == 2
    assert enqueue_positive_alerts(engine, at_night, policy(), s) == 0
    rows = {m.user_id: m for m in messages(session)}
    assert set(rows) == {sup.id, hr.id}
    assert rows[sup.id].due_at == at_night and rows[sup.id].tz is None  # no waiting till 07:00
    assert "E00001" in rows[sup.id].body and "1人" in rows[sup.id].body
    assert rows[hr.id].body.startswith("Testrota ALERT")


def test_daily_digest_counts_yesterdays_missed_tests_per_supervisor(
    engine: Engine, session: Session, settings: Settings
) -> None:
    s = notify_settings(settings)
    add_site(session)
    for n, dept in ((1, "冷链车间"), (2, "冷链车间"), (3, "食堂"), (4, "保洁")):
        add_appointment(
            session,
            add_person(session, n, department=dept),
            datetime(2022, 5, 8, 9, 0, tzinfo=SH),
            status="missed",
        )
    add_appointment(
        session,
        add_person(session, 5, department="冷链车间"),
        datetime(2022, 5, 7, 9, 0, tzinfo=SH),
        status="missed",
    )  # not yesterday
    sup = add_user(
        session, "sup", "supervisor", departments=["冷链车间", "食堂"], phone_number=phone(500)
    )
    add_user(session, "quiet", "supervisor", departments=["机修"], phone_number=phone(501))
    now = datetime(2022, 5, 9, 8, 0, tzinfo=SH)
    assert enqueue_digests(engine, now, policy(), s) == 1
    (row,) = messages(session)
    assert row.user_id == sup.id
    assert "漏检3人" in row.body and "冷链车间 2" in row.body and "食堂 1" in row.body
    assert "/missed?week=2022-W18" in row.body
    assert enqueue_digests(engine, now, policy(), s) == 0
    everyone = enqueue_digests(engine, now, policy(reminders={"digest_when_none": True}), s)
    assert everyone == 1  # the supervisor with none missed now gets one too


def test_booster_campaign_once_per_person_per_campaign(
    engine: Engine, session: Session, settings: Settings
) -> None:
    s = notify_settings(settings)
    add_person(session, 1, booster=False)
    add_person(session, 2, booster=True)
    add_person(session, 3, booster=None)
    add_person(session, 4, booster=False, opted_out=True)
    add_person(session, 5, booster=False, active=False)
    assert enqueue_booster_campaign(engine, NOW, policy(), s) == 1
    assert enqueue_booster_campaign(engine, NOW, policy(), s) == 0
    with_unknown = policy(reminders={"booster_include_unknown": True})
    assert enqueue_booster_campaign(engine, NOW, with_unknown, s) == 1
    assert enqueue_booster_campaign(engine, NOW, policy(), s, campaign="june") == 1
    keys = sorted(m.dedupe_key for m in messages(session))
    assert keys[0].startswith("booster:2022-05:person:")


def test_retention_erases_old_bodies_but_keeps_counts(
    engine: Engine, session: Session, settings: Settings
) -> None:
    s = notify_settings(settings)
    add_person(session, 1, booster=False)
    enqueue_booster_campaign(engine, NOW, policy(), s)
    row = messages(session)[0]
    row.status = "sent"
    session.add(row)
    session.commit()
    assert apply_retention(engine, NOW + timedelta(days=30), policy())["messages"] == 0
    assert apply_retention(engine, NOW + timedelta(days=91), policy())["messages"] == 1
    (row,) = messages(session)
    assert (row.body, row.to, row.status) == ("", "", "sent")


def test_inactive_people_get_no_reminders(
    engine: Engine, session: Session, settings: Settings
) -> None:
    add_site(session)
    person = add_person(session, 1, active=False)
    add_appointment(session, person, datetime(2022, 5, 10, 9, 0, tzinfo=SH))
    assert sync_reminders(engine, NOW, policy(), notify_settings(settings)).created == 0
    assert session.exec(select(Person)).one().active is False
    assert NOW.astimezone(UTC).tzinfo is UTC

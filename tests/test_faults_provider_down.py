"""The SMS provider unreachable for ten minutes of simulated time, under a real worker.

The texts wait and go out once the provider is back, as long as they are still valid; a
reminder whose slot started during the outage is not sent late (it expires). The worker is the
real ``testrota worker`` process on a clock file the test moves a minute at a time; the fake
Twilio server runs in the test, so it can really stop listening (connections refused) and
come back on the same port.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.db.models import Message
from tests.fake_twilio import FakeTwilio
from tests.notify_data import add_appointment, add_person, add_site, config_dir
from tests.sim_faults import M, SimClock, env_for, fleet, start_worker, statuses, wait_until

# Several processes against one database: slow on a loaded machine, bounded all the same.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2022, 5, 9, 10, 0, tzinfo=SHANGHAI)  # a Monday morning
OUTAGE = timedelta(minutes=10)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(latency=0.01) as server:
        yield server


def _rows(engine: Engine) -> dict[str, list[Message]]:
    with Session(engine) as s:
        rows = list(s.scalars(select(Message).order_by(Message.id)))
    out: dict[str, list[Message]] = {}
    for row in rows:
        out.setdefault(row.kind, []).append(row)
    return out


def test_texts_wait_out_a_ten_minute_outage_and_expire_rather_than_go_late(
    engine: Engine, session: Session, database_url: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    add_site(session, "NORTH", "北门采样点")
    groups = {
        # slot at 11:00: the reminder an hour before is due as the outage begins
        "due_at_start": (T0 + timedelta(hours=1), range(1, 11)),
        # slot at 10:05: its reminder (due 09:05) is still unsent; the slot starts mid-outage
        "slot_in_outage": (T0 + timedelta(minutes=5), range(11, 16)),
        # slot at 11:05: the reminder falls due during the outage
        "due_in_outage": (T0 + timedelta(minutes=65), range(16, 26)),
    }
    people: dict[str, set[int]] = {}
    for name, (start, numbers) in groups.items():
        people[name] = set()
        for n in numbers:
            person = add_person(session, n)
            add_appointment(session, person, start, site="NORTH")
            assert person.id is not None
            people[name].add(person.id)
    config = config_dir(
        tmp_path,
        sms={
            "rate_per_second": 0,
            "concurrency": 4,
            "retry_base_seconds": 30,
            "retry_max_seconds": 1800,
        },
    )
    clock = SimClock(tmp_path / "clock", T0)
    fake.stop()  # the provider is down from T0
    env = env_for(database_url, config, clock, fake.env())
    with fleet() as f:
        worker = start_worker(f, env, tmp_path / "logs", "worker")
        # The worker books the reminders and tries to send the due ones: refused, retried.
        wait_until(
            lambda: (
                _rows(engine).get("reminder_before", [])
                and all(r.attempts > 0 for r in _rows(engine)["reminder_before"] if r.due_at <= T0)
            ),
            60,
            "the first attempts",
            on_timeout=worker.log_tail,
        )
        minute = timedelta(minutes=1)
        while clock.at < T0 + OUTAGE:
            clock.set(clock.at + minute)
            # a real minute is three ticks of the dispatcher's one-second look for due rows
            wait_until(
                lambda: not _sendable_now(engine, clock.at),
                20,
                f"the dispatcher to try everything due at {clock.at}",
                on_timeout=worker.log_tail,
            )
        assert fake.messages == []
        assert "failed" not in statuses(engine), "texts gave up while the provider was down"
        fake.restart()

        def settled() -> bool:
            # a simulated minute every two seconds, until every text is sent or expired (a
            # text's next try follows its backoff; the sweep that closes expired texts runs at
            # the start of each dispatch tick, every 30 real seconds)
            if clock.at < T0 + OUTAGE + timedelta(minutes=20):
                clock.set(clock.at + minute)
            return set(statuses(engine)) <= {"sent", "expired"}

        wait_until(
            settled,
            90,
            "every text to be sent or expired",
            poll=2,
            on_timeout=lambda: f"{statuses(engine)}\n{worker.log_tail()}",
        )
        assert worker.alive(), worker.log_tail()
    rows = [r for kind in ("reminder_eve", "reminder_before") for r in _rows(engine).get(kind, [])]
    sent = {m.sid for m in fake.messages}
    waited = people["due_at_start"] | people["due_in_outage"]
    assert {r.person_id for r in rows} == waited | people["slot_in_outage"]
    for row in rows:
        if row.person_id in waited:
            assert row.status == "sent", (row.person_id, row.status, row.error_message)
            assert row.provider_sid in sent
            assert row.sent_at is not None and row.expires_at is not None
            assert T0 + OUTAGE <= row.sent_at < row.expires_at  # after the outage, still valid
        else:
            # The slot started while the provider was down: too late, never sent late.
            assert row.status == "expired", (row.person_id, row.status, row.error_message)
            assert row.provider_sid is None
    assert fake.stats()["duplicates"] == 0
    assert len(fake.messages) == sum(1 for r in rows if r.person_id in waited)


def _sendable_now(engine: Engine, now: datetime) -> bool:
    """Rows due now that no dispatcher has tried since they fell due (or their retry did)."""
    with engine.connect() as conn:
        pending = conn.execute(
            select(M.c.id).where(
                M.c.status == "pending",
                M.c.due_at <= now,
                (M.c.next_attempt_at.is_(None)) | (M.c.next_attempt_at <= now),
                (M.c.expires_at.is_(None)) | (M.c.expires_at > now),
            )
        ).first()
    return pending is not None

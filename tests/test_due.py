"""Whether anything is due to be flagged: the look every list, status lookup and report makes
first, answered right and read through the scheduled appointments' own index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, text

from testrota.compliance.due import anything_due, first_due
from testrota.compliance.missed import grace
from testrota.db import tables
from tests.compliance_fixtures import policy
from tests.query_plans import query_plan

P = policy()
NOW = datetime(2022, 5, 11, 2, 0, tzinfo=UTC)
CUTOFF = NOW - grace(P)


def _appointment(n: int, starts: datetime, minutes: int = 15, status: str = "done") -> dict:
    return {
        "person_id": n,
        "slot_id": None,
        "site_code": "S1",
        "week": "2022-W19",
        "starts_at": starts,
        "ends_at": starts + timedelta(minutes=minutes),
        "status": status,
        "reason": "plan",
        "created_at": NOW,
        "updated_at": NOW,
    }


def _week(engine: Engine, extra: list[dict]) -> None:
    """Two thousand appointments flagged long ago and as many still to come, plus ``extra``."""
    rows = [_appointment(n, CUTOFF - timedelta(hours=1 + n % 40)) for n in range(2000)]
    rows += [
        _appointment(n, NOW + timedelta(hours=1 + n % 40), status="scheduled")
        for n in range(2000, 4000)
    ]
    with engine.begin() as conn:
        conn.execute(insert(tables.APPOINTMENT), rows + extra)


def _due(engine: Engine) -> bool:
    with engine.connect() as conn:
        return anything_due(conn, NOW, P)


def test_nothing_is_due_when_every_started_slot_was_decided(engine: Engine) -> None:
    # one in progress past the cutoff: started before it, ends after it, not due yet
    _week(engine, [_appointment(9000, CUTOFF - timedelta(minutes=5), status="scheduled")])
    assert not _due(engine)


def test_a_scheduled_slot_that_ended_before_the_cutoff_is_due(engine: Engine) -> None:
    _week(engine, [_appointment(9000, CUTOFF - timedelta(hours=3), status="scheduled")])
    assert _due(engine)


def test_a_missed_or_excused_slot_is_not_due_again(engine: Engine) -> None:
    _week(
        engine,
        [
            _appointment(9000, CUTOFF - timedelta(hours=3), status="missed"),
            _appointment(9001, CUTOFF - timedelta(hours=3), status="excused"),
        ],
    )
    assert not _due(engine)


def test_the_look_reads_the_scheduled_rows_index_not_the_table(engine: Engine) -> None:
    """A bare LIMIT 1 was planned as a sequential scan expected to stop early, and read the
    whole week when nothing was due (60 ms at 300,000 people)."""
    _week(engine, [])
    query = first_due(NOW, P)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        plan = query_plan(conn, query)
    assert "ix_appointment_scheduled_ends" in plan, plan

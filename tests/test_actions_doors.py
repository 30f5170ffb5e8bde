"""Every door acts through a use case and is audited as itself: the CLI as ``cli:<login>``, a
job as ``job:<name>`` (the retry and plan use cases, which the web's tests cover too)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from testrota.app import build_app
from testrota.clock import FixedClock
from testrota.db import tables
from testrota.jobs.tasks import JobContext, plan_next_week
from testrota.settings import Settings
from tests.notify_data import add_due_texts

NOW = datetime(2022, 5, 6, 4, tzinfo=UTC)  # Friday noon in Shanghai, before 2022-W19
M = tables.MESSAGE


def _statuses(engine: Engine, ids: list[int]) -> list[str]:
    with engine.connect() as conn:
        rows = dict(conn.execute(select(M.c.id, M.c.status).where(M.c.id.in_(ids))).all())
    return [rows[i] for i in ids]


def _events(engine: Engine, action: str) -> list[Any]:
    table = tables.AUDIT_EVENT
    with engine.connect() as conn:
        return list(conn.execute(select(table).where(table.c.action == action)))


def test_retry_queues_only_the_failed_texts_it_names(cli: Any, engine: Engine) -> None:
    ids = add_due_texts(engine, 3, NOW)
    with engine.begin() as conn:
        conn.execute(update(M).where(M.c.id.in_(ids[:2])).values(status="failed", attempts=5))
        conn.execute(update(M).where(M.c.id == ids[2]).values(status="delivered"))

    named = cli("retry", str(ids[0]), str(ids[2]), "--json", env={"TESTROTA_NOW": NOW.isoformat()})
    assert named.exit_code == 0, named.output
    assert json.loads(named.stdout) == {"retried": 1, "ids": [ids[0]]}
    assert _statuses(engine, ids) == ["pending", "failed", "delivered"]
    (event,) = _events(engine, "message.retried")
    assert event.actor.startswith("cli:") and event.details == {"ids": [ids[0]], "count": 1}

    rest = cli("retry", "--all-failed")
    assert rest.exit_code == 0 and "1 texts queued again" in rest.stdout
    assert _statuses(engine, ids) == ["pending", "pending", "delivered"]

    nothing = cli("retry", "--all-failed", "--json")
    assert json.loads(nothing.stdout) == {"retried": 0, "ids": []}
    assert len(_events(engine, "message.retried")) == 2  # nothing queued: nothing recorded


def test_retry_wants_ids_or_all_failed_but_not_both(cli: Any, engine: Engine) -> None:
    for args in ((), ("7", "--all-failed")):
        result = cli("retry", *args)
        assert result.exit_code == 2
        assert "name the ids of failed texts, or --all-failed" in result.output


def test_the_friday_job_plans_next_week_as_itself(engine: Engine, settings: Settings) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(tables.PERSON),
            [
                {
                    "employee_no": f"E{i:04d}",
                    "name": f"员工{i}",
                    "department": "冷轧车间",
                    "grid_unit": "1网格",
                    "shift": "day",
                    "risk_category": "cold_chain",
                    "active": True,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(4)
            ],
        )
    app = build_app(settings, engine=engine, clock=FixedClock(NOW))
    ran = plan_next_week(JobContext(app, worker="w1"))
    assert ran.ran and ran.result is not None and ran.result["week"] == "2022-W19"
    assert ran.result["scheduled"] == ran.result["required"] == 8
    with engine.connect() as conn:
        planned_by = conn.execute(select(tables.PLAN_RUN.c.planned_by)).scalars().all()
    assert planned_by == ["job:plan_next_week"]
    (event,) = _events(engine, "plan.week")
    assert (event.actor, event.entity_id) == ("job:plan_next_week", "2022-W19")

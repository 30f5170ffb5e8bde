"""The one bulk-write path writes what the ORM would: aware datetimes as UTC, JSON, booleans,
constants on every row; a row of the wrong width is refused before anything is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select

from testrota.db import tables
from testrota.db.bulk import bulk_insert

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2022, 5, 9, 9, 30, tzinfo=SHANGHAI)


def test_tuples_and_mappings_with_constants_read_back_as_written(engine: Engine) -> None:
    table = tables.AUDIT_EVENT
    rows = [
        ("1", {"n": 1, "名": "张三"}),
        ("2", {"nested": [1, 2]}),
        ("3", {}),
    ]
    with engine.begin() as conn:
        bulk_insert(
            conn,
            table,
            rows,
            columns=("entity_id", "details"),
            constants={"at": AT, "actor": "cli:test", "action": "plan.week", "entity": "week"},
        )
        bulk_insert(
            conn,
            table,
            [
                {
                    "entity_id": "4",
                    "details": {"k": True},
                    "at": AT + timedelta(hours=1),
                    "actor": "web:hr1",
                    "action": "plan.week",
                    "entity": "week",
                }
            ],
        )
    with engine.connect() as conn:
        got = conn.execute(
            select(table.c.entity_id, table.c.details, table.c.at, table.c.actor).order_by(
                table.c.entity_id
            )
        ).all()
    assert [(r.entity_id, r.details, r.actor) for r in got] == [
        ("1", {"n": 1, "名": "张三"}, "cli:test"),
        ("2", {"nested": [1, 2]}, "cli:test"),
        ("3", {}, "cli:test"),
        ("4", {"k": True}, "web:hr1"),
    ]
    # Stored as UTC and read back aware, whatever the zone it was given in.
    assert got[0].at == AT and got[0].at.utcoffset() == timedelta(0)
    assert got[3].at == datetime(2022, 5, 9, 2, 30, tzinfo=UTC)


def test_a_row_of_the_wrong_width_is_refused_and_nothing_is_written(engine: Engine) -> None:
    table = tables.AUDIT_EVENT
    with pytest.raises(ValueError, match="a row of 1 values for 2 columns"), engine.begin() as conn:
        bulk_insert(
            conn,
            table,
            [("1", {}), ("2",)],
            columns=("entity_id", "details"),
            constants={"at": AT, "actor": "cli:x", "action": "plan.week", "entity": "week"},
        )
    with engine.connect() as conn:
        assert conn.execute(select(table.c.id)).all() == []

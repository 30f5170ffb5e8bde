"""The sample indexes each reader relies on, read from the databases' own plans: a results sheet
inserts 300,000 samples at a group, and every index they enter costs the server time, so a
person's samples by time are read through the unique key's index, not one of their own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, insert, inspect, select, text

from testrota.db import tables
from testrota.weeks import parse_week, week_bounds
from tests.compliance_fixtures import policy
from tests.query_plans import query_plan

P = policy()
WEEK = parse_week("2022-W19")
START, END = week_bounds(WEEK, P.tz)
TR = tables.TEST_RESULT


def _samples(n_weeks: int = 12, people: int = 400) -> list[dict[str, Any]]:
    """Twelve weeks of two samples a person, one from the lab, one checked in."""
    rows = []
    for w in range(-n_weeks + 1, 1):
        monday = START + timedelta(weeks=w)
        for person in range(people):
            for day, source in ((0, "checkin"), (3, "lab")):
                at = monday + timedelta(days=day, hours=1, minutes=person % 60)
                rows.append(
                    {
                        "person_id": person,
                        "sampled_at": at,
                        "result": "negative",
                        "source": source,
                        "site_name": "",
                        "recorded_at": at,
                        "recorded_by": "test",
                    }
                )
    return rows


def _plan(engine: Engine, query: Any) -> str:
    with engine.begin() as conn:
        conn.execute(insert(TR), _samples())
        conn.execute(text("ANALYZE"))
    with engine.connect() as conn:
        return query_plan(conn, query)


def test_a_sample_enters_only_the_key_the_time_and_the_id_indexes(engine: Engine) -> None:
    indexes = {tuple(i["column_names"]) for i in inspect(engine).get_indexes("testresult")}
    keys = {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("testresult")}
    # SQLite reports the key's index among the indexes too; PostgreSQL among the constraints.
    assert indexes - keys == {("sampled_at",)}
    assert keys == {("person_id", "sampled_at", "source")}


def test_a_persons_samples_of_a_week_are_read_through_the_unique_key(engine: Engine) -> None:
    """A check-in's look for the day's sample, a person's week: (person_id, sampled_at) are the
    key's first two columns."""
    query = select(TR.c.id, TR.c.result).where(
        TR.c.person_id == 97, TR.c.sampled_at >= START, TR.c.sampled_at < END
    )
    plan = _plan(engine, query)
    if engine.dialect.name == "postgresql":
        assert "testresult_person_id_sampled_at_source_key" in plan, plan
    else:
        assert "sqlite_autoindex_testresult_1 (person_id=? AND sampled_at>? AND sampled_at<?)" in (
            plan
        ), plan


def test_a_few_peoples_latest_samples_are_read_through_the_unique_key(engine: Engine) -> None:
    """The missed list's "last tested" of a page's people."""
    query = (
        select(TR.c.person_id, TR.c.sampled_at)
        .where(TR.c.person_id.in_([3, 97, 211]), TR.c.sampled_at < END)
        .order_by(TR.c.person_id, TR.c.sampled_at.desc())
    )
    plan = _plan(engine, query)
    key = (
        "testresult_person_id_sampled_at_source_key"
        if engine.dialect.name == "postgresql"
        else "sqlite_autoindex_testresult_1"
    )
    assert key in plan, plan

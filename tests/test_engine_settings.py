"""The settings every PostgreSQL connection of the app's engines starts with."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's own settings")
    return engine


def test_each_run_of_a_prepared_statement_is_planned_for_its_own_values(pg: Engine) -> None:
    """psycopg prepares a statement after a few runs; a plan made once for any parameters read
    a whole week's index entries for a few people's rows (13 ms against 0.05 ms at 300,000
    people), so every connection of the app's engines plans each run for its values."""
    with pg.connect() as conn:
        assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"


def test_no_statement_is_compiled_by_jit(pg: Engine) -> None:
    """A statement over a trigger's transition table or an import's staging table looks costly
    to the planner, and JIT compiled two of a results import's for 0.45 s. With the threshold at
    nothing, a statement that would be compiled is not."""
    with pg.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar_one() == "off"
        conn.execute(text("SET LOCAL jit_above_cost = 0"))
        plan = conn.execute(
            text("EXPLAIN (ANALYZE, FORMAT JSON) SELECT sum(g) FROM generate_series(1, 1000) g")
        ).scalar_one()
        assert "JIT" not in plan[0], plan[0]
        conn.rollback()

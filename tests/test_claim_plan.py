"""A dispatcher's claim stays a short read however many texts are due, and the writers of bulk
rows leave PostgreSQL statistics that see them (``db.statistics``).

At 300,000 people an evening's reminders share their due minutes; a claim of 50 that sorted
every text due, or hashed every person and appointment to check them, cost 0.76 s each and the
reminders went out over tens of minutes. The plan is asserted on PostgreSQL, where it is chosen
by statistics; the order taken is asserted on both databases.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.dialects import postgresql

from testrota.actions.roster import ImportRoster, import_roster
from testrota.audit import Actor
from testrota.db.statistics import BULK_ROWS, refresh_statistics
from testrota.notify.claims import claim_due, due_first
from testrota.policy import load_policy
from tests.compliance_fixtures import app_at
from tests.conftest import CONFIG_DIR
from tests.notify_data import T0, add_due_texts

NOW = T0 + timedelta(hours=12)


def _pg(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL plans by statistics; SQLite has none unless asked")


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for child in plan.get("Plans", []):
        out += _nodes(child)
    return out


def test_a_claim_takes_the_first_due_texts_by_due_time_then_id(engine: Engine) -> None:
    early = add_due_texts(engine, 30, NOW - timedelta(hours=2))
    late = add_due_texts(engine, 30, NOW - timedelta(hours=1), first=1_000)
    with engine.begin() as conn:
        taken = [c.id for c in claim_due(conn, NOW, "w1", 40)]
    assert taken == early + late[:10]


def test_a_claim_reads_in_its_order_and_checks_only_the_rows_it_takes(engine: Engine) -> None:
    _pg(engine)
    # 3,000 texts due at the same minute, each to its own person, statistics fresh.
    add_due_texts(engine, 3_000, NOW - timedelta(minutes=5))
    with engine.connect() as conn:
        conn.execute(text("ANALYZE person"))
        conn.execute(text("ANALYZE message"))
        sql = str(
            due_first(NOW, 50).compile(
                dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
            )
        )
        (plan,) = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")).scalar_one()
        conn.commit()
    nodes = _nodes(plan["Plan"])
    kinds = [n["Node Type"] for n in nodes]
    assert "Sort" not in kinds and "Incremental Sort" not in kinds, kinds
    scans = [n for n in nodes if n.get("Relation Name") == "message"]
    assert [(n["Node Type"], n["Index Name"]) for n in scans] == [
        ("Index Scan", "ix_message_status_due")
    ]
    assert scans[0]["Actual Rows"] == 50
    # Each recipient is looked up by key for the rows read, not hashed from every person.
    people = [n for n in nodes if n.get("Relation Name") == "person"]
    assert people and all(n["Node Type"] == "Index Scan" for n in people), people
    assert all(n["Actual Loops"] == 50 for n in people)
    assert not [n for n in nodes if str(n.get("Subplan Name", "")).startswith("hashed")]


def _reltuples(engine: Engine, table: str) -> float:
    with engine.connect() as conn:
        return float(
            conn.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}
            ).scalar_one()
        )


def _analyse_empty(engine: Engine, *tables: str) -> None:
    """Statistics that say the table is empty: what a new database's look like. Autovacuum is
    kept off these tables (this run's own database), so that only the code under test can
    analyse them, on a server that runs it too."""
    with engine.connect() as conn:
        for table in tables:
            conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
            conn.execute(text(f"ANALYZE {table}"))
        conn.commit()


def test_statistics_are_refreshed_after_a_bulk_write_only(engine: Engine) -> None:
    _pg(engine)
    _analyse_empty(engine, "message")
    add_due_texts(engine, 200, NOW, with_people=False)
    assert not refresh_statistics(engine, "message", 200)
    assert _reltuples(engine, "message") == 0
    assert refresh_statistics(engine, "message", BULK_ROWS)
    assert _reltuples(engine, "message") == 200


def test_statistics_do_not_refresh_on_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the SQLite side")
    assert not refresh_statistics(engine, "message", BULK_ROWS * 10)


def _roster(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["工号", "姓名", "部门", "岗位", "手机"])
        for i in range(n):
            out.writerow([f"{i:06d}", f"员工{i}", "冷链车间", "冷库搬运工", f"1380000{i:04d}"])
    return path


def test_a_roster_import_of_many_people_leaves_statistics_that_count_them(
    engine: Engine, tmp_path: Path
) -> None:
    _pg(engine)
    _analyse_empty(engine, "person")
    app = app_at(engine, NOW, load_policy(CONFIG_DIR))
    small = import_roster(app, ImportRoster(_roster(tmp_path / "few.csv", 20), Actor.cli()))
    assert small.added == 20
    assert _reltuples(engine, "person") == 0  # 20 people: left to autovacuum
    report = import_roster(
        app, ImportRoster(_roster(tmp_path / "many.csv", BULK_ROWS + 20), Actor.cli())
    )
    assert report.added == BULK_ROWS
    assert _reltuples(engine, "person") == BULK_ROWS + 20

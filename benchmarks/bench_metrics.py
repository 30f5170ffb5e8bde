"""How long a ``/metrics`` scrape takes on a large group's database, SQLite and PostgreSQL.

Builds N people (40 % high-risk), ``--weeks`` weeks of their appointments (two a week each),
two reminder texts per appointment plus digests, and one sample per appointment kept: what
90 days of retention hold for a group of 100,000 (messages keep their rows after retention,
so ``--weeks 52`` shows a year of outbox). Then times :func:`collect` (the whole scrape) and
each of its queries, median of ``--repeat`` runs.

    .venv/bin/python benchmarks/bench_metrics.py --people 100000 --weeks 13 \\
        --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, make_url, text

from testrota.db.engine import make_engine
from testrota.db.models import Appointment, Message, Person, TestResult
from testrota.db.schema import upgrade
from testrota.observability import metrics
from testrota.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2022, 8, 10, 7, 0, tzinfo=UTC)  # a Wednesday, 15:00 in Shanghai
STATUSES = ["delivered"] * 90 + ["sent"] * 5 + ["failed"] * 2 + ["undelivered"] * 2 + ["expired"]
CHUNK = 20_000


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def populate(engine: Engine, people: int, weeks: int, seed: int = 42) -> dict[str, int]:
    rnd = random.Random(seed)
    counts = {"people": people, "appointments": 0, "messages": 0, "results": 0}
    person_t = Person.__table__  # type: ignore[attr-defined]
    appt_t = Appointment.__table__  # type: ignore[attr-defined]
    msg_t = Message.__table__  # type: ignore[attr-defined]
    result_t = TestResult.__table__  # type: ignore[attr-defined]
    categories = ["cold_chain", "driver", "canteen", "cleaning", "gate_guard", "logistics_services"]

    def person_rows() -> Iterator[dict[str, Any]]:
        for n in range(1, people + 1):
            yield {
                "employee_no": f"E{n:07d}",
                "name": f"P{n}",
                "phone": f"+86138{n:08d}",
                "phone_raw": "",
                "phone_valid": True,
                "department": f"D{n % 40}",
                "grid_unit": f"G{n % 900}",
                "role": "",
                "person_type": "employee",
                "language": "zh",
                "shift": "day",
                "vaccination": "",
                "risk_categories": "",
                "risk_category": categories[n % 6] if n % 5 < 2 else None,
                "active": n % 50 != 0,
                "opted_out": n % 97 == 0,
                "created_at": NOW,
                "updated_at": NOW,
            }

    with engine.begin() as conn:
        for batch in _chunks(person_rows()):
            conn.execute(insert(person_t), batch)
    high_risk = [n for n in range(1, people + 1) if n % 5 < 2]
    monday = NOW - timedelta(days=NOW.weekday(), hours=NOW.hour)

    def week_rows(
        week: int,
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]]:
        start = monday - timedelta(weeks=week)
        for pid in high_risk:
            for k in range(2):
                at = start + timedelta(
                    days=rnd.choice((0, 1, 2)) + 3 * k,
                    hours=1 + rnd.randrange(10),
                    minutes=15 * rnd.randrange(4),
                )
                past = at < NOW
                status = ("done" if rnd.random() < 0.93 else "missed") if past else "scheduled"
                appt = {
                    "person_id": pid,
                    "site_code": "S1",
                    "week": "",
                    "starts_at": at,
                    "ends_at": at + timedelta(minutes=15),
                    "grid_unit": "",
                    "status": status,
                    "reason": "plan",
                    "created_at": at,
                    "updated_at": at,
                }
                texts = []
                for kind, due in (
                    ("reminder_eve", at - timedelta(hours=14)),
                    ("reminder_before", at - timedelta(hours=1)),
                ):
                    texts.append(
                        {
                            "kind": kind,
                            "dedupe_key": f"{kind}:{uuid.uuid4().hex}",
                            "person_id": pid,
                            "to": "",
                            "body": "",
                            "due_at": due,
                            "expires_at": at,
                            "status": rnd.choice(STATUSES) if due < NOW else "pending",
                            "attempts": 1,
                            "segments": 1,
                            "created_at": due,
                        }
                    )
                sample = (
                    {
                        "person_id": pid,
                        "sampled_at": at,
                        "result": "negative",
                        "source": "checkin",
                        "recorded_at": at,
                        "recorded_by": "",
                    }
                    if status == "done"
                    else None
                )
                yield appt, texts, sample

    for week in range(weeks):
        appts, texts, samples = [], [], []
        for appt, msgs, sample in week_rows(week):
            appts.append(appt)
            texts.extend(msgs)
            if sample:
                samples.append(sample)
        with engine.begin() as conn:
            for table, rows in ((appt_t, appts), (msg_t, texts), (result_t, samples)):
                for i in range(0, len(rows), CHUNK):
                    conn.execute(insert(table), rows[i : i + CHUNK])
        counts["appointments"] += len(appts)
        counts["messages"] += len(texts)
        counts["results"] += len(samples)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return counts


def timed(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def bench(label: str, engine: Engine, repeat: int) -> list[tuple[str, str, float]]:
    policy = load_policy(ROOT / "config")
    wall = datetime.now(UTC)
    out = [
        (label, "whole scrape", timed(lambda: metrics.collect(engine, NOW, policy, wall), repeat))
    ]
    parts: list[tuple[str, Callable[[Any], object]]] = [
        ("texts by status, backlog", lambda c: metrics._texts(c, NOW)),
        ("today (appointments, samples)", lambda c: metrics._today(c, NOW, policy)),
        ("people", metrics._people),
        ("job heartbeats and runs", lambda c: (metrics._heartbeats(c, wall), metrics._job_runs(c))),
        ("imports, alerts", lambda c: (metrics._imports(c), metrics._alerts(c))),
    ]
    for name, part in parts:

        def run(part: Callable[[Any], object] = part) -> None:
            with engine.connect() as conn:
                part(conn)

        out.append((label, name, timed(run, repeat)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", help="PostgreSQL server URL (a database is created and dropped)")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    results: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        targets: list[tuple[str, str, Callable[[], None]]] = []
        if not args.skip_sqlite:
            targets.append(("SQLite", f"sqlite:///{Path(tmp) / 'metrics.db'}", lambda: None))
        if args.pg:
            name = f"bench_metrics_{uuid.uuid4().hex[:8]}"
            admin = make_engine(args.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))

            def drop(admin: Engine = admin, name: str = name) -> None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()

            url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
            targets.append(("PostgreSQL", url, drop))
        for label, url, cleanup in targets:
            try:
                engine = make_engine(url)
                upgrade(engine)
                started = time.perf_counter()
                counts = populate(engine, args.people, args.weeks)
                print(
                    f"{label}: built {counts} in {time.perf_counter() - started:.0f} s", flush=True
                )
                results += bench(label, engine, args.repeat)
                engine.dispose()
            finally:
                cleanup()
    print("\n| database | part | median ms |\n|---|---|---:|")
    for label, name, seconds in results:
        print(f"| {label} | {name} | {seconds * 1000:.1f} |")


if __name__ == "__main__":
    main()

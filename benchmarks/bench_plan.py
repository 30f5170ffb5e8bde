"""Planning benchmark: 100,000 high-risk people, 4,000 grid units, 20 sites, one ISO week.

Each step runs ``plan_week_service`` (load from the database, plan, write the plan back) in a
process of its own, so its peak memory is its own; the figures are the service call's wall and
CPU time, the whole process's wall time (interpreter start-up and imports included) and peak
memory, and the plan's quality figures:

1. plan the week from nothing;
2. re-plan the same week after a 5 % roster change (2.5 % leave, 2.5 % join existing units);
3. plan the next week, with the first as "last week" (stability since last week);
4. the SMS sender-capacity check the plan report adds by default (issue 6), on the stored week:
   it reads the plan back once planning is done, so it is timed apart, not counted in 1-3 —
   but ``testrota plan`` (and the Friday job) run it after committing, so a whole ``plan``
   costs step 1 plus this one;
5. the week after, planned as ``testrota plan`` commits it on a group roster: everyone placed
   in org units (``ensure_units``, timed apart), the week held by the weekly roll-up (as the
   nightly job holds next week; counted apart), and the plan written through the app's engine,
   whose commit hook counts the daily and weekly roll-ups again before COMMIT. Its figures
   include that hook (shown apart as ``daily roll-up s`` and ``weekly roll-up s``, beside the
   pure planner's seconds and those of writing its rows); compare it with step 3, the same
   kind of week (600,000 new rows at 300,000 people) without units.

Goal (issue 4): steps 1 and 2 under 5 s each including writing to SQLite, under 1 GB peak.

    .venv/bin/python benchmarks/bench_plan.py [--people 100000] [--db URL | --pg SERVER] [--json]

Without ``--db`` a fresh SQLite file in a temporary directory is used; ``--db`` must name an
empty database; ``--pg postgresql+psycopg://postgres@127.0.0.1:5432/test`` makes a fresh
database on that server for the run and drops it afterwards. Issue 17's goal at 300,000 people
on PostgreSQL: step 1 under 10 s and under 1 GB (``make bench-group``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import Engine, text, update  # noqa: E402

from _pg import database_mb, drop_database, make_database  # noqa: E402
from _proc import measure  # noqa: E402
from plan_data import change_roster, make_people, make_sites  # noqa: E402
from testrota.db import tables  # noqa: E402
from testrota.db.bulk import bulk_insert  # noqa: E402
from testrota.db.engine import make_engine  # noqa: E402
from testrota.db.schema import upgrade  # noqa: E402
from testrota.policy import load_policy  # noqa: E402

WEEK, NEXT_WEEK, UNITS_WEEK = "2022-W19", "2022-W20", "2022-W21"
NOW = datetime(2022, 5, 6, 4, 0, tzinfo=UTC)  # Friday 12:00 in Shanghai, before the week
UNITS_NOW = NOW + timedelta(days=14)  # the Friday before UNITS_WEEK
SECRET = "bench-secret-key-not-for-production-0123456789"
P = tables.PERSON
QUALITY = (
    "required",
    "scheduled",
    "single_unit_slot_share",
    "unchanged_share",
    "kept_share",
    "spaced_3_4_share",
    "kept",
    "added",
    "cancelled",
    "slots",
    "compared_people",
    "kept_compared_people",
)
STEPS = (("plan", WEEK), ("replan_after_5pct_change", WEEK), ("next_week", NEXT_WEEK))


def _shape(n_people: int) -> tuple[int, int, int]:
    """Grid units, departments and sites: ten departments a site, so capacity grows with the
    roster (20 sites at 100,000 people, 60 at 300,000, each about half booked)."""
    units = max(1, n_people // 25)
    departments = max(20, units // 20)
    return units, departments, max(20, departments // 10)


def _rows(people: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "employee_no": p.employee_no,
            "name": p.name,
            "department": p.department,
            "grid_unit": p.grid_unit,
            "shift": p.shift,
            "risk_category": p.category,
            "risk_categories": p.category,
            "matched_by": "title",
            "role": "",
            "phone_raw": "",
            "phone_valid": True,
            "person_type": "employee",
            "language": "zh",
            "vaccination": "",
            "active": True,
            "opted_out": False,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for p in people
    ]


def _load_roster(engine: Engine, people: list[Any]) -> None:
    # The one bulk path (COPY on PostgreSQL): 300,000 rows load in seconds, not minutes.
    with engine.begin() as conn:
        for i in range(0, len(people), 20_000):
            bulk_insert(conn, P, _rows(people[i : i + 20_000]))


def _apply_change(engine: Engine, before: list[Any], after: list[Any]) -> tuple[int, int]:
    gone = sorted({p.employee_no for p in before} - {p.employee_no for p in after})
    have = {p.employee_no for p in before}
    new = [p for p in after if p.employee_no not in have]
    with engine.begin() as conn:
        for i in range(0, len(gone), 5_000):
            conn.execute(
                update(P)
                .where(P.c.employee_no.in_(gone[i : i + 5_000]))
                .values(active=False, deactivated_at=NOW)
            )
        bulk_insert(conn, P, _rows(new))
    return len(gone), len(new)


def child(step: str, db: str, week: str, n_people: int) -> None:
    """One step in this process; prints its timing and figures as JSON on stdout."""
    policy = load_policy(ROOT / "config")
    engine = make_engine(db)
    backend = _backend_pid(engine)
    db_cpu = _cpu_of(backend)
    start, cpu = time.perf_counter(), time.process_time()
    if step == "sms":
        from testrota.notify.queries import capacity_for_week

        capacity = capacity_for_week(engine, week, policy)
        figures: dict[str, Any] = {"warnings": len(capacity["warnings"])}
    elif step == "plan_units":
        engine.dispose()
        figures = _plan_with_units(db, week, n_people)
        print(json.dumps(figures))
        return
    else:
        from testrota.audit import Actor
        from testrota.scheduling.service import plan_week_service

        _, departments, n_sites = _shape(n_people)
        sites = make_sites(policy, sites=n_sites, departments=departments)
        report = plan_week_service(
            engine,
            week,
            policy,
            sites,
            ROOT / "config",
            NOW,
            actor=Actor.job("bench"),
            check_sms=False,
        )
        figures = {k: report[k] for k in QUALITY}
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = _cpu_of(backend)
    if after is not None and db_cpu is not None:
        figures["db_cpu_seconds"] = round(after - db_cpu, 2)
    print(json.dumps({"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), **figures}))


def _app(db: str) -> Any:
    from testrota.app import build_app
    from testrota.clock import FixedClock
    from testrota.settings import get_settings

    settings = get_settings(
        database_url=db, config_dir=ROOT / "config", secret_key=SECRET, now=UNITS_NOW.isoformat()
    )
    return build_app(settings, clock=FixedClock(UNITS_NOW))


def prepare_units(db: str, week: str) -> dict[str, Any]:
    """Everyone placed in org units (what the first import or command does), and ``week``
    held by the weekly roll-up (what the nightly job does for next week); both timed apart."""
    from testrota.actions.rollup import _analyze, _rates
    from testrota.actions.units import ensure_units
    from testrota.audit import Actor
    from testrota.db.engine import session_scope
    from testrota.org import weekly
    from testrota.weeks import parse_week

    app = _app(db)
    start, cpu = time.perf_counter(), time.process_time()
    done = ensure_units(app, Actor.job("bench"))
    _analyze(app, "person", "orgunit")
    units = (time.perf_counter() - start, time.process_time() - cpu)
    start, cpu = time.perf_counter(), time.process_time()
    with session_scope(app.engine) as session:
        conn = session.connection()
        print_ = weekly.fingerprint(app.policy, app.config_dir)
        rows = weekly.rebuild(conn, [parse_week(week)], app.policy, _rates(app), print_, app.now())
    held = (time.perf_counter() - start, time.process_time() - cpu)
    app.close()
    return {
        "units_added": done.units_added if done else 0,
        "people_placed": done.people_moved if done else 0,
        "units_seconds": round(units[0], 2),
        "units_cpu_seconds": round(units[1], 2),
        "hold_week_rows": rows,
        "hold_week_seconds": round(held[0], 2),
        "hold_week_cpu_seconds": round(held[1], 2),
    }


def _plan_with_units(db: str, week: str, n_people: int) -> dict[str, Any]:
    """``week`` planned through the app's engine, as ``testrota plan`` does: its commit counts
    the roll-ups again. Their hook functions, the pure planner and the write of its rows are
    timed in place (wrapped, not changed); the rest of the service's time is its reads."""
    from testrota.audit import Actor
    from testrota.org import rollup, weekly
    from testrota.policy import load_policy
    from testrota.scheduling import service
    from testrota.scheduling.service import plan_week_service

    spent = {name: [0.0, 0.0] for name in ("daily", "weekly", "planner", "store")}

    def timed(name: str, fn: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name][0] += time.perf_counter() - start
                spent[name][1] += time.process_time() - cpu

        return run

    rollup.absorb = timed("daily", rollup.absorb)  # type: ignore[assignment]
    weekly.before_commit = timed("weekly", weekly.before_commit)  # type: ignore[assignment]
    service.plan_week = timed("planner", service.plan_week)  # type: ignore[assignment]
    service._store = timed("store", service._store)  # type: ignore[assignment]
    marks: dict[str, int] = {}
    original = rollup.pending

    def counted_pending(conn: Any, tz: Any, *args: Any) -> Any:
        found = original(conn, tz, *args)
        marks.setdefault("marks", len(found.ids))
        marks.setdefault("keys", len(found.keys))
        return found

    rollup.pending = counted_pending  # type: ignore[assignment]
    app = _app(db)
    policy = load_policy(ROOT / "config")
    engine = app.engine
    backend = _backend_pid(engine)
    db_cpu = _cpu_of(backend)
    _, departments, n_sites = _shape(n_people)
    sites = make_sites(policy, sites=n_sites, departments=departments)
    start, cpu = time.perf_counter(), time.process_time()
    report = plan_week_service(
        engine,
        week,
        app.policy,
        sites,
        ROOT / "config",
        app.now(),
        actor=Actor.job("bench"),
        check_sms=False,
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    figures: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        **{k: report[k] for k in QUALITY},
        "daily_rollup_seconds": round(spent["daily"][0], 2),
        "daily_rollup_cpu_seconds": round(spent["daily"][1], 2),
        "weekly_rollup_seconds": round(spent["weekly"][0], 2),
        "weekly_rollup_cpu_seconds": round(spent["weekly"][1], 2),
        "planner_seconds": round(spent["planner"][0], 2),
        "store_seconds": round(spent["store"][0], 2),
        "store_cpu_seconds": round(spent["store"][1], 2),
        "rollup_marks": marks.get("marks", 0),
        "rollup_keys": marks.get("keys", 0),
    }
    after = _cpu_of(backend)
    if after is not None and db_cpu is not None:
        figures["db_cpu_seconds"] = round(after - db_cpu, 2)
    app.close()
    return figures


def _backend_pid(engine: Engine) -> int | None:
    """The PostgreSQL backend the step will use: the pool hands the same connection back."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _cpu_of(pid: int | None) -> float | None:
    """CPU seconds of a process on this machine (the database server's backend), if visible."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(n_people: int = 100_000, db: str | None = None) -> dict[str, Any]:
    units, departments, sites = _shape(n_people)
    people = make_people(n_people, units=units, departments=departments)
    result: dict[str, Any] = {"people": n_people, "grid_units": units, "sites": sites}
    with tempfile.TemporaryDirectory() as tmp:
        url = db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        result["database"] = url.split(":", 1)[0]
        engine = make_engine(url)
        upgrade(engine)
        _load_roster(engine, people)
        for name, week in STEPS:
            if name == "replan_after_5pct_change":
                result["left"], result["joined"] = _apply_change(
                    engine, people, change_roster(people)
                )
            m = measure(
                name,
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "plan",
                    "--db",
                    url,
                    "--week",
                    week,
                    "--people",
                    str(n_people),
                ],
            )
            result[name] = {
                **json.loads(m.output),
                "process_seconds": round(m.seconds, 2),
                "peak_mb": round(m.peak_mb),
            }
            print(f"{name}: {result[name]['seconds']:.2f} s", file=sys.stderr)
        try:
            import testrota.notify.queries  # noqa: F401
        except ImportError:  # pragma: no cover - the SMS area ships with the package
            pass
        else:
            m = measure(
                "sms",
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "sms",
                    "--db",
                    url,
                    "--week",
                    WEEK,
                    "--people",
                    str(n_people),
                ],
            )
            result["sms_capacity_check"] = {**json.loads(m.output), "peak_mb": round(m.peak_mb)}
        engine.dispose()
        result["units_setup"] = prepare_units(url, UNITS_WEEK)
        m = measure(
            "plan_units",
            [
                sys.executable,
                __file__,
                "--child",
                "plan_units",
                "--db",
                url,
                "--week",
                UNITS_WEEK,
                "--people",
                str(n_people),
            ],
        )
        result["plan_with_units"] = {
            **json.loads(m.output),
            "process_seconds": round(m.seconds, 2),
            "peak_mb": round(m.peak_mb),
        }
        print(f"plan_with_units: {result['plan_with_units']['seconds']:.2f} s", file=sys.stderr)
    result["slots"] = result["plan"]["slots"]
    return result


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _print(result: dict[str, Any]) -> None:
    print(
        f"{result['people']:,} people, {result['grid_units']:,} grid units, "
        f"{result['sites']} sites, {result['slots']:,} slots on {result['database']}; "
        f"roster change: {result['left']:,} left, {result['joined']:,} joined"
    )
    print(
        "| step | service s | cpu s | database cpu s | process s | peak MB "
        "| tests scheduled/required "
        "| one unit per slot | unchanged since last week | kept (re-plan) | 3-4 days apart "
        "| rows kept/added/cancelled |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in [n for n, _ in STEPS] + ["plan_with_units"]:
        r = result[name]
        print(
            f"| {name} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} "
            f"| {r.get('db_cpu_seconds', '-')} "
            f"| {r['process_seconds']:.2f} | {r['peak_mb']} "
            f"| {r['scheduled']:,}/{r['required']:,} | {_pct(r['single_unit_slot_share'])} "
            f"| {_pct(r['unchanged_share'])} | {_pct(r['kept_share'])} "
            f"| {_pct(r['spaced_3_4_share'])} "
            f"| {r['kept']:,}/{r['added']:,}/{r['cancelled']:,} |"
        )
    u, r = result["units_setup"], result["plan_with_units"]
    print(
        f"plan_with_units ({UNITS_WEEK}, after next_week): {u['people_placed']:,} people placed "
        f"in {u['units_added']:,} units in {u['units_seconds']:.2f} s "
        f"(CPU {u['units_cpu_seconds']:.2f} s); week held by the weekly roll-up "
        f"({u['hold_week_rows']:,} rows) in {u['hold_week_seconds']:.2f} s "
        f"(CPU {u['hold_week_cpu_seconds']:.2f} s); in the plan's commit: "
        f"{r['rollup_marks']:,} marks, {r['rollup_keys']:,} (unit, day) keys, daily roll-up "
        f"{r['daily_rollup_seconds']:.2f} s (client CPU {r['daily_rollup_cpu_seconds']:.2f} s), "
        f"weekly roll-up {r['weekly_rollup_seconds']:.2f} s "
        f"(client CPU {r['weekly_rollup_cpu_seconds']:.2f} s); before the commit: the planner "
        f"{r['planner_seconds']:.2f} s, writing its rows {r['store_seconds']:.2f} s (client CPU "
        f"{r['store_cpu_seconds']:.2f} s), the reads the rest"
    )
    if "database_mb" in result:
        print(f"database size after the three steps: {result['database_mb']:,} MB")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    sms = result.get("sms_capacity_check")
    if sms:
        print(
            f"SMS sender-capacity check of the stored week (issue 6, not planning): "
            f"{sms['seconds']:.2f} s, {sms['peak_mb']} MB"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", help="database URL of an empty database (default: SQLite)")
    where.add_argument("--pg", metavar="SERVER", help="make a fresh PostgreSQL database there")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", choices=["plan", "sms", "plan_units"], help=argparse.SUPPRESS)
    parser.add_argument("--week", default=WEEK, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.db, args.week, args.people)
        return 0
    if args.pg:
        url, name = make_database(args.pg, "bench_plan")
        try:
            result = run(args.people, url)
            result["database_mb"] = round(database_mb(url))
        finally:
            drop_database(args.pg, name)
    else:
        result = run(args.people, args.db)
    if args.json:
        print(json.dumps(result))
    else:
        _print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

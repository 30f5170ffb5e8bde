"""Compliance at the size of a large group, on SQLite: flagging, the missed list, result import.

One run, figures side by side:
1. flagging a whole day's missed tests: 100,000 people, a full week of appointments (two each),
   Monday's ~33,000 slots all still ``scheduled`` and 90 % of those people sampled that day by a
   path that did not mark them (the worst case: every slot decided by the flagger);
   then the same flag again (nothing left to decide: what every list call pays);
2. ``testrota missed --department D``: the service call in-process, and the whole command as a
   process (interpreter start-up included);
3. a 100,000-row results sheet (.xlsx): the bare ``python_calamine`` read of the file as a
   process, ``testrota results import FILE --json`` as a process, and the same import again.

    .venv/bin/python benchmarks/bench_compliance.py [--people 100000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import insert  # noqa: E402

from _proc import Measured, measure  # noqa: E402
from testrota.actions.flagging import FlagDue, flag_due  # noqa: E402
from testrota.actions.missed import Missed, list_missed  # noqa: E402
from testrota.app import build_app  # noqa: E402
from testrota.auth.scope import Scope  # noqa: E402
from testrota.clock import FixedClock  # noqa: E402
from testrota.db.engine import make_engine  # noqa: E402
from testrota.db.models import Appointment, Person, Site, TestResult  # noqa: E402
from testrota.db.schema import upgrade  # noqa: E402
from testrota.policy import load_policy  # noqa: E402
from testrota.settings import get_settings  # noqa: E402

PY = sys.executable
TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2022, 5, 9, tzinfo=TZ)  # 2022-W19
UNIT_SIZE = 25
DEPARTMENTS = 50
SITES = 20
SLOT_MINUTES = 15
SLOTS_PER_DAY = 48  # 07:00-19:00
DAY_PAIRS = ((0, 3), (1, 4), (2, 5))  # Mon+Thu, Tue+Fri, Wed+Sat
READ_CALAMINE = """
import sys, python_calamine
wb = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
rows = wb.get_sheet_by_index(0).to_python()
print(len(rows))
"""


def slot_start(person: int, day: int) -> datetime:
    unit = person // UNIT_SIZE
    slot = unit % SLOTS_PER_DAY
    return MONDAY + timedelta(days=day, hours=7, minutes=SLOT_MINUTES * slot)


def seed(url: str, n: int, rng: random.Random) -> None:
    engine = make_engine(url)
    upgrade(engine)
    created = datetime(2022, 5, 1, tzinfo=UTC)
    people = [
        {
            "id": i + 1,
            "employee_no": f"E{i + 1:06d}",
            "name": f"员工{i + 1}",
            "department": f"部门{(i // UNIT_SIZE) % DEPARTMENTS:02d}",
            "grid_unit": f"网格{i // UNIT_SIZE:04d}",
            "role": "司机",
            "phone": f"+86138{i + 1:08d}",
            "phone_raw": "",
            "phone_valid": True,
            "person_type": "employee",
            "language": "zh",
            "shift": "day",
            "vaccination": "",
            "risk_category": "driver",
            "risk_categories": "driver",
            "active": True,
            "opted_out": False,
            "created_at": created,
            "updated_at": created,
        }
        for i in range(n)
    ]
    appointments = []
    monday_tests = []
    for i in range(n):
        pair = DAY_PAIRS[(i // UNIT_SIZE) % 3]
        for day in pair:
            start = slot_start(i, day)
            appointments.append(
                {
                    "person_id": i + 1,
                    "site_code": f"S{(i // UNIT_SIZE) % SITES:02d}",
                    "week": "2022-W19",
                    "starts_at": start,
                    "ends_at": start + timedelta(minutes=SLOT_MINUTES),
                    "grid_unit": f"网格{i // UNIT_SIZE:04d}",
                    "status": "scheduled",
                    "reason": "plan",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if day == 0 and rng.random() < 0.9:
                at = start + timedelta(minutes=rng.randrange(SLOT_MINUTES))
                monday_tests.append(
                    {
                        "person_id": i + 1,
                        "sampled_at": at,
                        "result": "pending",
                        "source": "checkin",
                        "site_code": f"S{(i // UNIT_SIZE) % SITES:02d}",
                        "site_name": "",
                        "recorded_at": at,
                        "recorded_by": "bench",
                    }
                )
    sites = [
        {
            "code": f"S{i:02d}",
            "name": f"{i + 1}号采样点",
            "address": "",
            "timezone": "Asia/Shanghai",
        }
        for i in range(SITES)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Site), sites)
        conn.execute(insert(Person), people)
        conn.execute(insert(Appointment), appointments)
        conn.execute(insert(TestResult), monday_tests)
    engine.dispose()
    print(
        f"seeded {n:,} people, {len(appointments):,} appointments, "
        f"{len(monday_tests):,} Monday samples",
        file=sys.stderr,
    )


def write_results(path: Path, n: int, rng: random.Random) -> None:
    """A lab sheet: everyone's Tuesday-to-Thursday sample, mostly matched by employee number."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("核酸检测结果")
    ws.append(["序号", "姓名", "工号", "手机号", "采样时间", "检测结果", "采样点"])
    for i in range(n):
        day = 1 + i % 3
        at = slot_start(i, day) + timedelta(minutes=rng.randrange(SLOT_MINUTES))
        by_phone = i % 10 == 0  # a tenth of the rows carry only a phone number
        ws.append(
            [
                i + 1,
                f"员工{i + 1}",
                "" if by_phone else f"E{i + 1:06d}",
                f"138{i + 1:08d}" if by_phone else "",
                at.replace(tzinfo=None),  # an Excel datetime cell, local time
                "阴性",
                f"S{(i // UNIT_SIZE) % SITES:02d}",
            ]
        )
    wb.save(path)


def timed(label: str, fn: object) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    print(f"{label}: {seconds:.2f} s", file=sys.stderr)
    return seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(42)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_compliance_"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "bench.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    policy = load_policy(ROOT / "config")
    seed(url, args.people, rng)
    engine = make_engine(url)

    now = MONDAY + timedelta(hours=23, minutes=30)  # every Monday slot is past its grace
    app = build_app(
        get_settings(database_url=url, config_dir=ROOT / "config"),
        engine=engine,
        clock=FixedClock(now),
        policy=policy,
    )
    flag_s, report = timed("flag a whole day", lambda: flag_due(app, FlagDue()))
    again_s, _ = timed("flag again (nothing due)", lambda: flag_due(app, FlagDue()))

    department = "部门07"
    list_s, rows = timed(
        "missed --department (use case)",
        lambda: list_missed(app, Missed(scope=Scope.of([department]))),
    )
    env = {
        "TESTROTA_DATABASE_URL": url,
        "TESTROTA_CONFIG_DIR": str(ROOT / "config"),
        "TESTROTA_NOW": now.isoformat(),
    }
    testrota = [PY, "-m", "testrota.cli.main"]
    cli_list = measure(
        "testrota missed --department D --format json",
        [*testrota, "missed", "--department", department, "--format", "json"],
        env,
    )
    assert len(json.loads(cli_list.output)) == len(rows)  # type: ignore[arg-type]

    sheet = work / "results.xlsx"
    gen_s, _ = timed("write the results sheet", lambda: write_results(sheet, args.people, rng))
    now_import = MONDAY + timedelta(days=4, hours=8)  # Friday morning: Tue-Thu results arrive
    env_import = {**env, "TESTROTA_NOW": now_import.isoformat()}
    bare = measure("python_calamine read (bare)", [PY, "-c", READ_CALAMINE, str(sheet)])
    first = measure(
        "testrota results import",
        [*testrota, "results", "import", str(sheet), "--json"],
        env_import,
    )
    second = measure(
        "same import again (unchanged)",
        [*testrota, "results", "import", str(sheet), "--json"],
        env_import,
    )
    summary = json.loads(first.output)
    again = json.loads(second.output)
    app.close()

    print()
    print(f"compliance benchmark, {args.people:,} people, SQLite ({db})")
    print()
    print("| step | seconds | detail |")
    print("|---|---:|---|")
    print(
        f"| flag a whole day (Monday) | {flag_s:.2f} | {report.missed:,} missed, "  # type: ignore[attr-defined]
        f"{report.done:,} done |"
    )  # type: ignore[attr-defined]
    print(f"| flag again, nothing due | {again_s:.3f} | what each list call pays |")
    print(f"| missed --department D, use case call | {list_s:.3f} | {len(rows):,} rows |")  # type: ignore[arg-type]
    _row(cli_list, "whole process, start-up included")
    _row(bare, f"{args.people:,}-row .xlsx, {sheet.stat().st_size / 1e6:.1f} MB")
    _row(
        first,
        f"{summary['recorded']:,} recorded, {len(summary['unmatched'])} unmatched, "
        f"{first.seconds / bare.seconds:.1f}x the bare read",
    )
    _row(second, f"{again['unchanged']:,} unchanged, {second.seconds / bare.seconds:.1f}x")
    print(f"\n(writing the sheet with openpyxl took {gen_s:.1f} s; not part of any figure)")
    import os

    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _row(m: Measured, detail: str) -> None:
    # Peak memory is left out: a child forked from this large process reports the parent's.
    print(f"| {m.label} | {m.seconds:.2f} | {detail} |")


if __name__ == "__main__":
    main()

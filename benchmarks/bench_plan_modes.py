"""The pure weekly planner with units in static mode: what keeping grid units apart costs.

    python benchmarks/bench_plan_modes.py [--people 100000] [--static-share 0.1]

In process (no database): the benchmark's workforce (``plan_data``), planned in normal mode,
then with a share of the departments in static mode (everyone tested daily, each grid unit in
slots of its own). Prints wall and CPU seconds, tests required and scheduled, slots where a
static grid unit shares with another (always 0) and the static grid units left short. The
normal-mode line also runs on code without modes (``PYTHONPATH=<old src>``) for a before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from testrota.policy import Policy, SurgeRule
from testrota.scheduling.model import PlanPerson
from testrota.scheduling.planner import plan_week
from testrota.scheduling.sites import week_slots

try:
    from benchmarks.plan_data import make_people, make_sites
except ImportError:  # run as a script from the benchmarks folder
    from plan_data import make_people, make_sites  # type: ignore[no-redef]

MONDAY = date(2022, 5, 9)
BEFORE = datetime(2022, 5, 6, 4, tzinfo=UTC)
HAS_MODES = "apart" in PlanPerson._fields


def _policy(static_people: frozenset[int]) -> Policy:
    rules = []
    if static_people:
        rules = [
            SurgeRule(
                name="static",
                start=MONDAY,
                end=MONDAY + timedelta(days=6),
                tests_per_week=7,
                person_ids=static_people,
                min_gap_days=1,
            )
        ]
    return Policy.model_validate(
        {
            "timezone": "Asia/Shanghai",
            "shifts": {
                "day": {"windows": [{"start": "07:00", "end": "19:00"}]},
                "night": {
                    "windows": [
                        {"start": "17:00", "end": "23:59"},
                        {"start": "00:00", "end": "09:00"},
                    ]
                },
                "rotating": {"windows": [{"start": "07:00", "end": "22:00"}]},
            },
            "testing": {"surge": [r.model_dump() for r in rules]},
        }
    )


def run(people_n: int, static_share: float) -> dict[str, Any]:
    fake = make_people(people_n, units=max(1, people_n // 25))
    departments = sorted({p.department for p in fake})
    # spread over the sites (each serves ten departments in a row), as a city's static zones
    # fall across plants; a share piled on one site would only measure its capacity
    step = max(1, round(1 / static_share)) if static_share else 0
    static_departments = set(departments[::step]) if step else set()
    static_ids = frozenset(i + 1 for i, p in enumerate(fake) if p.department in static_departments)
    policy = _policy(static_ids)
    sites = make_sites(policy)
    slots = week_slots(sites, MONDAY)
    people = []
    for i, p in enumerate(fake):
        person = PlanPerson(i + 1, p.employee_no, p.department, p.grid_unit, p.shift, p.category, 2)
        if HAS_MODES and person.id in static_ids:
            person = person._replace(apart=True)
        people.append(person)
    wall, cpu = time.perf_counter(), time.process_time()
    result = plan_week(
        people, slots, [], policy, BEFORE, week_start=MONDAY, sites=[s.scope for s in sites]
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    unit = {p.id: p.unit for p in people}
    apart = {p.unit for p in people if p.id in static_ids}
    held: dict[int, set[str]] = defaultdict(set)
    for a in result.assignments:
        held[a.slot_id].add(unit[a.person_id])
    mixed = sum(1 for units in held.values() if units & apart and len(units) > 1)
    return {
        "people": people_n,
        "static_share": static_share,
        "static_people": len(static_ids),
        "code_has_modes": HAS_MODES,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "required": result.report["required"],
        "scheduled": result.report["scheduled"],
        "static_slots_shared": mixed,
        "static_units_short": len(result.report.get("kept_apart", {}).get("not_placed", [])),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--static-share", type=float, default=0.1)
    args = parser.parse_args()
    for share in (0.0, args.static_share):
        print(json.dumps(run(args.people, share)), flush=True)


if __name__ == "__main__":
    main()

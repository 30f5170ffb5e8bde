"""Synthetic workforce and sites for the planning benchmark (seeded, reproducible).

100,000 high-risk people in 4,000 grid units (5 to 45 people each, about 25) in 200
departments, served by 20 sites: each site serves its own ten departments, the way a plant's
testing point serves the plant, 06:30 to 21:30 every day in 10-minute slots of 30 people. Most
people work days, some nights, some rotate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from testrota.policy import Policy
from testrota.scheduling.sites import SiteSpec, parse_sites

CATEGORIES = [
    "imported_goods",
    "cold_chain",
    "food_delivery",
    "logistics_services",
    "construction_site",
    "canteen",
    "hotel",
    "supermarket",
    "school",
    "apartment",
    "commuter_bus",
    "cargo_transfer",
    "railway",
    "cleaning",
    "gate_guard",
    "driver",
]


@dataclass(frozen=True)
class FakePerson:
    employee_no: str
    name: str
    department: str
    grid_unit: str
    shift: str
    category: str


def make_people(
    n: int = 100_000, units: int = 4_000, departments: int = 200, seed: int = 42
) -> list[FakePerson]:
    rng = random.Random(seed)
    sizes = [rng.randint(5, 45) for _ in range(units)]
    scale = n / sum(sizes)
    sizes = [max(1, round(s * scale)) for s in sizes]
    step = 1 if sum(sizes) < n else -1
    u = 0
    while sum(sizes) != n:  # spread the rounding error one person at a time
        if sizes[u % units] + step >= 1:
            sizes[u % units] += step
        u += 1
    people: list[FakePerson] = []
    for u, size in enumerate(sizes):
        dept = f"D{u % departments:03d}"
        unit = f"{dept}-G{u // departments:02d}"
        shift = rng.choices(["day", "night", "rotating"], [80, 15, 5])[0]
        category = rng.choice(CATEGORIES)
        for _ in range(size):
            i = len(people)
            people.append(FakePerson(f"E{i:06d}", f"P{i}", dept, unit, shift, category))
    return people


def make_sites(policy: Policy, sites: int = 20, departments: int = 200) -> list[SiteSpec]:
    per_site = departments // sites
    doc = {
        "slot_minutes": 10,
        "capacity": 30,
        "sites": [
            {
                "code": f"S{s:02d}",
                "name": f"Site {s}",
                "hours": {"daily": ["06:30-21:30"]},
                "serves": {
                    "departments": [f"D{d:03d}" for d in range(s * per_site, (s + 1) * per_site)]
                },
            }
            for s in range(sites)
        ],
    }
    return parse_sites(doc, policy, "benchmark sites")


def change_roster(people: list[FakePerson], share: float = 0.05, seed: int = 7) -> list[FakePerson]:
    """Remove ``share / 2`` of the people and add as many new ones to existing units."""
    rng = random.Random(seed)
    k = int(len(people) * share / 2)
    gone = set(rng.sample(range(len(people)), k))
    kept = [p for i, p in enumerate(people) if i not in gone]
    donors = rng.sample(people, k)
    new = [
        FakePerson(f"N{i:06d}", f"New {i}", d.department, d.grid_unit, d.shift, d.category)
        for i, d in enumerate(donors)
    ]
    return kept + new

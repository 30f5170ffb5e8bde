"""Per-person rules of a week: how many tests, on which days, how far apart, in which hours.

Pure helpers shared by the weekly planner and the mid-week path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import combinations, pairwise

from testrota.policy import WEEKDAYS, Policy, SurgeRule
from testrota.scheduling.model import PlanPerson

ALL_DAYS = 0b1111111
UNRESTRICTED = "*"  # shift key of a person whose shift the policy does not define


@dataclass(frozen=True, slots=True)
class WeekRule:
    """What the week asks of one person."""

    tests: int  # tests this week after surge rules and exemptions
    days: int  # bitmask of days (bit 0 = Monday) the person may be tested on
    gap: int  # minimum days between two tests (at least 1: one test a day at most)
    surge: str | None  # the surge rule that raised the count, if any
    focus: int  # days a surge rule covers: tests go there first
    base_tests: int  # what the week would ask without exemptions


def surge_rules_for_week(policy: Policy, monday: date) -> list[tuple[SurgeRule, int]]:
    """Surge rules overlapping the week, each with the bitmask of the week's days it covers."""
    out: list[tuple[SurgeRule, int]] = []
    for rule in policy.testing.surge:
        mask = 0
        for i in range(7):
            if rule.start <= monday + timedelta(days=i) <= rule.end:
                mask |= 1 << i
        if mask:
            out.append((rule, mask))
    return out


def surge_applies(rule: SurgeRule, person: PlanPerson) -> bool:
    return (
        rule.all_staff
        or person.department in rule.departments
        or person.unit in rule.grid_units
        or (person.category is not None and person.category in rule.categories)
        or person.id in rule.person_ids
    )


def widest_gap(tests: int, days: int, gap: int) -> int:
    """The widest gap up to ``gap`` that still fits ``tests`` tests into ``days`` days."""
    gap = max(gap, 1)
    while gap > 1 and (tests - 1) * gap + 1 > days:
        gap -= 1
    return gap


def week_rule(
    person: PlanPerson,
    monday: date,
    policy: Policy,
    surges: Sequence[tuple[SurgeRule, int]],
) -> WeekRule:
    """The person's tests, days and gap for the week starting ``monday``.

    Counted day by day, as compliance counts them: each day the person is not exempt adds
    ``rate / 7`` tests, where the rate is the person's weekly count (``tests_required``) or a
    surge rule's when one covers the person that day and asks for more; the sum is rounded up.
    So a person back from leave on Thursday still tests twice and one back on Saturday once, and
    daily testing from Wednesday adds a test for each of its days. The minimum gap narrows only
    as far as the count needs (daily testing: one day). At most one test a day.
    """
    base = min(max(person.tests_required, 0), 7)
    rates = [base] * 7
    surge_name = None
    focus = 0
    gap = policy.testing.min_gap_days
    for rule, mask in surges:
        if not surge_applies(rule, person):
            continue
        for d in range(7):
            if mask >> d & 1 and rule.tests_per_week > rates[d]:
                rates[d] = min(rule.tests_per_week, 7)
                focus |= 1 << d
                surge_name = rule.name
                if rule.min_gap_days:
                    gap = min(gap, rule.min_gap_days)
    exempt = 0
    if person.exemptions:
        for d in range(7):
            day = monday + timedelta(days=d)
            if any(r.covers(day) for r in person.exemptions):
                exempt |= 1 << d
    days = ALL_DAYS & ~exempt
    n_days = days.bit_count()
    # 1e-9: seven days at 2/7 must give 2, not 3 from a rounding error.
    tests = min(math.ceil(sum(rates[d] for d in range(7) if days >> d & 1) / 7 - 1e-9), n_days)
    base_tests = min(math.ceil(sum(rates) / 7 - 1e-9), 7)
    return WeekRule(
        tests, days, widest_gap(tests, n_days, gap), surge_name, focus & days, base_tests
    )


def shift_key(shift: str, policy: Policy) -> str:
    return shift if shift in policy.shifts else UNRESTRICTED


def shift_coverage(policy: Policy) -> dict[str, list[tuple[int, int]]]:
    """Each shift's windows as minute ranges on a two-day line, so a slot that crosses midnight
    can be tested against a window that does. ``23:59`` as an end means midnight."""
    out: dict[str, list[tuple[int, int]]] = {}
    for name, rule in policy.shifts.items():
        ranges: list[tuple[int, int]] = []
        for w in rule.windows:
            a = w.start.hour * 60 + w.start.minute
            b = w.end.hour * 60 + w.end.minute
            if b == 23 * 60 + 59:
                b = 1440
            if b <= a:
                b += 1440
            ranges.extend([(a, b), (a + 1440, b + 1440), (a - 1440, b - 1440)])
        out[name] = _merge(ranges)
    return out


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def in_shift(coverage: list[tuple[int, int]] | None, minute: int, length: int) -> bool:
    """Whether a slot starting at ``minute`` (local) for ``length`` minutes lies inside the
    shift's hours. ``None`` coverage (an unknown shift) allows every slot."""
    if coverage is None:
        return True
    end = minute + length
    return any(a <= minute and end <= b for a, b in coverage)


def pattern_cost(days: tuple[int, ...], preferred: frozenset[tuple[int, int]]) -> float:
    """How far a week's test days are from even spacing, counting the gap into next week.

    Two tests 3 or 4 days apart cost 0.5 (0.25 for a preferred pair such as Mon+Thu), 2 or 5 days
    apart 4.5, 1 or 6 days apart 12.5. Lower is better.
    """
    n = len(days)
    if n <= 1:
        return 0.0
    ideal = 7 / n
    cost = sum((b - a - ideal) ** 2 for a, b in pairwise(days))
    cost += (days[0] + 7 - days[-1] - ideal) ** 2
    if n == 2 and days in preferred:
        cost -= 0.25
    return round(cost, 6)


def preferred_pairs(policy: Policy) -> frozenset[tuple[int, int]]:
    out = set()
    for a, b in policy.testing.preferred_day_pairs:
        i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
        out.add((min(i, j), max(i, j)))
    return frozenset(out)


def gap_ok(days: Sequence[int], gap: int) -> bool:
    ordered = sorted(days)
    return all(b - a >= gap for a, b in pairwise(ordered))


@lru_cache(maxsize=4096)
def patterns(
    tests: int,
    days: int,
    taken: tuple[int, ...],
    gap: int,
    preferred: frozenset[tuple[int, int]],
    focus: int = 0,
) -> tuple[tuple[float, bool, tuple[int, ...]], ...]:
    """Every choice of ``tests`` days out of the ``days`` mask that keeps ``gap`` between
    themselves and the ``taken`` days, as ``(tier, preferred pair, days)``, best first.

    The tier is the spacing cost, less 1000 for each ``focus`` day (a surge's days) the choice
    covers; choices of one tier are equally good, and the planner balances load across them,
    leaning toward the policy's preferred pairs.
    """
    if tests <= 0:
        return ()
    free = [d for d in range(7) if days >> d & 1 and all(abs(d - t) >= gap for t in taken)]
    out = []
    for combo in combinations(free, tests):
        if gap_ok(combo, gap):
            all_days = tuple(sorted(taken + combo))
            is_preferred = len(all_days) == 2 and all_days in preferred
            cost = pattern_cost(all_days, frozenset())
            cost -= 1000 * sum(1 for d in combo if focus >> d & 1)
            out.append((cost, not is_preferred, combo))
    out.sort()
    return tuple((cost, not later, combo) for cost, later, combo in out)

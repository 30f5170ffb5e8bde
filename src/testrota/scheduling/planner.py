"""The weekly planner: people, slots, last week's plan and the policy in; appointments out.

Pure: no database, no clock, no files. The same input gives the same plan.

Hard rules, never broken: no slot over capacity; nobody gets more than their tests; every test is
in a slot that has not started, at a site that serves the person, inside their shift's hours, on a
day they are not exempt, at least the minimum gap away from their other tests; a grid unit kept
apart (static mode, ``PlanPerson.apart``) never shares a slot the planner gives it with another
grid unit, in any phase (its people go without a test rather, and the report says why); a person
living on site in onsite mode (``PlanPerson.onsite``) is booked at on-site sites only.

Soft goals, in this order:

1. a grid unit is tested together, in consecutive slots, one unit per slot while capacity allows;
2. stability: a person keeps last week's weekdays, times and site when still feasible;
3. even spacing: days 3 or 4 apart (the policy's preferred pairs first);
4. load spread evenly across days and sites.

How: (A) everyone first keeps the slots they had (this week's plan on a re-plan, else last week's
weekday, time and site) where the hard rules allow. (B) The rest, grouped into blocks of one unit
with the same constraints, biggest units first, go to slots no other unit holds: next to their
unit's slots if it has any, else at the site and day pattern with the best spacing and then the
lowest load, all members on the same days and, where possible, the same times. (C) Whoever is left
fills the remaining seats, mixing units only now. (D) Whoever still cannot get all their tests
gets as many as fit, and the report says why the rest could not be placed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import combinations, groupby, pairwise
from typing import Any

from testrota.policy import Policy
from testrota.scheduling.model import (
    NO_CAPACITY,
    NO_ONSITE_SITE,
    NO_SLOT_IN_SHIFT,
    NO_SLOT_OF_OWN,
    NO_VALID_SITE,
    NOT_ENOUGH_DAYS,
    Assignment,
    CurrentAppointment,
    FixedAppointment,
    PlanPerson,
    PlanResult,
    PlanSlot,
    PreviousAppointment,
    SiteScope,
    Unscheduled,
)
from testrota.scheduling.rules import (
    ALL_DAYS,
    UNRESTRICTED,
    WeekRule,
    in_shift,
    pattern_cost,
    patterns,
    preferred_pairs,
    shift_coverage,
    shift_key,
    surge_applies,
    surge_rules_for_week,
    week_rule,
)

_Counter = tuple[str, int, str]  # (site, day, shift key)
PREFERRED_LEAD = 0.1


class _Who:
    """The planner's working state for one person (a plain class: 100,000 are made a run)."""

    __slots__ = (
        "fixed",
        "id",
        "kept",
        "key",
        "need",
        "person",
        "rule",
        "seats",
        "sites",
        "taken",
        "unit",
    )

    def __init__(
        self,
        person: PlanPerson,
        rule: WeekRule,
        key: str,
        sites: tuple[str, ...],
        need: int,
        taken: list[int] | None = None,
        fixed: list[int] | None = None,
    ) -> None:
        self.person = person
        self.id = person.id
        self.unit = person.unit
        self.rule = rule
        self.key = key
        self.sites = sites
        self.need = need  # tests still to place
        self.taken: list[int] = taken if taken is not None else []  # days with a counted test
        self.seats: list[int] = []  # slot positions given this run
        self.kept = 0
        self.fixed: list[int] = fixed if fixed is not None else []  # counted days, immovable


class _Board:
    """Slots and their occupancy, with the counters the block search reads in O(1)."""

    def __init__(
        self,
        slots: Sequence[PlanSlot],
        now: datetime,
        keys: Iterable[str],
        coverage: Mapping[str, list[tuple[int, int]]],
        alone: Iterable[str] = (),
    ) -> None:
        self.slots = list(slots)
        # grid units that must have every slot they use to themselves (static mode)
        self.alone = frozenset(alone)
        n = len(self.slots)
        self.pos = {s.id: i for i, s in enumerate(self.slots)}
        self.usable = [s.starts_at > now for s in self.slots]
        self.free = [s.capacity for s in self.slots]
        self.owner: list[str | None] = [None] * n
        self.units: list[dict[str, int] | None] = [None] * n
        self.at = {(s.site_code, s.day, s.minute): i for i, s in enumerate(self.slots)}
        self.site_day = [(s.site_code, s.day) for s in self.slots]
        self.day_cap: Counter[tuple[str, int]] = Counter()
        self.day_used: Counter[tuple[str, int]] = Counter()
        for s in self.slots:
            self.day_cap[(s.site_code, s.day)] += s.capacity
        self.keys = sorted(set(keys))
        self.lists: dict[_Counter, list[int]] = defaultdict(list)
        self.minutes: dict[_Counter, list[int]] = {}
        self.counters: list[list[_Counter]] = [[] for _ in range(n)]
        self.keys_ok: list[set[str]] = [set() for _ in range(n)]  # shift keys a slot suits
        allow_cache: dict[tuple[str, int, int], bool] = {}
        for i, s in enumerate(self.slots):
            if not self.usable[i]:
                continue
            for k in self.keys:
                ck = (k, s.minute, s.length)
                ok = allow_cache.get(ck)
                if ok is None:
                    ok = allow_cache[ck] = in_shift(coverage.get(k), s.minute, s.length)
                if ok:
                    c = (s.site_code, s.day, k)
                    self.lists[c].append(i)
                    self.counters[i].append(c)
                    self.keys_ok[i].add(k)
        for c, idx in self.lists.items():
            idx.sort(key=lambda i: self.slots[i].starts_at)
            self.minutes[c] = [self.slots[i].minute for i in idx]
        self.unowned: Counter[_Counter] = Counter()
        self.open: Counter[_Counter] = Counter()
        for c, idx in self.lists.items():
            total = sum(self.free[i] for i in idx)
            self.unowned[c] = total
            self.open[c] = total
        self.ptr: dict[_Counter, int] = defaultdict(int)
        # unit -> (site, day) -> slot positions the unit holds
        self.unit_slots: dict[str, dict[tuple[str, int], list[int]]] = defaultdict(dict)

    def occupy(self, i: int, unit: str, seats: int = 1) -> None:
        """Take ``seats`` seats of slot ``i`` for ``unit`` (capacity already checked)."""
        before = self.free[i]
        self.free[i] = before - seats
        site_day = self.site_day[i]
        self.day_used[site_day] += seats
        units = self.units[i]
        if units is None:
            units = self.units[i] = {}
        held = units.get(unit)
        if held is None:
            units[unit] = seats
            self.unit_slots[unit].setdefault(site_day, []).append(i)
        else:
            units[unit] = held + seats
        if not self.usable[i]:
            return
        counters = self.counters[i]
        open_ = self.open
        for c in counters:
            open_[c] -= seats
        if self.owner[i] is None:
            self.owner[i] = unit
            unowned = self.unowned
            for c in counters:
                unowned[c] -= before

    def may_join(self, i: int, unit: str) -> bool:
        """Whether ``unit`` may take a seat in slot ``i`` without mixing a kept-apart unit: a
        unit kept apart only joins its own slots or empty ones, and no unit joins its slots."""
        if not self.alone:
            return True
        there = set(self.units[i] or ())
        owner = self.owner[i]
        if owner is not None:
            there.add(owner)
        if unit in self.alone:
            return there <= {unit}
        return not there & self.alone

    def own_free(self, unit: str, site: str, day: int, key: str) -> int:
        held = self.unit_slots.get(unit, {}).get((site, day))
        if not held:
            return 0
        c = (site, day, key)
        return sum(self.free[i] for i in held if self.owner[i] == unit and c in self.counters[i])

    def load(self, site: str, days: Iterable[int]) -> float:
        total = 0.0
        for d in days:
            cap = self.day_cap[(site, d)]
            total += self.day_used[(site, d)] / cap if cap else 1.0
        return total

    def exclusive_seats(
        self, unit: str, site: str, day: int, key: str, want: int, align: int | None
    ) -> list[int]:
        """``want`` seats on one site and day in slots no other unit holds, as slot positions
        (a position repeats once per seat): the unit's own slots first, then free slots right
        after them, else from ``align`` (a local minute), else from the earliest free slot."""
        c = (site, day, key)
        out: list[int] = []
        held = self.unit_slots.get(unit, {}).get((site, day), [])
        for i in sorted(held, key=lambda i: self.slots[i].starts_at):
            if (
                self.owner[i] == unit
                and c in self.counters[i]
                and self.free[i] > 0
                and self.may_join(i, unit)
            ):
                take = min(self.free[i], want - len(out))
                out.extend([i] * take)
                if len(out) >= want:
                    return out
        idx = self.lists.get(c, [])
        if not idx:
            return out
        if held:
            last = max(held, key=lambda i: self.slots[i].starts_at)
            start = bisect_left(self.minutes[c], self.slots[last].minute)
        elif align is not None:
            start = bisect_left(self.minutes[c], align)
        else:
            p = self.ptr[c]
            while p < len(idx) and self.owner[idx[p]] is not None:
                p += 1
            self.ptr[c] = p
            start = p
        for j in list(range(start, len(idx))) + list(range(0, start)):
            i = idx[j]
            if self.owner[i] is None and self.free[i] > 0:
                take = min(self.free[i], want - len(out))
                out.extend([i] * take)
                # The slot is ours from its first seat, so later blocks of other units skip it.
                self.owner[i] = unit
                for cc in self.counters[i]:
                    self.unowned[cc] -= self.free[i]
                if len(out) >= want:
                    break
        return out

    def any_seats(self, unit: str, site: str, day: int, key: str, want: int) -> list[int]:
        """``want`` seats anywhere on one site and day: the unit's slots, then slots nobody
        holds, then (mixing units) the emptiest others."""
        c = (site, day, key)
        out = self.exclusive_seats(unit, site, day, key, want, None)
        if len(out) >= want:
            return out
        idx = self.lists.get(c, [])
        rest = sorted(
            (
                i
                for i in idx
                if self.free[i] > 0 and self.owner[i] != unit and self.may_join(i, unit)
            ),
            key=lambda i: (-self.free[i], self.slots[i].starts_at),
        )
        for i in rest:
            already = out.count(i)
            take = min(self.free[i] - already, want - len(out))
            if take > 0:
                out.extend([i] * take)
            if len(out) >= want:
                break
        return out


def _earliest_seat(
    board: _Board,
    unit: str,
    sites: Sequence[str],
    key: str,
    days: int,
    taken: Sequence[int],
    gap: int,
) -> int | None:
    """The earliest free seat on the earliest day that keeps the gap; on that day a slot that
    already holds the person's unit is preferred, so a latecomer joins their unit."""
    for d in range(7):
        if not days >> d & 1 or any(abs(d - t) < gap for t in taken):
            continue
        earliest: int | None = None
        for site in sites:
            c = (site, d, key)
            if board.open[c] <= 0:
                continue
            held = board.unit_slots.get(unit, {}).get((site, d), ())
            for i in sorted(held, key=lambda i: board.slots[i].starts_at):
                if board.free[i] > 0 and c in board.counters[i] and board.may_join(i, unit):
                    return i
            first = next(
                (i for i in board.lists[c] if board.free[i] > 0 and board.may_join(i, unit)),
                None,
            )
            if first is not None and (
                earliest is None or board.slots[first].starts_at < board.slots[earliest].starts_at
            ):
                earliest = first
        if earliest is not None:
            return earliest
    return None


def _newcomer_seats(board: _Board, w: _Who, days: int, gap: int) -> list[int]:
    """Seats for someone joining a week already planned: on as many of ``w.need`` days as fit
    (keeping the gap to each other and to ``w.taken``), each day's slot being the earliest one
    already holding their grid unit with room, else the earliest free one. A surge's days (a
    static spell's: ``w.rule.focus``) come first, then days with such a slot of their own, then
    the earliest days: a newcomer is tested on the days a mode asks for, joins their grid unit
    before any other slot, and is tested as soon as that allows."""
    per_day: dict[int, tuple[int | None, int | None]] = {}
    for d in range(7):
        if not days >> d & 1 or any(abs(d - t) < gap for t in w.taken):
            continue
        own: int | None = None
        other: int | None = None
        for site in w.sites:
            c = (site, d, w.key)
            if board.open[c] <= 0:
                continue
            for i in board.unit_slots.get(w.unit, {}).get((site, d), ()):
                if (
                    board.free[i] > 0
                    and c in board.counters[i]
                    and board.may_join(i, w.unit)
                    and (own is None or board.slots[i].starts_at < board.slots[own].starts_at)
                ):
                    own = i
            first = next(
                (i for i in board.lists[c] if board.free[i] > 0 and board.may_join(i, w.unit)),
                None,
            )
            if first is not None and (
                other is None or board.slots[first].starts_at < board.slots[other].starts_at
            ):
                other = first
        if own is not None or other is not None:
            per_day[d] = (own, other)
    for n in range(min(w.need, len(per_day)), 0, -1):
        best: tuple[int, int, tuple[int, ...]] | None = None
        for combo in combinations(sorted(per_day), n):
            if not all(b - a >= gap for a, b in pairwise(combo)):
                continue
            score = (
                -sum(1 for d in combo if w.rule.focus >> d & 1),
                -sum(1 for d in combo if per_day[d][0] is not None),
                combo,
            )
            if best is None or score < best:
                best = score
        if best is not None:
            out = []
            for d in best[2]:
                own, other = per_day[d]
                chosen = own if own is not None else other
                assert chosen is not None
                out.append(chosen)
            return out
    return []


def _choose_anchors(
    cands: list[int], board: _Board, who: _Who, preferred: frozenset[tuple[int, int]]
) -> list[int]:
    """Which of a person's remembered slots to keep: all that fit the rules, or, when they
    remember more than they need (a surge has ended), the best-spaced subset."""
    gap = who.rule.gap
    slots = board.slots
    if len(cands) == 1 and not who.taken:
        return cands
    if len(cands) == 2 and not who.taken and who.need >= 2:
        return cands if abs(slots[cands[0]].day - slots[cands[1]].day) >= gap else cands[:1]
    days = [slots[i].day for i in cands]
    if len(cands) <= who.need:
        chosen: list[int] = []
        used = list(who.taken)
        for i, d in zip(cands, days, strict=True):
            if all(abs(d - t) >= gap for t in used):
                chosen.append(i)
                used.append(d)
        return chosen
    best: tuple[float, tuple[int, ...]] | None = None
    for combo in combinations(range(len(cands)), who.need):
        picked = [days[j] for j in combo]
        all_days = sorted([*who.taken, *picked])
        if any(b - a < gap for a, b in pairwise(all_days)):
            continue
        cost = pattern_cost(tuple(all_days), preferred)
        if best is None or cost < best[0]:
            best = (cost, combo)
    return [cands[j] for j in best[1]] if best else []


def plan_week(
    people: Sequence[PlanPerson],
    slots: Sequence[PlanSlot],
    previous: Sequence[PreviousAppointment],
    policy: Policy,
    now: datetime,
    *,
    week_start: date,
    sites: Sequence[SiteScope] | None = None,
    fixed: Sequence[FixedAppointment] = (),
    current: Sequence[CurrentAppointment] = (),
    earliest_for_newcomers: bool = False,
) -> PlanResult:
    """Plan one ISO week.

    ``people``: who to plan; ``slots``: the week's slots of every site (``id`` unique);
    ``previous``: last week's appointments (weekday, local time, site), for stability;
    ``policy``: tests, gap, preferred pairs, shifts, surge rules; ``now``: slots that have started
    are not used; ``week_start``: the Monday; ``sites``: whom each site serves (default: every site
    of ``slots`` serves everyone); ``fixed``: this week's appointments that cannot move (they take
    capacity and count toward tests); ``current``: this week's movable appointments, kept where
    the rules allow so a re-plan changes as little as possible; ``earliest_for_newcomers``: on a
    re-plan during the week, people with no appointment this week yet (added mid-week) get the
    earliest feasible slots left instead of the best-spaced ones.

    Returns the new assignments (kept ones included), the tests that could not be placed with the
    reason, and the report (see :func:`_report`).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    preferred = preferred_pairs(policy)
    surges = surge_rules_for_week(policy, week_start)
    site_list = (
        list(sites)
        if sites is not None
        else [SiteScope(code) for code in dict.fromkeys(s.site_code for s in slots)]
    )
    whos = _working_people(people, site_list, policy, week_start, surges)
    board = _Board(
        slots,
        now,
        {w.key for w in whos} or {UNRESTRICTED},
        shift_coverage(policy),
        alone={p.unit for p in people if p.apart},
    )
    fixed_seats = _seat_fixed(board, whos, fixed)

    unit_size: Counter[str] = Counter(w.unit for w in whos)
    # Units kept apart first: they can use only slots of their own, the others can mix.
    unit_rank = {
        u: r
        for r, (u, _) in enumerate(
            sorted(
                unit_size.items(), key=lambda item: (item[0] not in board.alone, *_unit_order(item))
            )
        )
    }
    # whos is in employee_no order already and the sort is stable.
    ordered = sorted(whos, key=lambda w: unit_rank[w.unit])

    cur: dict[int, list[int]] = defaultdict(list)
    for c in current:
        i = board.pos.get(c.slot_id)
        if i is not None:
            cur[c.person_id].append(i)
    prev: dict[int, list[PreviousAppointment]] = defaultdict(list)
    for a in previous:
        prev[a.person_id].append(a)
    _keep_remembered(board, ordered, cur, prev, preferred)
    if earliest_for_newcomers:
        _seat_newcomers(board, ordered, {f.person_id for f in fixed} | set(cur))
    _place_blocks(board, ordered, unit_rank, preferred)
    return _result(
        board, whos, ordered, prev, cur, fixed_seats, surges, policy, week_start, preferred
    )


def _working_people(
    people: Sequence[PlanPerson],
    site_list: Sequence[SiteScope],
    policy: Policy,
    week_start: date,
    surges: Sequence[tuple[Any, int]],
) -> list[_Who]:
    """Each person's rule for the week, shift key and the sites that serve them, in
    employee-number order (rules, keys and sites are shared by everyone alike)."""
    serve_cache: dict[tuple[str, str, bool], tuple[str, ...]] = {}
    rule_cache: dict[tuple[Any, ...], WeekRule] = {}
    key_cache: dict[str, str] = {}
    whos: list[_Who] = []
    for p in sorted(people, key=lambda p: (p.employee_no, p.id)):
        unit = p.unit
        sk = (p.department, unit, p.onsite)
        served = serve_cache.get(sk)
        if served is None:
            served = serve_cache[sk] = _served(site_list, p)
        rk = (p.tests_required, p.department, unit, p.category, p.exemptions)
        rule = rule_cache.get(rk)
        if rule is None:
            rule = rule_cache[rk] = week_rule(p, week_start, policy, surges)
        skey = key_cache.get(p.shift)
        if skey is None:
            skey = key_cache[p.shift] = shift_key(p.shift, policy)
        whos.append(_Who(p, rule, skey, served, rule.tests))
    return whos


def _served(site_list: Sequence[SiteScope], p: PlanPerson) -> tuple[str, ...]:
    """The sites that may book ``p``: those serving their department or grid unit, and only
    the on-site ones for someone living on site in onsite mode."""
    return tuple(
        s.code for s in site_list if s.serves(p.department, p.unit) and (s.onsite or not p.onsite)
    )


def _seat_fixed(
    board: _Board, whos: Sequence[_Who], fixed: Sequence[FixedAppointment]
) -> dict[int, list[int]]:
    """Fixed appointments take their seats and count toward their person's tests; returns the
    counted seats by person."""
    by_id = {w.id: w for w in whos}
    fixed_seats: dict[int, list[int]] = defaultdict(list)
    for f in fixed:
        owner = by_id.get(f.person_id)
        i = board.pos.get(f.slot_id) if f.slot_id is not None else None
        if i is not None:
            board.occupy(i, owner.unit if owner else f.unit or f"#{f.person_id}")
            if f.counts:
                fixed_seats[f.person_id].append(i)
        if owner is not None and f.counts:
            owner.taken.append(f.day)
            owner.fixed.append(f.day)
            owner.need = max(0, owner.need - 1)
    return fixed_seats


def _keep_remembered(
    board: _Board,
    ordered: Sequence[_Who],
    cur: Mapping[int, list[int]],
    prev: Mapping[int, list[PreviousAppointment]],
    preferred: frozenset[tuple[int, int]],
) -> None:
    """(A) Everyone keeps the slots they had (this week's plan on a re-plan, else last week's
    weekday, time and site) where the hard rules allow."""
    sites_sets: dict[tuple[str, ...], set[str]] = {}
    at, usable, free, keys_ok, bslots = (
        board.at,
        board.usable,
        board.free,
        board.keys_ok,
        board.slots,
    )
    for w in ordered:
        if w.need <= 0 or not w.sites:
            continue
        pid = w.id
        if pid in cur:
            cands = cur[pid]
        elif pid in prev:
            cands = [
                i
                for a in sorted(prev[pid])
                if (i := at.get((a.site_code, a.weekday, a.minute))) is not None
            ]
        else:
            continue
        sites_ok = sites_sets.get(w.sites)
        if sites_ok is None:
            sites_ok = sites_sets[w.sites] = set(w.sites)
        days, wkey = w.rule.days, w.key
        ok = []
        for i in cands:
            s = bslots[i]
            if (
                usable[i]
                and free[i] > 0
                and s.site_code in sites_ok
                and days >> s.day & 1
                and wkey in keys_ok[i]
                and i not in ok
                and board.may_join(i, w.unit)
            ):
                ok.append(i)
        for i in _choose_anchors(ok, board, w, preferred):
            board.occupy(i, w.unit)
            w.seats.append(i)
            w.taken.append(bslots[i].day)
            w.need -= 1
            w.kept += 1


def _seat_newcomers(board: _Board, ordered: Sequence[_Who], booked_before: set[int]) -> None:
    """Mid-week newcomers (nobody booked this week before) get the earliest feasible slots
    left."""
    for w in ordered:
        if w.need <= 0 or not w.sites or w.id in booked_before:
            continue
        for i in _newcomer_seats(board, w, w.rule.days, w.rule.gap):
            board.occupy(i, w.unit)
            w.seats.append(i)
            w.taken.append(board.slots[i].day)
            w.need -= 1


def _place_blocks(
    board: _Board,
    ordered: Sequence[_Who],
    unit_rank: Mapping[str, int],
    preferred: frozenset[tuple[int, int]],
) -> None:
    """(B) Blocks of one unit with the same constraints, biggest units first, in slots of their
    own; (C) whoever is left mixes units in the remaining seats; (D) whoever still cannot get
    all their tests gets as many as fit."""
    blocks: dict[tuple[Any, ...], list[_Who]] = defaultdict(list)
    for w in ordered:
        if w.need > 0 and w.sites:
            taken = tuple(sorted(w.taken)) if w.taken else ()
            blocks[
                (w.unit, w.key, w.sites, w.need, w.rule.days, taken, w.rule.gap, w.rule.focus)
            ].append(w)
    block_list = sorted(
        blocks.items(), key=lambda kv: (unit_rank[kv[0][0]], -len(kv[1]), repr(kv[0][1:]))
    )
    leftovers: list[tuple[tuple[Any, ...], list[_Who]]] = []
    for key, members in block_list:
        rest = _place_block(board, key, members, preferred, exclusive=True)
        if rest:
            leftovers.append((key, rest))
    for key, members in leftovers:
        rest = _place_block(board, key, members, preferred, exclusive=False)
        unit, k, sites_t, need, days, taken, gap, focus = key
        for fewer in range(need - 1, 0, -1):
            if not rest:
                break
            rest = _place_block(
                board,
                (unit, k, sites_t, fewer, days, taken, gap, focus),
                rest,
                preferred,
                exclusive=False,
            )


def _result(
    board: _Board,
    whos: Sequence[_Who],
    ordered: Sequence[_Who],
    prev: Mapping[int, list[PreviousAppointment]],
    cur: Mapping[int, list[int]],
    fixed_seats: Mapping[int, list[int]],
    surges: Sequence[tuple[Any, int]],
    policy: Policy,
    week_start: date,
    preferred: frozenset[tuple[int, int]],
) -> PlanResult:
    slot_ids = [s.id for s in board.slots]
    assignments = [Assignment(w.id, slot_ids[i]) for w in ordered for i in w.seats]
    unscheduled = [
        Unscheduled(w.person.id, w.person.employee_no, _reason(board, w, preferred), w.need)
        for w in whos
        if w.need > 0
    ]
    report = _report(board, list(whos), prev, cur, fixed_seats, surges, policy, week_start)
    report["unscheduled"] = [
        {"employee_no": u.employee_no, "reason": u.reason, "missing": u.missing}
        for u in unscheduled
    ]
    return PlanResult(assignments, unscheduled, report)


def _unit_order(item: tuple[str, int]) -> tuple[int, str]:
    unit, size = item
    return (-size, unit)


def _place_block(
    board: _Board,
    key: tuple[Any, ...],
    members: list[_Who],
    preferred: frozenset[tuple[int, int]],
    *,
    exclusive: bool,
) -> list[_Who]:
    """Place as many of a block's members as fit, each on all ``need`` days of one pattern;
    returns those left with nothing placed."""
    unit, k, sites, need, days, taken, gap, focus = key
    pats = patterns(need, days, taken, gap, preferred, focus)
    if not pats:
        return members
    rest = list(members)
    while rest:
        home = board.unit_slots.get(unit)
        best = _best_candidate(board, unit, k, sites, pats, len(rest), home, exclusive, focus)
        if best is None:
            break
        site, combo, room = best
        group, rest = rest[:room], rest[room:]
        got: Counter[int] = Counter()
        align: int | None = None
        for d in combo:
            if exclusive:
                seats = board.exclusive_seats(unit, site, d, k, len(group), align)
            else:
                seats = board.any_seats(unit, site, d, k, len(group))
            if align is None and seats:
                align = board.slots[seats[0]].minute
            for i, same in groupby(seats):
                board.occupy(i, unit, sum(1 for _ in same))
            for w, i in zip(group, seats, strict=False):
                w.seats.append(i)
                w.taken.append(d)
                w.need -= 1
                got[w.id] += 1
        if not got:
            rest = group + rest
            break
        # The counters are exact, so everyone should have a seat on every day; if not, those
        # without any try again and those with some look for the days they lack on their own.
        rest = [w for w in group if not got[w.id]] + rest
        for w in group:
            if 0 < got[w.id] < need:
                sub = (unit, k, sites, need - got[w.id], days, tuple(sorted(w.taken)), gap, focus)
                _place_block(board, sub, [w], preferred, exclusive=exclusive)
    return rest


def _best_candidate(
    board: _Board,
    unit: str,
    key: str,
    sites: tuple[str, ...],
    pats: tuple[tuple[float, bool, tuple[int, ...]], ...],
    want: int,
    home: dict[tuple[str, int], list[int]] | None,
    exclusive: bool,
    focus: int = 0,
) -> tuple[str, tuple[int, ...], int] | None:
    """The (site, days) to use next and how many members fit there.

    The unit's own site and days come first (after a surge's ``focus`` days: a static spell's
    daily tests go on its days, not on days the grid unit happens to test); then the cheapest
    spacing tier in which some site fits the whole group, choosing the least-loaded site and
    days in that tier; when no candidate fits the whole group, the one that fits the most.
    """
    room_cache: dict[tuple[str, int], int] = {}

    def room(site: str, d: int) -> int:
        r = room_cache.get((site, d))
        if r is None:
            c = (site, d, key)
            if exclusive:
                r = board.unowned[c] + (board.own_free(unit, site, d, key) if home else 0)
            else:
                r = board.open[c]
            room_cache[(site, d)] = r
        return r

    if home:
        home_days: Counter[str] = Counter()
        for (site, _d), idx in home.items():
            home_days[site] += len(idx)
        best_home: tuple[Any, ...] | None = None
        for site in sites:
            if site not in home_days:
                continue
            for cost, pref, combo in pats:
                score = sum(1 for d in combo if (site, d) in home)
                if not score:
                    continue
                r = min(room(site, d) for d in combo)
                if r >= want:
                    on_focus = sum(1 for d in combo if focus >> d & 1)
                    hc = (-on_focus, -score, cost, not pref, -home_days[site], site, combo)
                    if best_home is None or hc < best_home:
                        best_home = hc
        if best_home is not None:
            return best_home[5], best_home[6], want
    partial: tuple[Any, ...] | None = None
    tier_cost = None
    tier_best: tuple[Any, ...] | None = None
    for cost, pref, combo in pats:
        if tier_cost is not None and cost != tier_cost and tier_best is not None:
            break
        tier_cost = cost
        for site in sites:
            r = min(room(site, d) for d in combo)
            if r <= 0:
                continue
            if r >= want:
                # Within a spacing tier the least-loaded site and days win; a preferred pair
                # (Mon+Thu ...) wins until its days are PREFERRED_LEAD fuller than the others.
                cand = (board.load(site, combo) - (PREFERRED_LEAD if pref else 0.0), site, combo)
                if tier_best is None or cand < tier_best:
                    tier_best = cand
            else:
                pc = (-r, cost, board.load(site, combo), site, combo)
                if partial is None or pc < partial:
                    partial = pc
    if tier_best is not None:
        return tier_best[1], tier_best[2], want
    if partial is not None:
        return partial[3], partial[4], -partial[0]
    return None


def _reason(board: _Board, w: _Who, preferred: frozenset[tuple[int, int]]) -> str:
    """Why a person lacks tests, judged as if the slots were empty: no site, no slot in their
    hours, too few days for the gap; else the slots were full."""
    if not w.sites:
        return NO_ONSITE_SITE if w.person.onsite else NO_VALID_SITE
    fixed = sorted(w.fixed)
    days_with_slots = 0
    for d in range(7):
        if (
            w.rule.days >> d & 1
            and d not in fixed
            and any(board.lists.get((s, d, w.key)) for s in w.sites)
        ):
            days_with_slots |= 1 << d
    if not days_with_slots:
        return NO_SLOT_IN_SHIFT
    wanted = w.need + len(w.seats)
    if not patterns(wanted, days_with_slots, tuple(fixed), w.rule.gap, preferred):
        return NOT_ENOUGH_DAYS
    return NO_SLOT_OF_OWN if w.unit in board.alone else NO_CAPACITY


def _report(
    board: _Board,
    whos: list[_Who],
    prev: Mapping[int, list[PreviousAppointment]],
    cur: Mapping[int, list[int]],
    fixed_seats: Mapping[int, list[int]],
    surges: Sequence[tuple[Any, int]],
    policy: Policy,
    week_start: date,
) -> dict[str, Any]:
    """The figures a planner is judged by: tests required and scheduled, utilisation per site
    and day, the share of booked slots holding a single grid unit, the share of people whose
    weekdays, times and sites did not move since last week, and the share of people whose tests
    are 3 or 4 days apart."""
    required = sum(w.rule.tests for w in whos)
    scheduled = sum(w.rule.tests - w.need for w in whos)
    booked = [i for i, u in enumerate(board.units) if u]
    single = sum(1 for i in booked if len(board.units[i] or ()) == 1)
    util: dict[tuple[str, int], list[int]] = {}
    for i, s in enumerate(board.slots):
        entry = util.setdefault((s.site_code, s.day), [0, 0])
        entry[0] += s.capacity
        entry[1] += s.capacity - board.free[i]
    utilisation = [
        {
            "site": site,
            "date": (week_start + timedelta(days=day)).isoformat(),
            "capacity": cap,
            "booked": used,
            "share": round(used / cap, 4) if cap else 0.0,
        }
        for (site, day), (cap, used) in sorted(util.items())
    ]
    compared = unchanged = 0
    cur_compared = cur_kept = 0
    spaced = two = 0
    slots = board.slots
    for w in whos:
        pid = w.id
        fixed_here = fixed_seats.get(pid)
        mine = (
            [slots[i] for i in (*fixed_here, *w.seats)]
            if fixed_here
            else [slots[i] for i in w.seats]
        )
        if pid in prev and w.rule.tests:
            compared += 1
            remembered = prev[pid]
            if pid not in cur and not fixed_here and w.kept == len(remembered) == len(mine):
                unchanged += 1  # every seat is one of last week's, kept as it was
            else:
                then = sorted((a.weekday, a.minute, a.site_code) for a in remembered)
                now_ = sorted((s.day, s.minute, s.site_code) for s in mine)
                unchanged += then == now_
        if pid in cur:
            cur_compared += 1
            cur_kept += w.kept == len(cur[pid]) and not w.need
        if len(mine) == 2:
            gap = abs(mine[0].day - mine[1].day)
            if gap:
                two += 1
                spaced += gap in (3, 4)
    surge_rows = []
    for rule, mask in surges:
        # everyone whose rate the rule raises on one of its days: a static spell's rules (one
        # a day) each count the spell's people, not only the last day's rule
        n = sum(
            1
            for w in whos
            if rule.tests_per_week > min(max(w.person.tests_required, 0), 7)
            and surge_applies(rule, w.person)
            and mask & w.rule.days
        )
        surge_rows.append(
            {
                "name": rule.name,
                "start": rule.start.isoformat(),
                "end": rule.end.isoformat(),
                "tests_per_week": rule.tests_per_week,
                "days_this_week": mask.bit_count(),
                "people": n,
            }
        )
    unknown_shifts = Counter(w.person.shift for w in whos if w.key == UNRESTRICTED)
    warnings = [
        f"{n} people have shift {shift!r}, which policy.yaml does not define: "
        "they were planned in any opening hour"
        for shift, n in sorted(unknown_shifts.items())
    ]
    apart = _kept_apart(board, whos)
    warnings += [
        f"grid unit {u['grid_unit']} (static mode): {u['missing']} tests of {u['people']} people "
        "could not be placed in slots of its own; it was not mixed with other grid units"
        for u in apart["not_placed"]
    ]
    return {
        "required": required,
        "scheduled": scheduled,
        "people": len(whos),
        "people_fully_scheduled": sum(1 for w in whos if w.need == 0),
        "single_unit_slot_share": _share(single, len(booked)),
        "booked_slots": len(booked),
        "unchanged_share": _share(unchanged, compared),
        "unchanged_people": unchanged,
        "compared_people": compared,
        "kept_share": _share(cur_kept, cur_compared),
        "kept_compared_people": cur_compared,
        "spaced_3_4_share": _share(spaced, two),
        "exempt_people": sum(1 for w in whos if w.rule.days != ALL_DAYS),
        "excused_tests": sum(w.rule.base_tests - w.rule.tests for w in whos),
        "surge": surge_rows,
        "kept_apart": apart,
        "utilisation": utilisation,
        "warnings": warnings,
    }


def _kept_apart(board: _Board, whos: Sequence[_Who]) -> dict[str, Any]:
    """The grid units kept apart (static mode): how many, and those whose tests did not all
    fit in slots of their own, with the people short and why."""
    short: dict[str, list[_Who]] = defaultdict(list)
    for w in whos:
        if w.unit in board.alone and w.need > 0:
            short[w.unit].append(w)
    not_placed = []
    for unit, members in sorted(short.items()):
        reasons = Counter(_reason(board, w, frozenset()) for w in members)
        not_placed.append(
            {
                "grid_unit": unit,
                "people": len(members),
                "missing": sum(w.need for w in members),
                "reason": reasons.most_common(1)[0][0],
                "employee_nos": sorted(w.person.employee_no for w in members),
            }
        )
    return {"grid_units": len(board.alone), "not_placed": not_placed}


def _share(part: int, whole: int) -> float | None:
    """A share rounded to 0.01 %; None when there is nothing to compare (not 100 %)."""
    return round(part / whole, 4) if whole else None


# ------------------------------------------------------------------------------------------------
# Mid-week: the earliest feasible slots left


def plan_earliest(
    people: Sequence[PlanPerson],
    slots: Sequence[PlanSlot],
    policy: Policy,
    now: datetime,
    *,
    week_start: date,
    sites: Sequence[SiteScope] | None = None,
    occupancy: Mapping[int, Mapping[str, int]] | None = None,
    existing: Sequence[FixedAppointment] = (),
    earliest: date | None = None,
    extra: bool = False,
    alone: Iterable[str] = (),
) -> PlanResult:
    """Slots left in the week for people who need them now.

    For someone added mid-week (``extra`` False): the week's remaining tests (after the counted
    ``existing`` appointments) in slots that keep the hard rules and the minimum gap, slots
    already holding their grid unit (with room) before any other, else the earliest
    (:func:`_newcomer_seats`). For a positive case's contact (``extra`` True): one extra test,
    the earliest from ``earliest`` on, whatever the weekly count and gap, unless they already
    have an appointment on the ``earliest`` day; on that day a slot already holding the
    person's grid unit is preferred over an earlier one.

    ``occupancy`` gives, per slot id, the seats already taken per grid unit; ``alone`` the
    grid units kept apart this week (static mode) besides those of ``people`` marked ``apart``:
    nobody else joins their slots, and they join only their own or empty ones.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    coverage = shift_coverage(policy)
    surges = surge_rules_for_week(policy, week_start)
    preferred = preferred_pairs(policy)
    site_list = (
        list(sites)
        if sites is not None
        else [SiteScope(code) for code in dict.fromkeys(s.site_code for s in slots)]
    )
    keys = {shift_key(p.shift, policy) for p in people} or {UNRESTRICTED}
    board = _Board(slots, now, keys, coverage, alone={*alone, *(p.unit for p in people if p.apart)})
    for slot_id, units in (occupancy or {}).items():
        i = board.pos.get(slot_id)
        if i is None:
            continue
        for unit, seats in sorted(units.items()):
            board.occupy(i, unit, min(seats, max(board.free[i], 0)))
    first_day = max((earliest - week_start).days, 0) if earliest else 0
    from_first = ALL_DAYS & ~((1 << first_day) - 1)
    by_person: dict[int, list[FixedAppointment]] = defaultdict(list)
    for f in existing:
        by_person[f.person_id].append(f)
    assignments: list[Assignment] = []
    unscheduled: list[Unscheduled] = []
    already: list[str] = []
    for p in sorted(people, key=lambda p: (p.employee_no, p.id)):
        rule = week_rule(p, week_start, policy, surges)
        mine = by_person.get(p.id, [])
        served = _served(site_list, p)
        if extra:
            if any(f.day == first_day for f in mine):
                already.append(p.employee_no)  # tested that day anyway: no second visit
                continue
            need, gap, taken = 1, 1, [f.day for f in mine]
            days = rule.days & from_first & ~sum(1 << d for d in set(taken))
            taken = []
        else:
            taken = [f.day for f in mine if f.counts]
            need, gap, days = max(0, rule.tests - len(taken)), rule.gap, rule.days & from_first
        w = _Who(
            p,
            WeekRule(rule.tests, days, gap, None, 0 if extra else rule.focus & days, rule.tests),
            shift_key(p.shift, policy),
            served,
            need,
            list(taken),
            fixed=list(taken),
        )
        # A contact's one extra test is the earliest there is; a newcomer joins their unit.
        while extra and w.need > 0 and served:
            i = _earliest_seat(board, p.unit, served, w.key, days, w.taken, gap)
            if i is None:
                break
            board.occupy(i, p.unit)
            w.taken.append(board.slots[i].day)
            w.seats.append(i)
            w.need -= 1
            assignments.append(Assignment(p.id, board.slots[i].id))
        if not extra and served:
            for i in _newcomer_seats(board, w, days, gap):
                board.occupy(i, p.unit)
                w.taken.append(board.slots[i].day)
                w.seats.append(i)
                w.need -= 1
                assignments.append(Assignment(p.id, board.slots[i].id))
        if w.need > 0:
            probe = w
            unscheduled.append(
                Unscheduled(p.id, p.employee_no, _reason(board, probe, preferred), w.need)
            )
    report = {
        "added": len(assignments),
        "already_booked": already,
        "unscheduled": [
            {"employee_no": u.employee_no, "reason": u.reason, "missing": u.missing}
            for u in unscheduled
        ],
    }
    return PlanResult(assignments, unscheduled, report)

"""The daily report (日报), pure: one row per unit with its figures and its descendants'.

:func:`roll_up` takes plain rows (the units, the active people, the day's appointments and
samples, the confirmations) and adds each person's figures to their unit and every unit above
it: one pass over the people, one over the units deepest first. No clock, no database.

Definitions (issue 15):

- ``people``: active people in the unit, split into employees, co-residents and third-party.
- ``required`` (应检): people with an appointment that day that was not cancelled (excused
  ones included).
- ``tested`` (实检): of those, people with a sample that day at any site.
- ``untested`` (未检) = required - tested, split by the excuse's reason code of their
  appointment that day (the policy's list), ``none`` when nobody excused it.
- ``rate`` (检测率) = tested / required (None when nobody was due).
- ``extra``: people not due that day who gave a sample.
- ``positive``: people whose sample that day was positive.
- ``pooled``, ``single``, ``pool_positive``: samples taken in a pooled tube, alone, and people
  whose pool was positive: from :class:`TubeFigures` (zero until tubes are recorded).
- ``booster_share``: the share of people with a booster on the roster (None without people).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from testrota.statuses import AppointmentStatus, PersonType, ResultValue

NONE_GIVEN = "none"
COUNTS = (
    "people",
    "employees",
    "co_residents",
    "third_party",
    "required",
    "tested",
    "boosted",
    "extra",
    "positive",
    "pooled",
    "single",
    "pool_positive",
)
_TYPE_COUNT: dict[str, str] = {
    PersonType.EMPLOYEE: "employees",
    PersonType.CO_RESIDENT: "co_residents",
    PersonType.THIRD_PARTY: "third_party",
}
# Figures a confirmation keeps and compares: a late result changes one of these.
CONFIRMED_FIGURES = ("people", "required", "tested", "untested", "extra", "positive")


@dataclass(frozen=True, slots=True)
class UnitIn:
    id: int
    parent_id: int | None
    path: str
    name: str
    level: int
    kind: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class PersonIn:
    id: int
    unit_id: int | None
    person_type: str
    booster: bool | None


@dataclass(frozen=True, slots=True)
class AppointmentIn:
    person_id: int
    status: str
    excused_code: str | None


@dataclass(frozen=True, slots=True)
class SampleIn:
    person_id: int
    result: str


@dataclass(frozen=True, slots=True)
class TubeFigures:
    """The tubes' share of a day, per person: the seam for pooled sampling (another part of
    the group's work). ``pooled``/``single`` count samples; ``pool_positive`` people."""

    pooled: Mapping[int, int] = field(default_factory=dict)
    single: Mapping[int, int] = field(default_factory=dict)
    pool_positive: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class ConfirmationIn:
    unit_id: int
    confirmed_by: str
    confirmed_at: datetime
    note: str
    figures: Mapping[str, Any]


@dataclass
class DailyRow:
    """One unit's line of the daily report (the JSON of ``report daily``)."""

    path: str
    name: str
    level: int
    level_name: str
    kind: str
    code: str | None
    people: int
    employees: int
    co_residents: int
    third_party: int
    required: int
    tested: int
    untested: int
    untested_by_reason: dict[str, int]
    rate: float | None
    pooled: int
    single: int
    pool_positive: int
    positive: int
    booster_share: float | None
    extra: int
    confirmed: dict[str, Any] | None
    unit_id: int = 0
    parent_path: str | None = None
    # confirmed | confirmed_late | late (not confirmed, past the deadline) | waiting; None for
    # a grid unit or a unit without people, of which no confirmation is asked
    confirmation: str | None = None
    mode: str = "normal"  # the unit's emergency mode that day (testrota mode set)

    def figures(self) -> dict[str, int]:
        """What a confirmation keeps, to show a later change."""
        return {k: getattr(self, k) for k in CONFIRMED_FIGURES}


def roll_up(
    units: Sequence[UnitIn],
    people: Iterable[PersonIn],
    appointments: Iterable[AppointmentIn],
    samples: Iterable[SampleIn],
    *,
    reasons: Sequence[str],
    level_names: Sequence[str],
    grid_level: str = "网格",
    tubes: TubeFigures | None = None,
    confirmations: Iterable[ConfirmationIn] = (),
    top: int | None = None,
    levels: int | None = None,
    now: datetime | None = None,
    deadline: datetime | None = None,
    modes: Mapping[int, str] | None = None,
) -> list[DailyRow]:
    """The daily report's rows, parents before children in path order.

    Args:
        units: every unit (at least ``top`` and everything below it).
        people: the active people, each with their unit (None: left out of every row).
        appointments: the day's appointments (any status; cancelled ones do not count).
        samples: the day's samples.
        reasons: the excuse reason codes in the order the report shows them; an excuse with
            a code outside them counts as ``other`` when that is one of them.
        level_names: what each depth is called, the root's first.
        top: the unit the report is for (default: the root); rows are it and below it.
        levels: how many levels below ``top`` to show (None: all).
        now, deadline: when the report is read and when the day's figures are due upward
            (policy ``report.confirm_by`` the next morning): a unit not confirmed by then is
            ``late``; without them, units not confirmed are ``waiting``.
    """
    tubes = tubes or TubeFigures()
    by_id = {u.id: u for u in units}
    counts: dict[int, list[int]] = {}
    reason_counts: dict[int, dict[str, int]] = {}
    at = {name: i for i, name in enumerate(COUNTS)}

    due: dict[int, str | None] = {}  # person -> excuse code of their day ("" if not excused)
    for a in appointments:
        if a.status == AppointmentStatus.CANCELLED:
            continue
        code = (a.excused_code or "other") if a.status == AppointmentStatus.EXCUSED else ""
        # A person with a not-excused appointment that day is "none given" if untested.
        prior = due.get(a.person_id)
        due[a.person_id] = code if prior is None else ("" if "" in (prior, code) else prior)
    sampled: dict[int, int] = {}
    positive: set[int] = set()
    for s in samples:
        sampled[s.person_id] = sampled.get(s.person_id, 0) + 1
        if s.result == ResultValue.POSITIVE:
            positive.add(s.person_id)
    known = set(reasons)
    fallback = "other" if "other" in known else NONE_GIVEN

    for p in people:
        if p.unit_id is None or p.unit_id not in by_id:
            continue
        row = counts.get(p.unit_id)
        if row is None:
            row = counts[p.unit_id] = [0] * len(COUNTS)
        row[0] += 1
        kind = _TYPE_COUNT.get(p.person_type)
        if kind is not None:
            row[at[kind]] += 1
        if p.booster:
            row[at["boosted"]] += 1
        was_sampled = p.id in sampled
        if p.id in due:
            row[at["required"]] += 1
            if was_sampled:
                row[at["tested"]] += 1
            else:
                code = due[p.id] or NONE_GIVEN
                if code != NONE_GIVEN and code not in known:
                    code = fallback
                reasons_of = reason_counts.setdefault(p.unit_id, {})
                reasons_of[code] = reasons_of.get(code, 0) + 1
        elif was_sampled:
            row[at["extra"]] += 1
        if p.id in positive:
            row[at["positive"]] += 1
        row[at["pooled"]] += tubes.pooled.get(p.id, 0)
        row[at["single"]] += tubes.single.get(p.id, 0)
        if p.id in tubes.pool_positive:
            row[at["pool_positive"]] += 1

    # Deepest first: each unit's totals are final before they are added to its parent.
    for u in sorted(units, key=lambda u: -u.level):
        mine = counts.get(u.id)
        if mine is None or u.parent_id is None or u.parent_id not in by_id:
            continue
        above = counts.get(u.parent_id)
        if above is None:
            above = counts[u.parent_id] = [0] * len(COUNTS)
        for i, v in enumerate(mine):
            above[i] += v
        mine_reasons = reason_counts.get(u.id)
        if mine_reasons:
            theirs = reason_counts.setdefault(u.parent_id, {})
            for code, n in mine_reasons.items():
                theirs[code] = theirs.get(code, 0) + n

    root = min(units, key=lambda u: u.level) if top is None else by_id[top]
    confirmed = {c.unit_id: c for c in confirmations}
    order = [NONE_GIVEN, *reasons] if NONE_GIVEN not in reasons else list(reasons)
    rows: list[DailyRow] = []
    prefix = root.path + "/"
    for u in sorted(units, key=lambda u: u.path.split("/")):
        if u.id != root.id and not u.path.startswith(prefix):
            continue
        if levels is not None and u.level - root.level > levels:
            continue
        c = counts.get(u.id) or [0] * len(COUNTS)
        by_reason = reason_counts.get(u.id, {})
        required, tested = c[at["required"]], c[at["tested"]]
        parent_unit = by_id.get(u.parent_id) if u.parent_id is not None else None
        line = DailyRow(
            path=u.path,
            name=u.name,
            level=u.level,
            level_name=grid_level
            if u.kind == "grid"
            else (level_names[u.level] if u.level < len(level_names) else f"L{u.level}"),
            kind=u.kind,
            code=u.code,
            people=c[0],
            employees=c[at["employees"]],
            co_residents=c[at["co_residents"]],
            third_party=c[at["third_party"]],
            required=required,
            tested=tested,
            untested=required - tested,
            untested_by_reason={code: by_reason.get(code, 0) for code in order},
            rate=round(tested / required, 4) if required else None,
            pooled=c[at["pooled"]],
            single=c[at["single"]],
            pool_positive=c[at["pool_positive"]],
            positive=c[at["positive"]],
            booster_share=round(c[at["boosted"]] / c[0], 4) if c[0] else None,
            extra=c[at["extra"]],
            confirmed=None,
            unit_id=u.id,
            parent_path=parent_unit.path if parent_unit is not None else None,
            mode=(modes or {}).get(u.id, "normal"),
        )
        conf = confirmed.get(u.id)
        if u.kind == "unit" and line.people:
            if conf is not None:
                late = deadline is not None and conf.confirmed_at > deadline
                line.confirmation = "confirmed_late" if late else "confirmed"
            elif now is not None and deadline is not None and now > deadline:
                line.confirmation = "late"
            else:
                line.confirmation = "waiting"
        if conf is not None:
            now_figures = line.figures()
            then = {k: conf.figures.get(k) for k in CONFIRMED_FIGURES}
            line.confirmed = {
                "by": conf.confirmed_by,
                "at": conf.confirmed_at,
                "note": conf.note,
                "changed": then != now_figures,
                "changes": {
                    k: [then[k], now_figures[k]]
                    for k in CONFIRMED_FIGURES
                    if then[k] != now_figures[k]
                },
            }
        rows.append(line)
    return rows

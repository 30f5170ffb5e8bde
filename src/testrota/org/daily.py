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
  whose pool was positive: from :class:`TubeFigures` (zero until tubes are recorded). A sample
  is a swab, not a row: :func:`tube_counts` says how a person's rows of the day are counted.
- ``booster_share``: the share of people with a booster on the roster (None without people).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from testrota.statuses import AppointmentStatus, PersonType, ResultValue

NONE_GIVEN = "none"
# testresult.source of a site's check-in and of a lab's result (``outside``: another site's)
CHECKIN_SOURCE, LAB_SOURCE = "checkin", "lab"
MAX_UNCOVERED = 20  # key posts without a tested person named on one row
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
# A unit's own counts that roll up unchanged (UnitCounts' fields).
_OWN = (
    "people",
    "employees",
    "co_residents",
    "third_party",
    "boosted",
    "required",
    "tested",
    "extra",
    "positive",
)
# Figures a confirmation keeps: a late result or excuse changes one of these.
CONFIRMED_FIGURES = (
    "people",
    "required",
    "tested",
    "untested",
    "extra",
    "positive",
    "untested_by_reason",
)
# Those compared later: not ``people``, the unit's headcount now (a later hire is no change to
# the day), and only those the confirmation kept (one from before a figure was kept compares
# the others).
COMPARED_FIGURES = tuple(k for k in CONFIRMED_FIGURES if k != "people")


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
class SwabIn:
    """One row of a person's samples of the day, once per tube it went into."""

    person_id: int
    source: str  # checkin | lab | outside
    ratio: int | None = None  # the tube's; None: in no tube
    tube_result: str | None = None


@dataclass(frozen=True, slots=True)
class PersonTubes:
    """One person's share of a day's tube figures."""

    samples: int = 0
    pooled: int = 0
    pool_positive: bool = False

    @property
    def single(self) -> int:
        return self.samples - self.pooled


def tube_counts(rows: Iterable[SwabIn]) -> dict[int, PersonTubes]:
    """Each person's swabs of one local day (the report's 混管/单管), from their sample rows.

    A swab scanned at one of our sites is two rows once the lab's sheet answers it: the
    check-in (``checkin``) and the lab's result (``lab``: another source, so another key,
    sampled at the lab's time, often minutes after the scan). A unit head counts the tubes
    sent to the lab, so the pair is one sample. Within a person's day, each ``lab`` row is the
    result of one of their check-ins while one is unanswered: ``min(check-ins, lab rows)``
    rows are second rows and not counted. So a check-in and its result are one sample, two
    check-ins (with or without their results) two, a lab result with no check-in one, and an
    ``outside`` result (a booth not ours) always one. A result placed on the next local day
    is that day's sample, as it is for ``tested``.

    Rows are counted, not matched by time: the database counts this in one pass over a day's
    rows at any size. The second row is never in a tube (a tube holds the check-in's row and
    its result is written there), so the pair is pooled when the check-in is.

    Each row counts once per tube it went into; ``pool_positive``: a pooled tube (ratio above
    1) of the person's came back positive.
    """
    rows_of: dict[int, list[SwabIn]] = {}
    for r in rows:
        rows_of.setdefault(r.person_id, []).append(r)
    out: dict[int, PersonTubes] = {}
    for person_id, mine in rows_of.items():
        checkins = sum(1 for r in mine if r.source == CHECKIN_SOURCE)
        labs = sum(1 for r in mine if r.source == LAB_SOURCE)
        in_pool = [r for r in mine if r.ratio is not None and r.ratio > 1]
        out[person_id] = PersonTubes(
            samples=len(mine) - min(checkins, labs),
            pooled=len(in_pool),
            pool_positive=any(r.tube_result == ResultValue.POSITIVE for r in in_pool),
        )
    return out


@dataclass(frozen=True, slots=True)
class TubeFigures:
    """The tubes' share of a day, by unit id: the seam for pooled sampling (another part of
    the group's work). ``pooled``/``single`` count samples; ``pool_positive`` people."""

    pooled: Mapping[int, int] = field(default_factory=dict)
    single: Mapping[int, int] = field(default_factory=dict)
    pool_positive: Mapping[int, int] = field(default_factory=dict)


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
    # key posts (保产保供): (unit, role) pairs held by people marked as key posts, how many
    # had someone tested that day, and the first of those that had nobody ("unit: role")
    key_posts: int = 0
    key_posts_covered: int = 0
    key_posts_uncovered: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """What a confirmation keeps, to show a later change."""
        return {k: getattr(self, k) for k in CONFIRMED_FIGURES}


@dataclass
class UnitCounts:
    """One unit's own people (not those below it) and their facts of the day, counted."""

    unit_id: int
    people: int = 0
    employees: int = 0
    co_residents: int = 0
    third_party: int = 0
    boosted: int = 0
    required: int = 0
    tested: int = 0
    extra: int = 0
    positive: int = 0
    # the untested by reason: a policy code, or ``none``; an unknown code already as ``other``
    untested: dict[str, int] = field(default_factory=dict)


def reason_of(code: str, known: Collection[str]) -> str:
    """How the report files an untested person's excuse code ("" = none given)."""
    if not code:
        return NONE_GIVEN
    if code in known:
        return code
    return "other" if "other" in known else NONE_GIVEN


def classify(
    people: Iterable[PersonIn],
    appointments: Iterable[AppointmentIn],
    samples: Iterable[SampleIn],
    reasons: Collection[str],
) -> list[UnitCounts]:
    """Each unit's own figures of the day from its people's appointments and samples: the
    report's definitions, person by person.

    The shell asks the database the same question in one grouped query (a test holds the two
    to the same answers), since 300,000 people are faster counted there.
    """
    due: dict[int, str] = {}  # person -> excuse code of their day ("" if not excused)
    for a in appointments:
        if a.status == AppointmentStatus.CANCELLED:
            continue
        code = (a.excused_code or "other") if a.status == AppointmentStatus.EXCUSED else ""
        # A person with one appointment that day not excused has no excuse for being untested;
        # of two excuses, the first code in alphabetical order (as SQL's MIN picks it).
        prior = due.get(a.person_id)
        due[a.person_id] = code if prior is None else min(prior, code)
    sampled: set[int] = set()
    positive: set[int] = set()
    for s in samples:
        sampled.add(s.person_id)
        if s.result == ResultValue.POSITIVE:
            positive.add(s.person_id)
    out: dict[int, UnitCounts] = {}
    for p in people:
        if p.unit_id is None:
            continue
        c = out.get(p.unit_id)
        if c is None:
            c = out[p.unit_id] = UnitCounts(p.unit_id)
        c.people += 1
        kind = _TYPE_COUNT.get(p.person_type)
        if kind is not None:
            setattr(c, kind, getattr(c, kind) + 1)
        c.boosted += bool(p.booster)
        if p.id in due:
            c.required += 1
            if p.id in sampled:
                c.tested += 1
            else:
                why = reason_of(due[p.id], reasons)
                c.untested[why] = c.untested.get(why, 0) + 1
        elif p.id in sampled:
            c.extra += 1
        c.positive += p.id in positive
    return list(out.values())


def roll_up(
    units: Sequence[UnitIn],
    counts: Iterable[UnitCounts],
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
    key_posts: Mapping[int, Sequence[tuple[str, bool]]] | None = None,
) -> list[DailyRow]:
    """The daily report's rows, parents before children in path order.

    Args:
        units: every unit (at least ``top`` and everything below it).
        counts: each unit's own figures (:func:`classify`); a unit not among ``units`` is in
            no row.
        reasons: the excuse reason codes in the order the report shows them.
        level_names: what each depth is called, the root's first.
        tubes: pooled and single-tube samples and pool-positive people, by unit.
        top: the unit the report is for (default: the root); rows are it and below it.
        levels: how many levels below ``top`` to show (None: all).
        now, deadline: when the report is read and when the day's figures are due upward
            (policy ``report.confirm_by`` the next morning): a unit not confirmed by then is
            ``late``; without them, units not confirmed are ``waiting``.
        modes: each unit's emergency mode that day (default ``normal``).
        key_posts: each unit's own key posts: (role, whether someone holding it was tested).
    """
    tubes = tubes or TubeFigures()
    by_id = {u.id: u for u in units}
    counts_of: dict[int, list[int]] = {}
    reason_counts: dict[int, dict[str, int]] = {}
    at = {name: i for i, name in enumerate(COUNTS)}

    for c in counts:
        if c.unit_id not in by_id:
            continue
        row = counts_of.get(c.unit_id)
        if row is None:
            row = counts_of[c.unit_id] = [0] * len(COUNTS)
        for name in _OWN:
            row[at[name]] += getattr(c, name)
        if c.untested:
            reasons_of = reason_counts.setdefault(c.unit_id, {})
            for code, n in c.untested.items():
                reasons_of[code] = reasons_of.get(code, 0) + n
    for name, figures in (
        ("pooled", tubes.pooled),
        ("single", tubes.single),
        ("pool_positive", tubes.pool_positive),
    ):
        for unit_id, n in figures.items():
            if unit_id in by_id:
                counts_of.setdefault(unit_id, [0] * len(COUNTS))[at[name]] += n

    posts: dict[int, list[int]] = {}  # unit -> [posts, covered]
    missing: dict[int, list[str]] = {}
    for unit_id, held in (key_posts or {}).items():
        if unit_id not in by_id:
            continue
        posts[unit_id] = [len(held), sum(1 for _, ok in held if ok)]
        missing[unit_id] = [f"{by_id[unit_id].name}: {role}" for role, ok in held if not ok]

    # Deepest first: each unit's totals are final before they are added to its parent.
    for u in sorted(units, key=lambda u: -u.level):
        if u.id in posts and u.parent_id in by_id:
            assert u.parent_id is not None
            up = posts.setdefault(u.parent_id, [0, 0])
            up[0] += posts[u.id][0]
            up[1] += posts[u.id][1]
            above_missing = missing.setdefault(u.parent_id, [])
            if len(above_missing) < MAX_UNCOVERED:
                above_missing.extend(missing.get(u.id, [])[: MAX_UNCOVERED - len(above_missing)])
        mine = counts_of.get(u.id)
        if mine is None or u.parent_id is None or u.parent_id not in by_id:
            continue
        above = counts_of.get(u.parent_id)
        if above is None:
            above = counts_of[u.parent_id] = [0] * len(COUNTS)
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
        f = counts_of.get(u.id) or [0] * len(COUNTS)
        by_reason = reason_counts.get(u.id, {})
        required, tested = f[at["required"]], f[at["tested"]]
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
            people=f[0],
            employees=f[at["employees"]],
            co_residents=f[at["co_residents"]],
            third_party=f[at["third_party"]],
            required=required,
            tested=tested,
            untested=required - tested,
            untested_by_reason={code: by_reason.get(code, 0) for code in order},
            rate=round(tested / required, 4) if required else None,
            pooled=f[at["pooled"]],
            single=f[at["single"]],
            pool_positive=f[at["pool_positive"]],
            positive=f[at["positive"]],
            booster_share=round(f[at["boosted"]] / f[0], 4) if f[0] else None,
            extra=f[at["extra"]],
            confirmed=None,
            unit_id=u.id,
            parent_path=parent_unit.path if parent_unit is not None else None,
            mode=(modes or {}).get(u.id, "normal"),
            key_posts=posts.get(u.id, [0, 0])[0],
            key_posts_covered=posts.get(u.id, [0, 0])[1],
            key_posts_uncovered=missing.get(u.id, [])[:MAX_UNCOVERED],
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
            kept = [k for k in COMPARED_FIGURES if k in conf.figures]
            changes = {
                k: [conf.figures[k], now_figures[k]]
                for k in kept
                if conf.figures[k] != now_figures[k]
            }
            line.confirmed = {
                "by": conf.confirmed_by,
                "at": conf.confirmed_at,
                "note": conf.note,
                "changed": bool(changes),
                "changes": changes,
            }
        rows.append(line)
    return rows

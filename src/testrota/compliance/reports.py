"""The missed-test list and the compliance report, read in the caller's session.

Both take an optional ``departments`` scope (a supervisor's departments); None means everyone.
The use cases (:mod:`testrota.actions.missed`, :mod:`testrota.actions.compliance`) flag what
is due before they read, so the figures are current whether or not a job has run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from testrota.compliance.facts import (
    RateLookup,
    appointments_between,
    exemptions_between,
    facts_by_id,
    in_scope,
    samples_between,
    select_people,
)

# the missed list reads without the models (issue 17); its names stay importable from here
from testrota.compliance.missed_rows import ROW_LOOKBACK_WEEKS as ROW_LOOKBACK_WEEKS
from testrota.compliance.missed_rows import MissedRow as MissedRow
from testrota.compliance.missed_rows import missed_list as missed_list
from testrota.compliance.records import AppointmentFacts
from testrota.compliance.weekly import (
    GroupCompliance,
    TrendPoint,
    attach_trend,
    person_week,
    policy_required,
    rollup,
    total,
)
from testrota.policy import Policy
from testrota.statuses import AppointmentStatus
from testrota.weeks import (
    IsoWeek,
    local_date,
    recent_weeks,
    week_bounds,
    week_of,
)
from testrota.weeks import resolve_week as resolve_week


@dataclass(frozen=True)
class GroupFigures:
    """A department's (``grid_unit`` None) or a grid unit's week, or the total's."""

    department: str
    grid_unit: str | None
    people: int  # people of whom a test was asked
    required: int
    scheduled: int
    done: int
    missed: int
    excused: int
    tests: int  # credited: at most what each person was asked
    compliant_people: int
    rate: float | None  # tests / required; None when nothing was required
    trend: list[TrendPoint]  # the rate of each week of the report, oldest first

    @classmethod
    def of(cls, g: GroupCompliance) -> GroupFigures:
        return cls(
            g.department,
            g.grid_unit,
            g.people,
            g.required,
            g.scheduled,
            g.done,
            g.missed,
            g.excused,
            g.tests,
            g.compliant_people,
            g.rate,
            list(g.trend),
        )


@dataclass(frozen=True)
class ComplianceReport:
    week: str
    generated_at: datetime
    weeks: list[str]  # the trend's weeks, oldest first, ending with ``week``
    total: GroupFigures
    departments: list[GroupFigures]
    grid_units: list[GroupFigures]


def _trend_point(week: IsoWeek, figures: GroupCompliance) -> TrendPoint:
    return TrendPoint(str(week), figures.rate if figures.has_data else None, figures.missed)


def compliance_report(
    session: Session,
    wk: IsoWeek,
    now: datetime,
    policy: Policy,
    *,
    weeks: int | None = None,
    rates: RateLookup | None = None,
    departments: Collection[str] | None = None,
    units: Collection[str] | None = None,
) -> ComplianceReport:
    """Per department and per grid unit: people, required, scheduled, done, missed, excused,
    tests (credited), compliant people and the rate, with the rate's trend over the ``weeks``
    weeks ending with ``wk`` (default: the policy's ``trend_weeks``)."""
    tz = policy.tz
    span = recent_weeks(wk, weeks or policy.testing.trend_weeks)
    start, _ = week_bounds(span[0], tz)
    _, end = week_bounds(wk, tz)
    in_view = select_people().where(in_scope(departments, units))
    people = facts_by_id(session.execute(in_view), rates)
    appts: dict[tuple[int, IsoWeek], list[AppointmentFacts]] = defaultdict(list)
    for a in appointments_between(session, start, end):
        if a.person_id in people and a.status != AppointmentStatus.CANCELLED:
            appts[(a.person_id, week_of(a.starts_at, tz))].append(a)
    days: dict[int, set[date]] = defaultdict(set)
    for s in samples_between(session, start, end):
        if s.person_id in people:
            days[s.person_id].add(local_date(s.sampled_at, tz))
    exemptions = exemptions_between(session, span[0].monday, wk.monday + timedelta(days=6))
    by_person_ex = defaultdict(list)
    for e in exemptions:
        by_person_ex[e.person_id].append(e)
    history: list[tuple[IsoWeek, dict[Any, GroupCompliance]]] = []
    history_units: list[tuple[IsoWeek, dict[Any, GroupCompliance]]] = []
    for w in span:
        entries = []
        for p in people.values():
            mine = appts.get((p.id, w), [])
            ex = by_person_ex.get(p.id, [])
            if not mine and policy_required(p, w, policy, ex) == 0:
                continue
            entries.append((p, person_week(p, w, policy, mine, days.get(p.id, set()), ex)))
        history.append((w, rollup(entries, by_grid_unit=False)))
        history_units.append((w, rollup(entries, by_grid_unit=True)))
    return assemble(wk, now, span, history, history_units)


def assemble(
    wk: IsoWeek,
    now: datetime,
    span: list[IsoWeek],
    history: list[tuple[IsoWeek, dict[Any, GroupCompliance]]],
    history_units: list[tuple[IsoWeek, dict[Any, GroupCompliance]]],
) -> ComplianceReport:
    """The report from each week's department and grid-unit groups, oldest week first
    (counted person by person above, or summed from the weekly roll-up)."""
    departments_now, units_now = history[-1][1], history_units[-1][1]
    attach_trend(departments_now, history)
    attach_trend(units_now, history_units)
    overall = total(departments_now.values())
    overall.trend = [_trend_point(w, total(g.values())) for w, g in history]
    return ComplianceReport(
        week=str(wk),
        generated_at=now,
        weeks=[str(w) for w in span],
        total=GroupFigures.of(overall),
        departments=[GroupFigures.of(g) for _, g in sorted(departments_now.items())],
        grid_units=[
            GroupFigures.of(g)
            for _, g in sorted(units_now.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        ],
    )

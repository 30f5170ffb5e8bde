"""Planning against the database: load people and last week, run the pure planner, store the plan.

One transaction per call. Rows are written in bulk (``executemany`` on SQLite, ``COPY`` on
PostgreSQL), never as ORM objects one by one, so a week of 100,000 people is stored in seconds.
On PostgreSQL a transaction-scoped advisory lock serialises planners (and the mid-week path), so
two processes re-planning at once queue instead of double-booking; SQLite's ``BEGIN IMMEDIATE``
does the same there.

Re-planning a week replaces only its future part: an appointment that is done, missed, excused,
booked by hand (a reschedule, a contact's extra test) or whose slot has started never moves.
A movable appointment the new plan keeps stays the same row (so its reminders stay valid); one it
moves becomes ``cancelled`` (never deleted: the SMS outbox refers to it) and a new row is added.
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from testrota.audit import Action, Actor, record
from testrota.db import tables
from testrota.db.bulk import bulk_insert, bulk_insert_groups
from testrota.db.locks import PEOPLE_LOCK, take_locks
from testrota.db.statistics import refresh_statistics
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.scheduling.model import (
    REASONS,
    CurrentAppointment,
    DateRange,
    FixedAppointment,
    PlanPerson,
    PlanSlot,
    PreviousAppointment,
)
from testrota.scheduling.planner import plan_earliest, plan_week
from testrota.scheduling.regroup import set_grid_units
from testrota.scheduling.rules import surge_applies, surge_rules_for_week
from testrota.scheduling.sites import SiteSpec, load_sites, week_slots
from testrota.weeks import monday_of, normalise_week, shift_week, week_label

log = logging.getLogger(__name__)

A = tables.APPOINTMENT
S = tables.SLOT
P = tables.PERSON

SCHEDULED = "scheduled"
CANCELLED = "cancelled"
MOVABLE_REASONS = ("plan", "midweek")  # what the planner placed; other reasons were booked by hand
EXTRA_REASONS = ("contact",)  # extra tests that do not count toward the weekly tests
PLAN_LOCK = 4_004_004  # advisory lock key shared by every writer of plans
SQLITE_CACHE_KIB = -262_144  # negative: KiB, i.e. at most 256 MB of page cache while planning
CHUNK = 5_000
# A new appointment's own values, and those it shares with every other one in its slot
APPOINTMENT_OWN = ("person_id", "grid_unit")
APPOINTMENT_SHARED = (
    "slot_id",
    "site_code",
    "week",
    "starts_at",
    "ends_at",
    "status",
    "reason",
    "created_at",
    "updated_at",
)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Planning a week allocates a few million small objects that all live until it ends; the
    cyclic garbage collector would walk them again and again (a third of the run time at
    100,000 people) for nothing. Reference counting still frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _lock(conn: Connection) -> None:
    # The plans' own lock, then the people's in shared mode: a roster import at work is waited
    # for, so the people read next are what it committed. Read while it was still at work, a
    # leaver it deactivated (and whose appointments it released) was booked again, and stayed
    # booked. Planners do not hold each other off on the second: the first already does.
    if conn.dialect.name == "postgresql":
        take_locks(conn, [(PLAN_LOCK, False), (PEOPLE_LOCK, True)])


@contextmanager
def _big_cache(conn: Connection) -> Iterator[None]:
    """SQLite: let a week's inserts stay in memory until commit. With the default 2 MB page
    cache SQLite spills dirty index pages to the WAL mid-transaction and writes them again,
    which made storing 200,000 appointments twice as slow. The cache only grows as needed
    (to about 60 MB for that week) and is put back afterwards: the connection is pooled."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size={SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")


def tests_per_week_lookup(config_dir: Path, policy: Policy) -> Callable[[str | None], int]:
    """Tests a week for a category code (0 for nobody-at-risk), from ``risk_categories.yaml``."""
    from testrota.risk.vocabulary_file import weekly_tests_lookup

    return weekly_tests_lookup(config_dir, policy.testing.tests_per_week)


# ------------------------------------------------------------------------------------------------
# sites and slots


def _sync_sites(conn: Connection, sites: Sequence[SiteSpec]) -> None:
    table = tables.SITE
    have = {r.code: r for r in conn.execute(select(table))}
    new = []
    for s in sites:
        row = have.get(s.code)
        values = {"name": s.name, "address": s.address, "timezone": s.timezone}
        if row is None:
            new.append({"code": s.code, **values})
        elif (row.name, row.address, row.timezone) != tuple(values.values()):
            conn.execute(update(table).where(table.c.code == s.code).values(**values))
    if new:
        conn.execute(insert(table), new)


def _week_slots(conn: Connection, week: str, sites: Sequence[SiteSpec]) -> list[PlanSlot]:
    """The week's slots from ``sites.yaml`` with their database ids, creating missing rows and
    updating capacities that changed."""
    monday = monday_of(week)
    wanted = week_slots(list(sites), monday)
    have = {
        (r.site_code, r.starts_at): (r.id, r.capacity)
        for r in conn.execute(
            select(S.c.id, S.c.site_code, S.c.starts_at, S.c.capacity).where(S.c.week == week)
        )
    }
    missing = [s for s in wanted if (s.site_code, s.starts_at) not in have]
    bulk_insert(
        conn,
        S,
        [(s.site_code, week, s.starts_at, s.ends_at, s.capacity) for s in missing],
        columns=("site_code", "week", "starts_at", "ends_at", "capacity"),
    )
    changed = [
        {"sid": have[(s.site_code, s.starts_at)][0], "cap": s.capacity}
        for s in wanted
        if (s.site_code, s.starts_at) in have and have[(s.site_code, s.starts_at)][1] != s.capacity
    ]
    if changed:
        conn.execute(
            update(S).where(S.c.id == bindparam("sid")).values(capacity=bindparam("cap")),
            changed,
        )
    if missing:
        have = {
            (r.site_code, r.starts_at): (r.id, r.capacity)
            for r in conn.execute(
                select(S.c.id, S.c.site_code, S.c.starts_at, S.c.capacity).where(S.c.week == week)
            )
        }
    return [
        PlanSlot(
            have[(s.site_code, s.starts_at)][0],
            s.site_code,
            s.starts_at,
            s.ends_at,
            s.capacity,
            s.day,
            s.minute,
            s.length,
        )
        for s in wanted
    ]


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _local_day_minute(at: datetime, tz: ZoneInfo, monday: date) -> tuple[int, int]:
    local = at.astimezone(tz)
    return (local.date() - monday).days, local.hour * 60 + local.minute


# ------------------------------------------------------------------------------------------------
# people


def _load_people(
    conn: Connection,
    policy: Policy,
    monday: date,
    tests_for: Callable[[str | None], int],
    person_ids: Sequence[int] | None = None,
) -> list[PlanPerson]:
    """Active high-risk people, plus anyone a surge rule covers this week, with exemptions."""
    surges = surge_rules_for_week(policy, monday)
    query = select(
        P.c.id, P.c.employee_no, P.c.department, P.c.grid_unit, P.c.shift, P.c.risk_category
    ).where(P.c.active.is_(True))
    if person_ids is not None:
        query = query.where(P.c.id.in_(list(person_ids)))
    elif not surges:
        query = query.where(P.c.risk_category.is_not(None))
    sunday = monday + timedelta(days=6)
    exemptions: dict[int, list[DateRange]] = defaultdict(list)
    ex = tables.EXEMPTION
    for r in conn.execute(
        select(ex.c.person_id, ex.c.start_date, ex.c.end_date, ex.c.reason).where(
            ex.c.start_date <= sunday, ex.c.end_date >= monday
        )
    ):
        exemptions[r.person_id].append(DateRange(r.start_date, r.end_date, r.reason))
    ranges = {pid: tuple(sorted(v, key=lambda d: d.start)) for pid, v in exemptions.items()}
    shifts: dict[str | None, str] = {}
    tests: dict[str | None, int] = {}
    people = []
    for pid, no, department, unit, raw_shift, category in conn.execute(query):
        shift = shifts.get(raw_shift)
        if shift is None:
            shift = shifts[raw_shift] = (raw_shift or "").strip().lower()
        n = tests.get(category)
        if n is None:
            n = tests[category] = tests_for(category)
        person = PlanPerson(
            pid, no, department or "", unit or "", shift, category, n, ranges.get(pid, ())
        )
        if (
            category is not None
            or person_ids is not None  # a contact is booked whatever their category
            or any(surge_applies(rule, person) for rule, _ in surges)
        ):
            people.append(person)
    return people


def _people_in_modes(
    conn: Connection,
    policy: Policy,
    monday: date,
    tests_for: Callable[[str | None], int],
    person_ids: Sequence[int] | None = None,
) -> tuple[Policy, list[PlanPerson]]:
    """The policy and the people to plan as the units' emergency modes have them this week:
    static and onsite add daily testing (surge rules of the week), static keeps grid units
    apart, onsite keeps residents to on-site sites, wfh and onsite (for those living out) make
    days without a site booking."""
    from testrota.org.modes import week_flags, with_mode_flags, with_static_units, with_wfh_days

    policy = with_static_units(conn, policy, monday)
    people = _load_people(conn, policy, monday, tests_for, person_ids)
    people = with_wfh_days(conn, people, monday)
    return policy, with_mode_flags(people, week_flags(conn, monday))


# ------------------------------------------------------------------------------------------------
# the weekly plan


def plan_week_service(
    engine: Engine,
    week: str,
    policy: Policy,
    sites: Sequence[SiteSpec] | None = None,
    config_dir: Path | None = None,
    now: datetime | None = None,
    *,
    actor: Actor,
    check_sms: bool = True,
) -> dict[str, Any]:
    """Plan (or re-plan) ``week`` and store it; returns the report (what ``plan --json`` prints).

    ``sites`` default to ``config_dir/sites.yaml``; ``now`` is required (slots that have started
    are left alone). The report has ``week, required, scheduled, unscheduled: [{employee_no,
    reason, missing, ...}]`` (``required`` and ``scheduled`` count tests) and the quality
    figures, plus ``kept``, ``added`` and ``cancelled`` rows. With ``check_sms`` it also says
    whether the SMS sender can get each day's reminders out in time (``sms_capacity``; a
    warning names the rate that would be needed).
    """
    if now is None or now.tzinfo is None:
        raise ValueError("plan_week_service needs an aware 'now'")
    config_dir = config_dir or Path("config")
    week = normalise_week(week)
    if sites is None:
        sites = load_sites(config_dir, policy)
    tests_for = tests_per_week_lookup(config_dir, policy)
    monday = monday_of(week)
    site_tz = {s.code: s.tz for s in sites}
    with _no_gc(), engine.begin() as conn, _big_cache(conn):
        _lock(conn)
        policy, people = _people_in_modes(conn, policy, monday, tests_for)
        _sync_sites(conn, sites)
        slots = _week_slots(conn, week, sites)
        by_id = {s.id: s for s in slots}
        fixed, current, movable, stale = _this_week(
            conn, week, now, by_id, site_tz, policy, monday, {p.id: p.unit for p in people}
        )
        # Coming rows take their people's grid unit now, whether kept or cancelled below.
        set_grid_units(conn, stale, now)
        previous = _previous_week(conn, week, site_tz, policy)
        started = any(s.starts_at <= now for s in slots)
        result = plan_week(
            people,
            slots,
            previous,
            policy,
            now,
            week_start=monday,
            sites=[s.scope for s in sites],
            fixed=fixed,
            current=current,
            earliest_for_newcomers=started and bool(fixed or current),
        )
        kept, added, cancelled = _store(
            conn, week, now, result.assignments, movable, by_id, {p.id: p for p in people}
        )
        report = _finish_report(
            result.report, week, now, people, kept, added, cancelled, len(slots), sites
        )
        inserted = conn.execute(
            insert(tables.PLAN_RUN).values(
                week=week, planned_at=now, planned_by=str(actor), report=report
            )
        ).inserted_primary_key
        assert inserted is not None
        run_id = int(inserted[0])
        record(
            conn,
            actor,
            Action.WEEK_PLANNED,
            "week",
            week,
            at=now,
            details={k: report[k] for k in ("required", "scheduled", "kept", "added", "cancelled")}
            | {"unscheduled": len(report["unscheduled"])},
        )
    log.info(
        "planned %s: %s of %s tests, %s kept, %s added, %s cancelled",
        week,
        report["scheduled"],
        report["required"],
        kept,
        added,
        cancelled,
    )
    # Before the sender check, which reads the week it wrote, and the reminders' sync.
    refresh_statistics(engine, "appointment", added + cancelled)
    if check_sms:
        _add_sms_capacity(engine, week, policy, report, run_id)
    return report


def _add_sms_capacity(
    engine: Engine, week: str, policy: Policy, report: dict[str, Any], run_id: int
) -> None:
    """Whether the sender can get each day's reminders out in time at the policy's rate, from
    the SMS area, added to the stored report (after commit: it reads the plan as stored)."""
    from testrota.notify.queries import capacity_for_week

    capacity = capacity_for_week(engine, week, policy)
    report["sms_capacity"] = capacity
    report["warnings"] = [*report.get("warnings", []), *capacity.get("warnings", [])]
    table = tables.PLAN_RUN
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == run_id).values(report=report))


def _this_week(
    conn: Connection,
    week: str,
    now: datetime,
    by_id: dict[int, PlanSlot],
    site_tz: dict[str, ZoneInfo],
    policy: Policy,
    monday: date,
    unit_of: Mapping[int, str] | None = None,
) -> tuple[
    list[FixedAppointment],
    list[CurrentAppointment],
    dict[tuple[int, int], list[int]],
    dict[int, str],
]:
    """This week's appointments, split into what cannot move (``fixed``), what the planner may
    keep or move (``current``) and the rows behind the movable ones, and the coming rows
    (``scheduled``, not started) whose grid unit is not their person's in ``unit_of`` (person
    id -> grid unit now), with that unit: a move the rows did not follow is put right, and
    the planner counts them where their people are."""
    fixed: list[FixedAppointment] = []
    current: list[CurrentAppointment] = []
    movable: dict[tuple[int, int], list[int]] = defaultdict(list)
    stale: dict[int, str] = {}
    unit_of = unit_of or {}
    rows = conn.execute(
        select(
            A.c.id, A.c.person_id, A.c.slot_id, A.c.site_code, A.c.status, A.c.reason, A.c.grid_unit
        ).where(A.c.week == week, A.c.status != CANCELLED)
    ).all()
    unknown = [r[0] for r in rows if r[2] not in by_id]
    starts: dict[int, datetime] = {}
    for part in _chunks(unknown):
        for r in conn.execute(select(A.c.id, A.c.starts_at).where(A.c.id.in_(list(part)))):
            starts[r.id] = r.starts_at
    future = {sid for sid, slot in by_id.items() if slot.starts_at > now}
    for rid, pid, sid, site, status, reason, unit in rows:
        slot = by_id.get(sid)
        now_in = unit_of.get(pid)
        if (
            now_in is not None
            and now_in != (unit or "")
            and status == SCHEDULED
            and (sid in future if slot is not None else starts[rid] > now)
        ):
            stale[rid] = unit = now_in
        if status == SCHEDULED and reason in MOVABLE_REASONS:
            if slot is not None and sid in future:
                movable[(pid, sid)].append(rid)
                current.append(CurrentAppointment(pid, sid))
                continue
            if slot is None and starts[rid] > now:  # a slot no longer offered: re-plan it
                movable[(pid, -rid)].append(rid)
                continue
        if slot is not None:
            day = slot.day
        else:
            day, _ = _local_day_minute(starts[rid], site_tz.get(site, policy.tz), monday)
        fixed.append(
            FixedAppointment(
                pid, day, sid if slot else None, reason not in EXTRA_REASONS, unit or ""
            )
        )
    return fixed, current, movable, stale


def _previous_week(
    conn: Connection, week: str, site_tz: dict[str, ZoneInfo], policy: Policy
) -> list[PreviousAppointment]:
    """Last week's appointments as weekday, local time and site."""
    prev = shift_week(week, -1)
    monday = monday_of(prev)
    slot_at: dict[int, tuple[int, int, str]] = {}
    for r in conn.execute(select(S.c.id, S.c.site_code, S.c.starts_at).where(S.c.week == prev)):
        day, minute = _local_day_minute(r.starts_at, site_tz.get(r.site_code, policy.tz), monday)
        slot_at[r.id] = (day, minute, r.site_code)
    out = []
    for pid, sid in conn.execute(
        select(A.c.person_id, A.c.slot_id).where(
            A.c.week == prev, A.c.status != CANCELLED, A.c.reason.not_in(EXTRA_REASONS)
        )
    ):
        at = slot_at.get(sid)
        if at is not None:
            out.append(PreviousAppointment(pid, at[0], at[1], at[2]))
    return out


def _store(
    conn: Connection,
    week: str,
    now: datetime,
    assignments: Sequence[Any],
    movable: dict[tuple[int, int], list[int]],
    by_id: dict[int, PlanSlot],
    people: dict[int, PlanPerson],
    reason: str = "plan",
) -> tuple[int, int, int]:
    """Write the difference between the new plan and the movable rows; returns (kept, added,
    cancelled)."""
    unused = {k: list(v) for k, v in movable.items()}
    by_slot: dict[int, list[tuple[int, str]]] = defaultdict(list)
    kept = 0
    for a in assignments:
        ids = unused.get((a.person_id, a.slot_id))
        if ids:
            ids.pop()
            kept += 1
            continue
        by_slot[a.slot_id].append((a.person_id, people[a.person_id].unit))
    gone = sorted(i for ids in unused.values() for i in ids)
    for part in _chunks(gone):
        conn.execute(
            update(A).where(A.c.id.in_(list(part))).values(status=CANCELLED, updated_at=now)
        )
    # In slot order: the appointment indexes then grow at their ends instead of being split
    # all over, which makes a bulk insert into SQLite about twice as fast.
    order = sorted(by_slot, key=lambda i: (by_id[i].starts_at, i))
    groups = (
        (
            (sid, s.site_code, week, s.starts_at, s.ends_at, SCHEDULED, reason, now, now),
            by_slot[sid],
        )
        for sid in order
        for s in (by_id[sid],)
    )
    added = bulk_insert_groups(conn, A, groups, own=APPOINTMENT_OWN, shared=APPOINTMENT_SHARED)
    return kept, added, len(gone)


def _finish_report(
    report: dict[str, Any],
    week: str,
    now: datetime,
    people: Sequence[PlanPerson],
    kept: int,
    added: int,
    cancelled: int,
    slots: int,
    sites: Sequence[SiteSpec],
) -> dict[str, Any]:
    by_no = {p.employee_no: p for p in people}
    unscheduled = []
    for u in report["unscheduled"]:
        p = by_no.get(u["employee_no"])
        unscheduled.append(
            {
                **u,
                "department": p.department if p else "",
                "grid_unit": p.unit if p else "",
                "message": REASONS.get(u["reason"], u["reason"]),
            }
        )
    return {
        "week": week,
        "planned_at": now.astimezone(UTC).isoformat(),
        "required": report["required"],
        "scheduled": report["scheduled"],
        "unscheduled": unscheduled,
        "kept": kept,
        "added": added,
        "cancelled": cancelled,
        "slots": slots,
        "sites": [s.code for s in sites],
        **{k: v for k, v in report.items() if k not in ("required", "scheduled", "unscheduled")},
    }


def latest_report(engine: Engine, week: str) -> dict[str, Any] | None:
    """The report of the week's most recent plan, or None if it was never planned."""
    table = tables.PLAN_RUN
    with engine.connect() as conn:
        row = conn.execute(
            select(table.c.report)
            .where(table.c.week == normalise_week(week))
            .order_by(table.c.planned_at.desc(), table.c.id.desc())
            .limit(1)
        ).first()
    return dict(row.report) if row else None


# ------------------------------------------------------------------------------------------------
# mid-week: newcomers and contacts


def add_midweek(
    engine: Engine,
    person_ids: Iterable[int],
    now: datetime,
    policy: Policy,
    sites: Sequence[SiteSpec],
    reason: str = "midweek",
    earliest: date | None = None,
    *,
    config_dir: Path | None = None,
) -> dict[str, Any]:
    """Book the earliest feasible slots left for people who need them now.

    ``reason="midweek"``: a person added during the week gets their week's remaining tests (what
    their category, surge rules and exemptions ask, less appointments they already have), each in
    the earliest slot that keeps the shift, site, gap and capacity rules.
    ``reason="contact"``: a positive case's contact gets one extra test from ``earliest`` (say,
    tomorrow) on; it does not count toward their weekly tests, and nobody is booked twice on the
    ``earliest`` day.

    The week is the one holding ``earliest`` (else today, in the policy's zone). Returns
    ``{week, booked, added: [{employee_no, site, starts_at, ends_at}], unscheduled:
    [{employee_no, reason, missing}], already_booked: [employee_no]}``.
    """
    if reason not in ("midweek", "contact"):
        raise ValueError(f"reason must be 'midweek' or 'contact', not {reason!r}")
    if now.tzinfo is None:
        raise ValueError("add_midweek needs an aware 'now'")
    ids = sorted(set(person_ids))
    day = earliest or now.astimezone(policy.tz).date()
    week = week_label(day)
    monday = monday_of(week)
    tests_for = tests_per_week_lookup(config_dir or Path("config"), policy)
    site_tz = {s.code: s.tz for s in sites}
    with engine.begin() as conn:
        _lock(conn)
        from testrota.org.modes import apart_grid_units, week_flags

        # A newcomer follows their unit's mode as the weekly plan does (static: daily and in
        # their grid unit's own slots; onsite: residents daily at on-site sites, the others not
        # at all; wfh: not at a site), and nobody joins a static grid unit's slots.
        policy, people = (
            _people_in_modes(conn, policy, monday, tests_for, ids) if ids else (policy, [])
        )
        alone = apart_grid_units(conn, week_flags(conn, monday))
        _sync_sites(conn, sites)
        slots = _week_slots(conn, week, sites)
        by_id = {s.id: s for s in slots}
        occupancy: dict[int, dict[str, int]] = defaultdict(dict)
        for r in conn.execute(
            select(A.c.slot_id, A.c.grid_unit, func.count())
            .where(A.c.week == week, A.c.status != CANCELLED, A.c.slot_id.is_not(None))
            .group_by(A.c.slot_id, A.c.grid_unit)
        ):
            occupancy[r[0]][r[1] or ""] = r[2]
        existing = []
        if ids:
            for r in conn.execute(
                select(A.c.person_id, A.c.slot_id, A.c.site_code, A.c.starts_at, A.c.reason).where(
                    A.c.week == week, A.c.status != CANCELLED, A.c.person_id.in_(ids)
                )
            ):
                slot = by_id.get(r.slot_id)
                d = (
                    slot.day
                    if slot
                    else _local_day_minute(
                        r.starts_at, site_tz.get(r.site_code, policy.tz), monday
                    )[0]
                )
                existing.append(
                    FixedAppointment(
                        r.person_id, d, r.slot_id, counts=r.reason not in EXTRA_REASONS
                    )
                )
        result = plan_earliest(
            people,
            slots,
            policy,
            now,
            week_start=monday,
            sites=[s.scope for s in sites],
            occupancy=occupancy,
            existing=existing,
            earliest=earliest,
            extra=reason == "contact",
            alone=alone,
        )
        by_person = {p.id: p for p in people}
        _store(conn, week, now, result.assignments, {}, by_id, by_person, reason=reason)
    added = []
    for a in result.assignments:
        slot = by_id[a.slot_id]
        tz = site_tz.get(slot.site_code, policy.tz)
        added.append(
            {
                "employee_no": by_person[a.person_id].employee_no,
                "site": slot.site_code,
                "starts_at": slot.starts_at.astimezone(tz).isoformat(),
                "ends_at": slot.ends_at.astimezone(tz).isoformat(),
            }
        )
    missing_people = sorted(set(ids) - set(by_person))
    return {
        "week": week,
        "reason": reason,
        "booked": len(added),
        "added": added,
        "unscheduled": result.report["unscheduled"],
        "already_booked": result.report["already_booked"],
        "not_found": missing_people,
    }


# ------------------------------------------------------------------------------------------------
# reading the schedule


def _site_zones(conn: Connection, policy: Policy) -> dict[str, ZoneInfo]:
    table = tables.SITE
    out: dict[str, ZoneInfo] = {}
    for r in conn.execute(select(table.c.code, table.c.timezone)):
        try:
            out[r.code] = ZoneInfo(r.timezone)
        except Exception:  # a zone this machine does not know: show the policy's
            out[r.code] = policy.tz
    return out


def schedule_rows(
    engine: Engine,
    week: str,
    policy: Policy,
    *,
    employee_no: str | None = None,
    include_cancelled: bool = False,
) -> list[dict[str, Any]]:
    """The week's appointments, times in each site's own zone (ISO 8601 with offset)."""
    week = normalise_week(week)
    with engine.connect() as conn:
        zones = _site_zones(conn, policy)
        query = (
            select(
                A.c.id,
                A.c.site_code,
                A.c.starts_at,
                A.c.ends_at,
                A.c.status,
                A.c.grid_unit,
                A.c.reason,
                P.c.employee_no,
                P.c.name,
                P.c.department,
            )
            .join(P, P.c.id == A.c.person_id)
            .where(A.c.week == week)
            .order_by(A.c.site_code, A.c.starts_at, P.c.employee_no)
        )
        if not include_cancelled:
            query = query.where(A.c.status != CANCELLED)
        if employee_no is not None:
            found = conn.execute(select(P.c.id).where(P.c.employee_no == employee_no)).first()
            if found is None:
                raise UserError("no person with employee number {number!r}", number=employee_no)
            query = query.where(A.c.person_id == found.id)
        rows = []
        for r in conn.execute(query):
            tz = zones.get(r.site_code, policy.tz)
            rows.append(
                {
                    "employee_no": r.employee_no,
                    "name": r.name,
                    "department": r.department,
                    "grid_unit": r.grid_unit,
                    "site": r.site_code,
                    "starts_at": r.starts_at.astimezone(tz).isoformat(),
                    "ends_at": r.ends_at.astimezone(tz).isoformat(),
                    "status": r.status,
                    "reason": r.reason,
                    # what the test is for: a recheck of a positive pool, a contact's extra
                    # test, or the routine of the plan
                    "kind": {"recheck": "recheck", "contact": "contact"}.get(r.reason, "routine"),
                    "appointment_id": r.id,
                }
            )
    return rows


def slot_summary(engine: Engine, week: str, policy: Policy) -> list[dict[str, Any]]:
    """The week by site, day and slot: seats booked of capacity and the grid units in each."""
    week = normalise_week(week)
    with engine.connect() as conn:
        zones = _site_zones(conn, policy)
        units: dict[int, dict[str, int]] = defaultdict(dict)
        for r in conn.execute(
            select(A.c.slot_id, A.c.grid_unit, func.count())
            .where(A.c.week == week, A.c.status != CANCELLED, A.c.slot_id.is_not(None))
            .group_by(A.c.slot_id, A.c.grid_unit)
        ):
            units[r[0]][r[1] or ""] = r[2]
        rows = []
        for r in conn.execute(
            select(S.c.id, S.c.site_code, S.c.starts_at, S.c.ends_at, S.c.capacity)
            .where(S.c.week == week)
            .order_by(S.c.site_code, S.c.starts_at)
        ):
            held = units.get(r.id)
            if not held:
                continue
            tz = zones.get(r.site_code, policy.tz)
            start = r.starts_at.astimezone(tz)
            rows.append(
                {
                    "site": r.site_code,
                    "date": start.date().isoformat(),
                    "weekday": start.strftime("%a"),
                    "time": f"{start:%H:%M}-{r.ends_at.astimezone(tz):%H:%M}",
                    "booked": sum(held.values()),
                    "capacity": r.capacity,
                    "grid_units": ", ".join(f"{u} ({n})" for u, n in sorted(held.items())),
                }
            )
    return rows


def book_newcomers(
    engine: Engine, now: datetime, policy: Policy, config_dir: Path
) -> dict[str, Any] | None:
    """Give people who became high-risk after this week was planned their slots now.

    Called after every roster import, so HR need not remember to re-plan mid-week. Does nothing
    (None) when the current week has not been planned yet: the weekly plan will include them.
    """
    week = week_label(now.astimezone(policy.tz).date())
    appointment = tables.APPOINTMENT
    person = tables.PERSON
    plan_run = tables.PLAN_RUN
    with engine.connect() as conn:
        planned = conn.execute(
            select(func.count()).select_from(plan_run).where(plan_run.c.week == week)
        ).scalar_one()
        if not planned:
            return None
        booked = (
            select(appointment.c.person_id)
            .where(appointment.c.week == week, appointment.c.status != "cancelled")
            .scalar_subquery()
        )
        ids = list(
            conn.execute(
                select(person.c.id).where(
                    person.c.active.is_(True),
                    person.c.risk_category.is_not(None),
                    person.c.id.not_in(booked),
                )
            ).scalars()
        )
        from testrota.org.modes import week_flags

        # Static and onsite modes test people whatever their category (everyone in a static
        # unit, the residents of an onsite one): a newcomer there is booked as well.
        flags = week_flags(conn, monday_of(week))
        covered = sorted(flags.apart | flags.onsite)
        if covered:
            have = set(ids) | set(
                conn.execute(
                    select(appointment.c.person_id).where(
                        appointment.c.week == week, appointment.c.status != "cancelled"
                    )
                ).scalars()
            )
            ids = sorted(set(ids) | (set(covered) - have))
    if not ids:
        return {"week": week, "booked": 0, "added": [], "unscheduled": []}
    sites = load_sites(config_dir, policy)
    return add_midweek(engine, ids, now, policy, sites, reason="midweek", config_dir=config_dir)

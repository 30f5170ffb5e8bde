"""Setting a unit's emergency mode (``testrota mode set``), audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection, insert, select

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.db import tables
from testrota.db.engine import session_scope
from testrota.errors import UserError
from testrota.org.units import PERSON, UNIT, find_unit, subtree_condition
from testrota.statuses import UnitMode

log = logging.getLogger(__name__)

MAX_REASON = 400
MAX_DAYS = 366


@dataclass(frozen=True)
class SetMode:
    unit: str  # a path (with or without the root) or a code
    mode: str  # normal | static | onsite | wfh | keep-production
    start: date
    reason: str
    actor: Actor
    end: date | None = None  # open-ended when None
    scope: Scope = field(default_factory=Scope.everything)


@dataclass(frozen=True)
class ModeSet:
    id: int
    unit: str
    mode: str
    start: date
    end: date | None
    reason: str
    set_by: str
    set_at: datetime
    # weeks already planned that the change reaches, planned again at once (their coming
    # appointments follow the mode; reminder texts follow the new appointments as always)
    replanned: list[str] = field(default_factory=list)
    # "your plan changed" texts queued: one per person whose coming appointments changed
    texted: int = 0
    # people whose plan changed but who could not be texted: no TESTROTA_SECRET_KEY to sign
    # the personal link every text carries (a deployment that sends texts has one)
    not_texted: int = 0
    # people the re-planned weeks left without a test, by the planner's reason code
    # (``no_slot_of_own``, ``no_onsite_site``, …): what the mode asks may not fit the slots
    unplaced: dict[str, int] = field(default_factory=dict)


def set_mode(app: App, cmd: SetMode) -> ModeSet:
    """Put a unit (and everything below it without a mode of its own) in a mode from a day;
    audited as ``unit.mode_set``. The weeks already planned that it reaches are planned again
    at once, and each person whose coming appointments changed gets a "your plan changed" text
    (after quiet hours). Onsite mode is refused where the people living on site could not be
    tested (no on-site testing site serves them)."""
    from testrota.actions.units import ensure_units

    mode = cmd.mode.strip().lower().replace("_", "-")
    if mode not in set(UnitMode):
        raise UserError(
            "unknown mode {mode!r}; use one of {known}",
            mode=cmd.mode,
            known=", ".join(m.value for m in UnitMode),
        )
    reason = " ".join((cmd.reason or "").split())
    if not reason or len(reason) > MAX_REASON:
        raise UserError("give a reason of 1 to {limit} characters (--reason)", limit=MAX_REASON)
    if cmd.end is not None and cmd.end < cmd.start:
        raise UserError(
            "--to {end} is before --from {start}",
            end=cmd.end.isoformat(),
            start=cmd.start.isoformat(),
        )
    if cmd.end is not None and (cmd.end - cmd.start).days >= MAX_DAYS:
        raise UserError("a mode is set for at most {days} days at a time", days=MAX_DAYS)
    ensure_units(app, cmd.actor)
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        conn = session.connection()
        unit = find_unit(conn, app.org, cmd.unit)
        if not cmd.scope.allows_unit(unit.path):
            raise UserError("{unit} is not one of your units", unit=unit.path)
        if mode == UnitMode.ONSITE:
            _check_onsite_sites(app, conn, unit.path)
        inserted = conn.execute(
            insert(tables.UNIT_MODE_CHANGE).values(
                unit_id=unit.id,
                mode=mode,
                start_date=cmd.start,
                end_date=cmd.end,
                reason=reason,
                set_by=str(cmd.actor),
                set_at=now,
            )
        ).inserted_primary_key
        assert inserted is not None
        change_id = int(inserted[0])
        record(
            session,
            cmd.actor,
            Action.MODE_SET,
            "orgunit",
            unit.id,
            at=now,
            details={
                "unit": unit.path,
                "mode": mode,
                "from": cmd.start.isoformat(),
                "to": cmd.end.isoformat() if cmd.end else None,
                "reason": reason,
            },
        )
    replanned, texted, not_texted, unplaced = _replan(
        app, change_id, cmd.start, cmd.end, now, cmd.actor
    )
    return ModeSet(
        change_id,
        unit.path,
        mode,
        cmd.start,
        cmd.end,
        reason,
        str(cmd.actor),
        now,
        replanned,
        texted,
        not_texted,
        unplaced,
    )


def _check_onsite_sites(app: App, conn: Connection, path: str) -> None:
    """Refuse onsite mode where the people living on site could not be tested: no site is
    marked ``onsite: true`` in sites.yaml, or none of those serves some of the unit's
    residents (the planner would book them nowhere)."""
    from testrota.scheduling.sites import load_sites

    onsite = [s for s in load_sites(app.config_dir, app.policy) if s.onsite]
    if not onsite:
        raise UserError(
            "no testing site is marked as on site (onsite: true in sites.yaml), so the people "
            "living on site in {unit} could not be tested; mark the on-site testing site first",
            unit=path,
        )
    units = select(UNIT.c.id).where(subtree_condition(path, binary=conn.dialect.name == "sqlite"))
    unserved = sorted(
        no
        for no, department, grid in conn.execute(
            select(PERSON.c.employee_no, PERSON.c.department, PERSON.c.grid_unit).where(
                PERSON.c.active.is_(True),
                PERSON.c.on_site.is_(True),
                PERSON.c.unit_id.in_(units),
            )
        )
        if not any(s.serves(department or "", grid or department or "") for s in onsite)
    )
    if unserved:
        raise UserError(
            "no on-site testing site serves {n} people living on site in {unit} (such as "
            "{example}); add them to an on-site site's serves in sites.yaml first",
            n=len(unserved),
            unit=path,
            example=unserved[0],
        )


def _replan(
    app: App, change_id: int, start: date, end: date | None, now: datetime, actor: Actor
) -> tuple[list[str], int, int, dict[str, int]]:
    """Plan again the weeks already planned that the change covers and that are not over, and
    text the people whose coming appointments changed; returns the weeks, the texts queued,
    the people left untexted for want of a signing key and the people left unplaced by
    reason (summed over the weeks)."""
    from testrota.actions.plan import PlanWeek, plan_week
    from testrota.notify.links import make_personal_link, signing_secret
    from testrota.notify.plan_changes import (
        changed_people,
        coming_bookings,
        enqueue_plan_changes,
    )
    from testrota.notify.templates import load_templates
    from testrota.weeks import current_week

    with app.engine.connect() as conn:
        planned = set(conn.execute(select(tables.PLAN_RUN.c.week).distinct()).scalars())
    this_week = str(current_week(now, app.policy.tz))
    first = start.isocalendar()
    weeks = []
    for label in sorted(planned):
        if label < this_week or label < f"{first[0]}-W{first[1]:02d}":
            continue
        if end is not None:
            last = end.isocalendar()
            if label > f"{last[0]}-W{last[1]:02d}":
                continue
        weeks.append(label)
    if not weeks:
        return weeks, 0, 0, {}
    with app.engine.connect() as conn:
        before = coming_bookings(conn, weeks, now)
    unplaced: dict[str, int] = {}
    for label in weeks:
        for reason, n in plan_week(app, PlanWeek(actor, label)).unplaced.items():
            unplaced[reason] = unplaced.get(reason, 0) + n
    try:
        signing_secret(app.settings)
    except UserError:
        with app.engine.connect() as conn:
            left = len(changed_people(before, coming_bookings(conn, weeks, now)))
        if left:
            log.warning(
                "%s people's plan changed; not texted: TESTROTA_SECRET_KEY is not set", left
            )
        return weeks, 0, left, unplaced
    templates = load_templates(app.config_dir, app.policy.sms.max_segments)
    with app.engine.begin() as conn:
        texted = enqueue_plan_changes(
            conn,
            before,
            coming_bookings(conn, weeks, now),
            f"mode:{change_id}",
            now,
            app.policy.reminders,
            app.policy.timezone,
            templates,
            lambda pid: make_personal_link(app.settings, pid, now),
        )
    return weeks, texted, 0, unplaced

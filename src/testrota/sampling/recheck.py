"""The single-tube recheck of a positive pool's members (单采复核): booked at once, texted at once.

Each member gets the earliest slot with room, from now to ``testing.recheck_hours`` ahead, at a
site that serves them (the tube's own site first among slots at the same time). The person's
shift is not asked: someone in a positive pool is isolated until the recheck, not at work. The
text goes out through the outbox at once, after the quiet hours unless
``testing.recheck_ignores_quiet_hours``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select

from testrota.db import tables
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.settings import Settings
from testrota.statuses import AppointmentReason, AppointmentStatus
from testrota.weeks import week_of

log = logging.getLogger(__name__)

KIND_RECHECK = "recheck"
A = tables.APPOINTMENT
P = tables.PERSON
S = tables.SLOT
TR = tables.TEST_RESULT


@dataclass(frozen=True)
class SlotOption:
    id: int
    site_code: str
    starts_at: datetime
    ends_at: datetime
    free: int


def choose_slot(
    options: Sequence[SlotOption],
    serves: Callable[[str], bool],
    now: datetime,
    deadline: datetime,
    prefer_site: str | None,
) -> SlotOption | None:
    """The earliest slot with room that has not started yet and starts by ``deadline``, at a
    site ``serves`` says serves the person; ``prefer_site`` wins a tie."""
    fit = [
        o for o in options if o.free > 0 and now <= o.starts_at <= deadline and serves(o.site_code)
    ]
    if not fit:
        return None
    return min(fit, key=lambda o: (o.starts_at, o.site_code != prefer_site, o.site_code))


def recheck_deadline(now: datetime, hours: int) -> datetime:
    """``hours`` of real time after ``now``: across a change of the clocks too (an aware local
    datetime plus a timedelta would count wall-clock hours, one more or one fewer)."""
    return now.astimezone(UTC) + timedelta(hours=hours)


@dataclass(frozen=True)
class Recheck:
    person_id: int
    tube: str
    sampled_at: datetime  # the pooled sample's time: a recheck booked since then counts
    site_code: str | None


@dataclass(frozen=True)
class RecheckBooking:
    """What booking the rechecks of a result sheet did (after the sheet committed)."""

    people: int
    booked: int
    already: int  # had a recheck booked since their pooled sample
    texted: int
    unscheduled: list[dict[str, Any]] = field(default_factory=list)  # {employee_no, tube, reason}
    error: str | None = None


def book_rechecks(
    engine: Engine,
    rechecks: Iterable[Recheck],
    now: datetime,
    policy: Policy,
    settings: Settings,
    config_dir: Path,
) -> RecheckBooking | None:
    """Book and text a recheck for each person (None when there is nobody); safe to run twice."""
    wanted = {r.person_id: r for r in rechecks}
    if not wanted:
        return None
    from testrota.scheduling.service import _lock, _sync_sites, _week_slots
    from testrota.scheduling.sites import load_sites

    deadline = recheck_deadline(now, policy.testing.recheck_hours)
    try:
        sites = load_sites(config_dir, policy)
    except UserError as exc:
        log.warning("rechecks not booked: %s", exc)
        return RecheckBooking(len(wanted), 0, 0, 0, error=str(exc))
    specs = {s.code: s for s in sites}
    weeks = sorted({str(week_of(now, policy.tz)), str(week_of(deadline, policy.tz))})
    booked: list[tuple[int, int]] = []  # (person, appointment)
    unscheduled: list[dict[str, Any]] = []
    already = 0
    with engine.begin() as conn:
        _lock(conn)
        _sync_sites(conn, sites)
        for week in weeks:
            _week_slots(conn, week, sites)
        taken: dict[int, int] = dict(
            conn.execute(
                select(A.c.slot_id, func.count())
                .where(A.c.status != AppointmentStatus.CANCELLED, A.c.slot_id.is_not(None))
                .where(A.c.starts_at >= now, A.c.starts_at <= deadline)
                .group_by(A.c.slot_id)
            ).all()
        )
        slots = [
            SlotOption(r.id, r.site_code, r.starts_at, r.ends_at, r.capacity - taken.get(r.id, 0))
            for r in conn.execute(
                select(S.c.id, S.c.site_code, S.c.starts_at, S.c.ends_at, S.c.capacity).where(
                    S.c.starts_at >= now, S.c.starts_at <= deadline
                )
            )
        ]
        people = {
            r.id: r
            for r in conn.execute(
                select(P.c.id, P.c.employee_no, P.c.department, P.c.grid_unit, P.c.active).where(
                    P.c.id.in_(sorted(wanted))
                )
            )
        }
        have = {
            r.person_id: r.created_at
            for r in conn.execute(
                select(A.c.person_id, func.max(A.c.created_at).label("created_at"))
                .where(
                    A.c.person_id.in_(sorted(wanted)),
                    A.c.reason == AppointmentReason.RECHECK,
                    A.c.status != AppointmentStatus.CANCELLED,
                )
                .group_by(A.c.person_id)
            )
        }
        for person_id, recheck in sorted(wanted.items()):
            person = people.get(person_id)
            if person is None or not person.active:
                continue
            since = have.get(person_id)
            if since is not None and since >= recheck.sampled_at:
                already += 1
                continue

            def serves(code: str, p: Any = person) -> bool:
                spec = specs.get(code)
                return spec is None or spec.serves(p.department or "", p.grid_unit or "")

            slot = choose_slot(slots, serves, now, deadline, recheck.site_code)
            if slot is None:
                unscheduled.append(
                    {
                        "employee_no": person.employee_no,
                        "tube": recheck.tube,
                        "reason": "no slot with room within "
                        f"{policy.testing.recheck_hours} h at a site that serves them",
                    }
                )
                continue
            slots = [
                SlotOption(o.id, o.site_code, o.starts_at, o.ends_at, o.free - 1)
                if o.id == slot.id
                else o
                for o in slots
            ]
            appointment_id = conn.execute(
                insert(A)
                .values(
                    person_id=person_id,
                    slot_id=slot.id,
                    site_code=slot.site_code,
                    week=str(week_of(slot.starts_at, policy.tz)),
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    grid_unit=person.grid_unit or "",
                    status=AppointmentStatus.SCHEDULED,
                    reason=AppointmentReason.RECHECK,
                    created_at=now,
                    updated_at=now,
                )
                .returning(A.c.id)
            ).scalar_one()
            booked.append((person_id, appointment_id))
    texted, error = 0, None
    if booked:
        # Its own transaction: a text that cannot be made (no signing key for the link) must
        # not undo the bookings; the reminders job texts them later all the same.
        try:
            with engine.begin() as conn:
                texted = _text(conn, [a for _, a in booked], now, policy, settings)
        except UserError as exc:
            log.warning("recheck texts not queued: %s", exc)
            error = f"booked, but not texted: {exc}"
    return RecheckBooking(len(wanted), len(booked), already, texted, unscheduled, error)


def _text(
    conn: Any, appointment_ids: list[int], now: datetime, policy: Policy, settings: Settings
) -> int:
    """The recheck text of each appointment, into the outbox (its dedupe key: once each)."""
    from zoneinfo import ZoneInfo

    from testrota.notify.enqueue import _Links, insert_rows
    from testrota.notify.outbox import OutboxRow, quiet_window_end
    from testrota.notify.templates import load_templates, local_date_time

    templates = load_templates(settings.config_dir, policy.sms.max_segments)
    links = _Links(settings, now)
    site = tables.SITE
    rows = []
    query = (
        select(
            A.c.id,
            A.c.person_id,
            A.c.starts_at,
            A.c.site_code,
            P.c.name,
            P.c.phone,
            P.c.language,
            P.c.opted_out,
            site.c.name.label("site_name"),
            site.c.timezone,
        )
        .select_from(
            A.join(P, P.c.id == A.c.person_id).outerjoin(site, site.c.code == A.c.site_code)
        )
        .where(A.c.id.in_(appointment_ids))
    )
    ignore_quiet = policy.testing.recheck_ignores_quiet_hours
    for r in conn.execute(query):
        if not r.phone:
            continue
        tz_name = r.timezone or policy.timezone
        tz = ZoneInfo(tz_name)
        due = now if ignore_quiet else quiet_window_end(now, tz, policy.reminders)
        day, clock = local_date_time(r.starts_at, tz, r.language)
        rendered = templates.render(
            KIND_RECHECK,
            r.language,
            name=r.name,
            date=day,
            time=clock,
            site=r.site_name or r.site_code,
            link=links(r.person_id),
        )
        rows.append(
            OutboxRow.of(
                rendered,
                kind=KIND_RECHECK,
                dedupe_key=f"recheck:appt:{r.id}",
                to=r.phone,
                due_at=due,
                expires_at=r.starts_at,
                tz=None if ignore_quiet else tz_name,
                person_id=r.person_id,
                appointment_id=r.id,
            )
        )
    return insert_rows(conn, rows, now)

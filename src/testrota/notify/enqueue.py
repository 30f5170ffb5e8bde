"""Put texts into the outbox: reminders from the plan, and the other kinds. The I/O shell.

Every function is idempotent: rows are keyed (``Message.dedupe_key`` is unique) and inserted with
``ON CONFLICT DO NOTHING``, so any number of workers may run them at once and as often as they
like. Rendering is skipped for keys already present, which keeps a 48-hour sync cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, and_, exists, func, not_, select
from sqlalchemy.dialects import postgresql, sqlite

from testrota.db import tables
from testrota.db.statistics import refresh_statistics
from testrota.notify.claims import update_unheld
from testrota.notify.links import make_personal_link
from testrota.notify.outbox import (
    KIND_MISSED,
    KIND_POSITIVE,
    REMINDER_KINDS,
    BoosterTarget,
    MissedGroup,
    MissedTarget,
    OutboxRow,
    PositiveCase,
    Recipient,
    ReminderTarget,
    digest_line,
    plan_booster_campaign,
    plan_digests,
    plan_missed_notices,
    plan_positive_alerts,
    plan_reminders,
    reaches,
)
from testrota.notify.templates import Templates, load_templates
from testrota.policy import Policy
from testrota.settings import Settings

M: Table = tables.MESSAGE
P: Table = tables.PERSON
A: Table = tables.APPOINTMENT
S: Table = tables.SITE
U: Table = tables.USER
AL: Table = tables.ALERT
AC: Table = tables.ALERT_CONTACT
TR: Table = tables.TEST_RESULT
OU: Table = tables.ORG_UNIT

INSERT_CHUNK = 1000


@dataclass
class SyncReport:
    created: int = 0
    cancelled: int = 0
    readdressed: int = 0  # pending texts moved to a person's new phone number

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "cancelled": self.cancelled,
            "readdressed": self.readdressed,
        }


class _Links:
    """Personal links, one signature per person per run."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.settings, self.now = settings, now
        self._cache: dict[int, str] = {}

    def __call__(self, person_id: int) -> str:
        link = self._cache.get(person_id)
        if link is None:
            link = self._cache[person_id] = make_personal_link(self.settings, person_id, self.now)
        return link


class _Zones:
    def __init__(self, default: str) -> None:
        self.default = default
        self._cache: dict[str, ZoneInfo] = {}

    def __call__(self, name: str | None) -> tuple[str, ZoneInfo]:
        key = name or self.default
        if key not in self._cache:
            try:
                self._cache[key] = ZoneInfo(key)
            except (KeyError, ValueError):
                key = self.default
                self._cache.setdefault(key, ZoneInfo(key))
        return key, self._cache[key]


def _templates(settings: Settings, policy: Policy, templates: Templates | None) -> Templates:
    return templates or load_templates(settings.config_dir, policy.sms.max_segments)


def insert_rows(conn: Connection, rows: Sequence[OutboxRow], now: datetime) -> int:
    """Insert outbox rows, skipping keys already present; returns how many were new.

    Rows go in the order of their keys. Every worker runs the same jobs, so two may insert the
    same keys at once; an insert meeting a key another has inserted but not committed waits for
    it, and two transactions waiting so in opposite orders deadlock.
    """
    if not rows:
        return 0
    rows = sorted(rows, key=lambda r: r.dedupe_key)
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(M).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(M.c.id)
    inserted = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = [
            {
                "kind": r.kind,
                "dedupe_key": r.dedupe_key,
                "person_id": r.person_id,
                "appointment_id": r.appointment_id,
                "user_id": r.user_id,
                "to": r.to,
                "body": r.body,
                "due_at": r.due_at,
                "expires_at": r.expires_at,
                "status": "pending",
                "attempts": 0,
                "segments": r.segments,
                "tz": r.tz,
                "language": r.language,
                "params": r.params,
                "created_at": now,
            }
            for r in rows[start : start + INSERT_CHUNK]
        ]
        inserted += len(conn.execute(stmt, chunk).all())
    return inserted


def _existing_keys(conn: Connection, condition: Any) -> set[str]:
    return set(conn.execute(select(M.c.dedupe_key).where(condition)).scalars())


# ---------------------------------------------------------------- reminders


def cancel_stale_reminders(conn: Connection, appointment_ids: Sequence[int] | None = None) -> int:
    """Cancel pending reminders whose appointment is gone, not scheduled, or moved."""
    still_right = exists().where(
        A.c.id == M.c.appointment_id, A.c.status == "scheduled", A.c.starts_at == M.c.expires_at
    )
    condition = and_(M.c.status == "pending", M.c.kind.in_(REMINDER_KINDS), not_(still_right))
    if appointment_ids is not None:
        condition = and_(condition, M.c.appointment_id.in_(appointment_ids))
    return update_unheld(
        conn,
        condition,
        {"status": "cancelled", "error_message": "the appointment was moved or cancelled"},
    )


def _readdress(conn: Connection) -> int:
    """Pending texts follow a person's corrected phone number."""
    new_phone = select(P.c.phone).where(P.c.id == M.c.person_id).scalar_subquery()
    changed = exists().where(P.c.id == M.c.person_id, P.c.phone.is_not(None), P.c.phone != M.c.to)
    pending = and_(M.c.status == "pending", M.c.person_id.is_not(None), changed)
    return update_unheld(conn, pending, {"to": new_phone})


def sync_reminders(
    engine: Engine,
    now: datetime,
    policy: Policy,
    settings: Settings,
    *,
    templates: Templates | None = None,
    appointment_ids: Sequence[int] | None = None,
) -> SyncReport:
    """Make the outbox match the plan for the coming ``horizon_hours``.

    Cancels pending reminders of appointments that moved, were cancelled or deleted (a reminder
    never points at an old slot), re-addresses pending texts to corrected numbers, and creates
    the missing reminders. ``appointment_ids`` limits the work to those (after a reschedule).
    """
    tpl = _templates(settings, policy, templates)
    report = SyncReport()
    horizon_end = now + timedelta(hours=policy.reminders.horizon_hours)
    zones = _Zones(policy.timezone)
    links = _Links(settings, now)
    with engine.begin() as conn:
        report.cancelled = cancel_stale_reminders(conn, appointment_ids)
        if appointment_ids is None:
            report.readdressed = _readdress(conn)
        query = (
            select(
                A.c.id,
                A.c.person_id,
                A.c.starts_at,
                A.c.site_code,
                P.c.name,
                P.c.phone,
                P.c.language,
                S.c.name.label("site_name"),
                S.c.timezone,
            )
            .select_from(A.join(P, P.c.id == A.c.person_id).outerjoin(S, S.c.code == A.c.site_code))
            .where(
                A.c.status == "scheduled",
                A.c.starts_at > now,
                A.c.starts_at <= horizon_end,
                P.c.active.is_(True),
                P.c.phone.is_not(None),
                P.c.phone != "",
            )
        )
        key_scope = and_(
            M.c.kind.in_(REMINDER_KINDS), M.c.expires_at > now, M.c.expires_at <= horizon_end
        )
        if appointment_ids is not None:
            query = query.where(A.c.id.in_(appointment_ids))
            key_scope = and_(key_scope, M.c.appointment_id.in_(appointment_ids))
        targets = []
        for r in conn.execute(query):
            tz_name, tz = zones(r.timezone)
            targets.append(
                ReminderTarget(
                    appointment_id=r.id,
                    person_id=r.person_id,
                    name=r.name,
                    phone=r.phone,
                    language=r.language,
                    site_name=r.site_name or r.site_code,
                    tz_name=tz_name,
                    tz=tz,
                    starts_at=r.starts_at,
                )
            )
        existing = _existing_keys(conn, key_scope)
        rows = plan_reminders(targets, now, policy.reminders, tpl, links, existing)
        report.created = insert_rows(conn, rows, now)
    # The dispatchers claim these next, by a plan that must see them (db.statistics).
    refresh_statistics(engine, "message", report.created)
    return report


# ---------------------------------------------------------------- missed-test notices


def enqueue_missed_notices(
    engine: Engine,
    now: datetime,
    policy: Policy,
    settings: Settings,
    *,
    templates: Templates | None = None,
) -> int:
    """A notice with a rebooking offer for each test missed within ``missed_lookback_hours``."""
    if not policy.reminders.missed_notice:
        return 0
    tpl = _templates(settings, policy, templates)
    since = now - timedelta(hours=policy.reminders.missed_lookback_hours)
    zones = _Zones(policy.timezone)
    already = exists().where(M.c.appointment_id == A.c.id, M.c.kind == KIND_MISSED)
    with engine.begin() as conn:
        query = (
            select(
                A.c.id,
                A.c.person_id,
                A.c.starts_at,
                A.c.site_code,
                P.c.name,
                P.c.phone,
                P.c.language,
                S.c.name.label("site_name"),
                S.c.timezone,
            )
            .select_from(A.join(P, P.c.id == A.c.person_id).outerjoin(S, S.c.code == A.c.site_code))
            .where(
                A.c.status == "missed",
                A.c.ends_at >= since,
                A.c.ends_at <= now,
                P.c.active.is_(True),
                P.c.phone.is_not(None),
                P.c.phone != "",
                not_(already),
            )
        )
        targets = []
        for r in conn.execute(query):
            tz_name, tz = zones(r.timezone)
            targets.append(
                MissedTarget(
                    r.id,
                    r.person_id,
                    r.name,
                    r.phone,
                    r.language,
                    r.site_name or r.site_code,
                    tz_name,
                    tz,
                    r.starts_at,
                )
            )
        rows = plan_missed_notices(targets, now, policy.reminders, tpl, _Links(settings, now))
        return insert_rows(conn, rows, now)


# ---------------------------------------------------------------- positive-result alerts


def _recipients(conn: Connection, roles: Iterable[str]) -> list[tuple[Recipient, str]]:
    rows = conn.execute(
        select(U.c.id, U.c.name, U.c.phone, U.c.language, U.c.departments, U.c.units, U.c.role)
        .where(
            U.c.role.in_(list(roles)), U.c.active.is_(True), U.c.phone.is_not(None), U.c.phone != ""
        )
        .order_by(U.c.id)
    )
    return [
        (
            Recipient(
                r.id,
                r.name,
                r.phone,
                r.language or "zh",
                tuple(r.departments or ()),
                tuple(r.units or ()),
            ),
            r.role,
        )
        for r in rows
    ]


def enqueue_positive_alerts(
    engine: Engine,
    now: datetime,
    policy: Policy,
    settings: Settings,
    *,
    templates: Templates | None = None,
    lookback: timedelta = timedelta(days=7),
) -> int:
    """Text each open positive alert to HR and to the supervisors of the person's department
    or of a unit the person is in (or below)."""
    tpl = _templates(settings, policy, templates)
    tz_name = policy.timezone
    with engine.begin() as conn:
        alerts = conn.execute(
            select(
                AL.c.id,
                AL.c.person_id,
                P.c.name,
                P.c.employee_no,
                P.c.department,
                P.c.grid_unit,
                TR.c.sampled_at,
                OU.c.path,
            )
            .select_from(
                AL.join(P, P.c.id == AL.c.person_id)
                .join(TR, TR.c.id == AL.c.result_id)
                .outerjoin(OU, OU.c.id == P.c.unit_id)
            )
            .where(AL.c.status == "open", AL.c.created_at >= now - lookback)
        ).all()
        if not alerts:
            return 0
        contacts: dict[int, int] = dict(
            conn.execute(
                select(AC.c.alert_id, func.count())
                .where(AC.c.alert_id.in_([a.id for a in alerts]))
                .group_by(AC.c.alert_id)
            ).all()
        )
        people = _recipients(conn, ("supervisor", "hr"))
        existing = _existing_keys(
            conn,
            and_(M.c.kind == KIND_POSITIVE, M.c.created_at >= now - lookback - timedelta(days=1)),
        )
        rows: list[OutboxRow] = []
        for a in alerts:
            recipients = [
                r for r, role in people if role == "hr" or reaches(r, a.department, a.path)
            ]
            recipients = [
                r for r in recipients if f"positive:{a.id}:user:{r.user_id}" not in existing
            ]
            if not recipients:
                continue
            case = PositiveCase(
                a.id,
                a.name,
                a.employee_no,
                a.department,
                a.grid_unit,
                a.sampled_at,
                int(contacts.get(a.id, 0)),
            )
            rows += plan_positive_alerts(
                case,
                recipients,
                now,
                policy.reminders,
                tz_name,
                policy.tz,
                tpl,
                f"{settings.public_url}/alerts",
            )
        return insert_rows(conn, rows, now)


# ---------------------------------------------------------------- the supervisors' digest


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """UTC instants of local midnight at the start and end of ``day`` (23 or 25 h across DST)."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def missed_groups(conn: Connection, start: datetime, end: datetime) -> list[MissedGroup]:
    """Missed tests starting in ``[start, end)`` by department and unit: few rows (one per
    unit with someone missing), from which each supervisor's share is picked in Python."""
    rows = conn.execute(
        select(P.c.department, OU.c.path, func.count())
        .select_from(A.join(P, P.c.id == A.c.person_id).outerjoin(OU, OU.c.id == P.c.unit_id))
        .where(A.c.status == "missed", A.c.starts_at >= start, A.c.starts_at < end)
        .group_by(P.c.department, OU.c.path)
    ).all()
    return [MissedGroup(d or "", path, int(n)) for d, path, n in rows]


def enqueue_digests(
    engine: Engine,
    now: datetime,
    policy: Policy,
    settings: Settings,
    *,
    templates: Templates | None = None,
) -> int:
    """Each supervisor's count of yesterday's missed tests in their departments and units."""
    tpl = _templates(settings, policy, templates)
    tz = policy.tz
    yesterday = now.astimezone(tz).date() - timedelta(days=1)
    start, end = local_day_bounds(yesterday, tz)
    with engine.begin() as conn:
        groups = missed_groups(conn, start, end)
        lines = [digest_line(r, groups) for r, _role in _recipients(conn, ("supervisor",))]

        def link_for_day(day: date) -> str:
            year, week, _ = day.isocalendar()
            return f"{settings.public_url}/missed?week={year}-W{week:02d}"

        rows = plan_digests(
            lines, yesterday, now, policy.reminders, policy.timezone, tz, tpl, link_for_day
        )
        return insert_rows(conn, rows, now)


# ---------------------------------------------------------------- booster campaign


def enqueue_booster_campaign(
    engine: Engine,
    now: datetime,
    policy: Policy,
    settings: Settings,
    *,
    campaign: str | None = None,
    templates: Templates | None = None,
) -> int:
    """One booster text per active person without a booster, once per ``campaign``.

    The campaign defaults to the local month (``2022-05``): running it again that month adds
    only people who were not texted yet.
    """
    tpl = _templates(settings, policy, templates)
    name = campaign or now.astimezone(policy.tz).strftime("%Y-%m")
    no_booster = P.c.booster.is_(False)
    if policy.reminders.booster_include_unknown:
        no_booster = P.c.booster.is_not(True)
    with engine.begin() as conn:
        rows = conn.execute(
            select(P.c.id, P.c.name, P.c.phone, P.c.language)
            .where(
                P.c.active.is_(True),
                no_booster,
                P.c.phone.is_not(None),
                P.c.phone != "",
                P.c.opted_out.is_(False),
                P.c.phone_valid.is_(True),
            )
            .order_by(P.c.id)
        ).all()
        existing = _existing_keys(conn, M.c.dedupe_key.like(f"booster:{name}:%"))
        targets = [
            BoosterTarget(r.id, r.name, r.phone, r.language)
            for r in rows
            if f"booster:{name}:person:{r.id}" not in existing
        ]
        planned = plan_booster_campaign(
            name,
            targets,
            now,
            policy.reminders,
            policy.timezone,
            policy.tz,
            tpl,
            _Links(settings, now),
        )
        created = insert_rows(conn, planned, now)
    refresh_statistics(engine, "message", created)
    return created

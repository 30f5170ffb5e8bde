""" "Your plan changed" texts: after a unit's emergency mode re-planned its people, each person
whose coming appointments actually changed is told their next test (or that they have none at a
site for now). Pure planning of the rows, then one insert through the outbox (its unique key:
one text per mode change and person, however often it runs)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Connection, select

from testrota.db import tables
from testrota.notify.enqueue import insert_rows
from testrota.notify.outbox import KIND_PLAN_CHANGED, OutboxRow, quiet_window_end
from testrota.notify.templates import Templates, language_key, local_date_time
from testrota.policy import ReminderPolicy

P, A, S = tables.PERSON, tables.APPOINTMENT, tables.SITE
VALID_HOURS = 24  # the news is stale after a day: the reminders of the new plan follow anyway
NO_TEST = {"zh-Hans": "暂无，无需到采样点", "en": "none at a site for now"}

# A person's coming appointments: the (site, start) pairs still scheduled after a moment.
Bookings = Mapping[int, frozenset[tuple[str, datetime]]]


@dataclass(frozen=True)
class ChangedPlan:
    """A person whose coming appointments changed, with their next one (None: none left)."""

    person_id: int
    name: str
    phone: str
    language: str
    tz_name: str
    tz: tzinfo
    next_start: datetime | None = None
    next_site: str = ""


def changed_people(before: Bookings, after: Bookings) -> list[int]:
    """The people whose coming appointments differ between the two snapshots."""
    return sorted(
        pid
        for pid in before.keys() | after.keys()
        if before.get(pid, frozenset()) != after.get(pid, frozenset())
    )


def plan_change_texts(
    changes: Iterable[ChangedPlan],
    key: str,
    now: datetime,
    rules: ReminderPolicy,
    templates: Templates,
    link_for: Callable[[int], str],
) -> list[OutboxRow]:
    """One ``plan_changed`` text per person, due now or when their quiet hours end; ``key``
    names the change (``mode:12``) in each row's unique key."""
    rows = []
    for c in changes:
        due = quiet_window_end(now, c.tz, rules)
        if c.next_start is None:
            when = NO_TEST[language_key(c.language)]
        else:
            day, clock = local_date_time(c.next_start, c.tz, c.language)
            sep = ", " if language_key(c.language) == "en" else "，"
            when = f"{day} {clock}{sep}{c.next_site}"
        rendered = templates.render(
            KIND_PLAN_CHANGED, c.language, name=c.name, when=when, link=link_for(c.person_id)
        )
        rows.append(
            OutboxRow.of(
                rendered,
                kind=KIND_PLAN_CHANGED,
                dedupe_key=f"{KIND_PLAN_CHANGED}:{key}:person:{c.person_id}",
                to=c.phone,
                due_at=due,
                expires_at=due + timedelta(hours=VALID_HOURS),
                tz=c.tz_name,
                person_id=c.person_id,
            )
        )
    return rows


def coming_bookings(conn: Connection, weeks: Iterable[str], now: datetime) -> Bookings:
    """Everyone's scheduled appointments in ``weeks`` that start after ``now``."""
    out: dict[int, set[tuple[str, datetime]]] = {}
    labels = sorted(set(weeks))
    if not labels:
        return {}
    for pid, site, start in conn.execute(
        select(A.c.person_id, A.c.site_code, A.c.starts_at).where(
            A.c.week.in_(labels), A.c.status == "scheduled", A.c.starts_at > now
        )
    ):
        out.setdefault(pid, set()).add((site, start))
    return {pid: frozenset(v) for pid, v in out.items()}


def enqueue_plan_changes(
    conn: Connection,
    before: Bookings,
    after: Bookings,
    key: str,
    now: datetime,
    rules: ReminderPolicy,
    default_tz: str,
    templates: Templates,
    link_for: Callable[[int], str],
) -> int:
    """Text each person (active, not opted out, with a phone) whose coming appointments
    changed; returns how many texts are new."""
    from zoneinfo import ZoneInfo

    ids = changed_people(before, after)
    if not ids:
        return 0
    sites = {
        r.code: (r.name, r.timezone) for r in conn.execute(select(S.c.code, S.c.name, S.c.timezone))
    }
    changes = []
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        for r in conn.execute(
            select(P.c.id, P.c.name, P.c.phone, P.c.language).where(
                P.c.id.in_(part),
                P.c.active.is_(True),
                P.c.opted_out.is_(False),
                P.c.phone.is_not(None),
                P.c.phone != "",
            )
        ):
            coming = sorted(after.get(r.id, frozenset()), key=lambda b: b[1])
            site, starts = coming[0] if coming else ("", None)
            name, zone = sites.get(site, (site, None))
            try:
                tz_name = zone or default_tz
                tz = ZoneInfo(tz_name)
            except (KeyError, ValueError):
                tz_name, tz = default_tz, ZoneInfo(default_tz)
            changes.append(
                ChangedPlan(r.id, r.name, r.phone, r.language or "zh", tz_name, tz, starts, name)
            )
    return insert_rows(conn, plan_change_texts(changes, key, now, rules, templates, link_for), now)

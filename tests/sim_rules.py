"""When texts may go out, written again from the README for the simulation's ground truth.

The simulated week must not judge the system with the system's own code: a quiet-hours bug
shared by both would pass unseen. So the quiet window and the reminders' timetable are derived
here from their documented rules with a different method (quiet windows as intervals between a
start and its following end, not a comparison of clock times), and the dedupe key is the
documented format the outbox rows carry.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from testrota.policy import ReminderPolicy


def _at(day: date, clock: time, tz: tzinfo) -> datetime:
    # Through UTC, so a wall time that a daylight-saving change skipped becomes a real instant.
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC).astimezone(tz)


def quiet_interval(at: datetime, tz: tzinfo, rules: ReminderPolicy) -> tuple[datetime, datetime]:
    """The quiet window that contains ``at``: [start, end). An empty window when none does."""
    if rules.quiet_start == rules.quiet_end:
        return at, at
    local = at.astimezone(tz)
    for back in (0, 1):
        start = _at(local.date() - timedelta(days=back), rules.quiet_start, tz)
        if start > local:
            continue
        end_day = start.date() + timedelta(days=1 if rules.quiet_end <= rules.quiet_start else 0)
        end = _at(end_day, rules.quiet_end, tz)
        if local < end:
            return start, end
    return at, at


def is_quiet(at: datetime, tz: tzinfo, rules: ReminderPolicy) -> bool:
    start, end = quiet_interval(at, tz, rules)
    return start < end


def after_quiet(at: datetime, tz: tzinfo, rules: ReminderPolicy) -> datetime:
    """``at``, or the end of the quiet window it falls in."""
    start, end = quiet_interval(at, tz, rules)
    return end.astimezone(UTC) if start < end else at


def reminder_timetable(
    starts_at: datetime, tz: tzinfo, rules: ReminderPolicy
) -> list[tuple[str, datetime]]:
    """README: a text the evening before (local time, the day before the slot's local date) and
    one ``before_minutes`` before; none in quiet hours (a text due then waits for the morning);
    one that would then come after the slot began is dropped if an earlier text exists, else sent
    before the quiet hours began; two texts at one moment are one."""
    wanted: list[tuple[str, datetime]] = []
    if rules.evening_before is not None:
        day_before = starts_at.astimezone(tz).date() - timedelta(days=1)
        evening = _at(day_before, rules.evening_before, tz).astimezone(UTC)
        if evening < starts_at:
            wanted.append(("reminder_eve", evening))
    if rules.before_minutes:
        wanted.append(("reminder_before", starts_at - timedelta(minutes=rules.before_minutes)))
    out: list[tuple[str, datetime]] = []
    for kind, ideal in sorted(wanted, key=lambda kv: kv[1]):
        due = after_quiet(ideal, tz, rules)
        if due >= starts_at:
            if out:
                continue
            began, _ = quiet_interval(ideal, tz, rules)
            due = began.astimezone(UTC) - timedelta(minutes=rules.send_within_minutes)
        if out and due <= out[-1][1]:
            continue
        out.append((kind, due.astimezone(UTC)))
    return out


def reminder_dedupe_key(kind: str, appointment_id: int, starts_at: datetime) -> str:
    """The outbox's documented key: kind, appointment and the slot start (UTC, to the minute)."""
    return f"{kind}:appt:{appointment_id}:{starts_at.astimezone(UTC):%Y%m%dT%H%MZ}"

"""The audit trail: who did what to which record, when and why.

Every change a person (or a job) makes is written here by the use case that makes it, in the
same transaction, through :func:`record` — one enumerated :class:`Action` and one spelling of
the :class:`Actor`: ``cli:<login>``, ``web:<user>``, ``job:<name>``, ``me:<employee_no>`` (an
employee through their personal link), ``sms:<last digits>`` (a text reply) and
``provider:<name>`` (what an SMS provider reported).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlmodel import Session


class Action(StrEnum):
    # roster
    ROSTER_IMPORTED = "roster.imported"
    PERSON_UPDATED = "person.updated"
    PERSON_DEACTIVATED = "person.deactivated"
    PERSON_EXPORTED = "person.exported"
    PERSON_ERASED = "person.erased"
    PERSON_OPTED_OUT = "person.opted_out"
    PERSON_OPTED_IN = "person.opted_in"
    PHONE_INVALID = "person.phone_invalid"
    PHONE_REVEALED = "person.phone_revealed"  # given out to call the person (a tel: link)
    # high-risk categories
    CATEGORY_OVERRIDDEN = "risk.person_override"
    CATEGORY_OVERRIDE_CLEARED = "risk.person_override_cleared"
    ROLE_MAPPED = "risk.role_override"
    ROLE_UNMAPPED = "risk.role_override_cleared"
    RECLASSIFIED = "risk.reclassify"
    # plans and appointments
    WEEK_PLANNED = "plan.week"
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
    APPOINTMENT_EXCUSED = "appointment.excused"
    APPOINTMENT_UNEXCUSED = "appointment.unexcused"  # an exemption ended early gave it back
    # exemptions: days a person is excused and not planned (leave, a positive result)
    EXEMPTION_ADDED = "exemption.added"
    EXEMPTION_ENDED = "exemption.ended"
    EXEMPTION_REMOVED = "exemption.removed"  # ended before its first day
    # samples and results
    CHECKED_IN = "checkin.recorded"
    BADGES_PRINTED = "codes.badges_printed"
    TUBE_OPENED = "tube.opened"
    TUBE_CLOSED = "tube.closed"
    TUBE_PACKED = "tube.packed"
    RESULT_RECORDED = "result.recorded"
    RESULTS_IMPORTED = "results.imported"
    ALERT_RAISED = "alert.raised"
    ALERT_CLOSED = "alert.closed"
    ALERT_NOTED = "alert.noted"
    ALERT_EXPORTED = "alert.exported"  # it lists the contacts' phone numbers
    # texts
    MESSAGE_RETRIED = "message.retried"
    # the group: units and the daily report
    UNITS_SYNCED = "units.synced"
    REPORT_CONFIRMED = "report.confirmed"
    MODE_SET = "unit.mode_set"
    ROLLUP_REBUILT = "rollup.rebuilt"  # the daily roll-up counted again from raw rows
    ROLLUP_WEEKS_HELD = "rollup.weeks_held"  # the weekly roll-up took in new weeks (nightly)
    # users and uploads
    USER_ADDED = "user.added"
    USER_CHANGED = "user.changed"
    USER_SIGNED_IN = "user.signed_in"
    USER_SIGNED_OUT = "user.signed_out"
    USER_SIGNED_OUT_EVERYWHERE = "user.signed_out_everywhere"
    UPLOAD_CANCELLED = "upload.cancelled"


@dataclass(frozen=True)
class Actor:
    """Who acts: a door (``cli``, ``web``, ``job``, ``me``, ``sms``, ``provider``) and a name."""

    door: str
    name: str

    def __str__(self) -> str:
        return f"{self.door}:{self.name}"[:100]

    @classmethod
    def cli(cls, login: str | None = None) -> Actor:
        """The person at the terminal: their login name (``cli`` in a bare container)."""
        if login is None:
            try:
                login = getpass.getuser()
            except (KeyError, OSError):
                login = "unknown"
        return cls("cli", login)

    @classmethod
    def web(cls, user_name: str) -> Actor:
        return cls("web", user_name)

    @classmethod
    def job(cls, name: str) -> Actor:
        return cls("job", name)

    @classmethod
    def me(cls, employee_no: str) -> Actor:
        """An employee acting through their own personal link."""
        return cls("me", employee_no)

    @classmethod
    def sms(cls, phone: str) -> Actor:
        """A text reply: the last digits of the number, never the whole of it."""
        return cls("sms", phone[-4:])

    @classmethod
    def provider(cls, name: str) -> Actor:
        return cls("provider", name)


def record(
    db: Session | Connection,
    actor: Actor,
    action: Action,
    entity: str,
    entity_id: str | int = "",
    *,
    at: datetime,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Write one audit event in ``db``'s transaction."""
    record_many(db, actor, action, entity, [(entity_id, details)], at=at)


def record_many(
    db: Session | Connection,
    actor: Actor,
    action: Action,
    entity: str,
    events: Iterable[tuple[str | int, Mapping[str, Any] | None]],
    *,
    at: datetime,
) -> int:
    """Write one event per ``(entity_id, details)`` in one statement (a roster import's
    thousands of updates); returns how many."""
    # Imported here: the doors import this module for Actor at start-up, cheaply.
    from sqlalchemy import insert
    from sqlmodel import Session

    from testrota.db import tables
    from testrota.db.bulk import bulk_insert

    # A dict is written as it is: a roster's 300,000 change records are not copied first.
    rows = [
        (str(entity_id)[:64], details if type(details) is dict else dict(details or {}))
        for entity_id, details in events
    ]
    conn = db.connection() if isinstance(db, Session) else db
    if len(rows) == 1:
        entity_id, details = rows[0]
        # The bare INSERT with its values bound: a statement with the values in it was built
        # and keyed anew for every check-in.
        conn.execute(
            insert(tables.AUDIT_EVENT),
            {
                "at": at,
                "actor": str(actor),
                "action": action.value,
                "entity": entity,
                "entity_id": entity_id,
                "details": details,
            },
        )
    elif rows:
        bulk_insert(
            conn,
            tables.AUDIT_EVENT,
            rows,
            columns=("entity_id", "details"),
            constants={"at": at, "actor": str(actor), "action": action.value, "entity": entity},
        )
    return len(rows)

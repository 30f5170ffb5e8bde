"""``testrota erase-person``: anonymise one person, keeping the anonymous counts.

The person's row stays, under a new employee number (``erased-<id>``) with no name, phone or ID
number and opted out, so their appointments and results stay with it (statuses unchanged) and
the compliance figures do not change. Only a person already off the roster (inactive) is
erased: an active one would come back with the next roster import, and taking them off changes
the figures as any departure does, so that is asked for explicitly (``deactivate=True``).

What identifies them goes: texts' bodies and numbers, replies, reschedule offers, reasons
written about them, and their personal values in the audit log, in plan reports and in
roster-import error lists. The use case (:func:`testrota.actions.privacy.erase_person`) does it
all in one transaction with one audit event that records the erasure, without personal data.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select, update

from testrota.db import tables
from testrota.errors import UserError
from testrota.privacy.records import (
    AE,
    EX,
    IN,
    RO,
    A,
    M,
    P,
    audit_condition,
    find_person,
    inbound_condition,
    json_mentions,
    person_keys,
)
from testrota.statuses import MessageStatus

ERASED = "(erased)"
# Keys whose values in audit details or import errors are a person's own data.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "phone",
        "phone_raw",
        "id_number",
        "host_employee_no",
        "vaccination",
        "booster",
        "to",
        "body",
        "params",
        "wecom_userid",
        "from_number",
        "reply",
    }
)
# Texts that may still go out are stopped; the rest keep their status (the counts stay true).
UNSENT = (MessageStatus.PENDING, MessageStatus.UNKNOWN)

PR: Table = tables.PLAN_RUN
RI: Table = tables.ROSTER_IMPORT


def erased_number(person_id: int) -> str:
    return f"erased-{person_id}"


def scrub(value: Any, old_no: str, new_no: str, secrets: Collection[str]) -> Any:
    """``value`` (JSON data) with the person's traces replaced.

    ``old_no`` as a whole string becomes ``new_no``; values under :data:`PERSONAL_KEYS` become
    ``(erased)``; any string containing one of ``secrets`` (name, phone, ID number as stored and
    as written) has it replaced by ``(erased)``.
    """
    if isinstance(value, dict):
        return {
            k: (_erase_value(v) if k in PERSONAL_KEYS else scrub(v, old_no, new_no, secrets))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub(v, old_no, new_no, secrets) for v in value]
    if isinstance(value, str):
        if value == old_no:
            return new_no
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, ERASED)
        return value
    return value


def _erase_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):  # an update's [old, new]
        return [_erase_value(v) for v in value]
    return ERASED


def _secrets(person: dict[str, Any]) -> list[str]:
    found = {
        str(person[k]).strip()
        for k in ("name", "phone", "phone_raw", "id_number")
        if person.get(k) and len(str(person[k]).strip()) >= 2
    }
    # longest first, so a phone as written is replaced whole before its digits are
    return sorted(found, key=len, reverse=True)


@dataclass(frozen=True)
class EraseReport:
    erased: str  # the employee number they had
    employee_no: str  # the anonymous one they have now
    counts: dict[str, int]  # what was scrubbed, stopped, deleted or kept


def _rescrub_json(
    conn: Connection,
    table: Table,
    column: str,
    condition: Any,
    old_no: str,
    new_no: str,
    secrets: list[str],
) -> int:
    changed = 0
    col = table.c[column]
    for row_id, data in conn.execute(select(table.c.id, col).where(condition)).all():
        new = scrub(data, old_no, new_no, secrets)
        if new != data:
            conn.execute(update(table).where(table.c.id == row_id).values({column: new}))
            changed += 1
    return changed


def check_reason(reason: str) -> str:
    """The reason for an erasure, stripped; refused when empty or too long."""
    reason = (reason or "").strip()
    if not reason:
        raise UserError(
            "--reason is required: say why (it is kept in the audit log; write no "
            "personal data in it)"
        )
    if len(reason) > 400:
        raise UserError("the reason is longer than 400 characters; shorten it")
    return reason


def erase(
    conn: Connection, employee_no: str, now: datetime, *, deactivate: bool = False
) -> tuple[EraseReport, bool]:
    """Anonymise the person with ``employee_no`` in ``conn``'s transaction; returns what was
    done and whether they were still on the roster (taken off by ``deactivate``; without it an
    active person is refused).

    An IntegrityError means the anonymous number is taken (see :func:`erased_number`).
    """
    person = find_person(conn, employee_no)
    check_erasable(person)
    if person["active"] and not deactivate:
        raise UserError(
            "{employee_no} is still on the roster (active): the next roster import would bring "
            "them back. Import a full roster without them first, or add --deactivate to take "
            "them off now",
            employee_no=person["employee_no"],
        )
    if conn.dialect.name == "postgresql":  # a concurrent import waits for us
        conn.execute(select(P.c.id).where(P.c.id == person["id"]).with_for_update())
    keys = person_keys(conn, person)
    old_no, new_no = keys.employee_no, erased_number(keys.id)
    secrets = _secrets(person)
    counts: dict[str, int] = {}

    # audit events and reports first: they are found by the old number
    counts["audit_events"] = _rescrub_json(
        conn, AE, "details", audit_condition(keys), old_no, new_no, secrets
    )
    counts["audit_events"] += (
        conn.execute(
            update(AE)
            .where(AE.c.entity == "person", AE.c.entity_id == old_no)
            .values(entity_id=new_no)
        ).rowcount
        or 0
    )
    counts["plan_reports"] = _rescrub_json(
        conn, PR, "report", json_mentions(PR.c.report, old_no), old_no, new_no, secrets
    )
    counts["import_errors"] = _import_errors(conn, old_no, new_no, secrets)

    counts["inbound_messages"] = (
        conn.execute(
            update(IN)
            .where(inbound_condition(keys))
            .values(body="", reply="", from_number="", person_id=keys.id)
        ).rowcount
        or 0
    )
    counts["messages_stopped"] = (
        conn.execute(
            update(M)
            .where(M.c.person_id == keys.id, M.c.status.in_(UNSENT))
            .values(status=MessageStatus.CANCELLED, error_message="person erased")
        ).rowcount
        or 0
    )
    counts["messages"] = (
        conn.execute(
            update(M)
            .where(M.c.person_id == keys.id)
            .values(body="", to="", params=None, error_message=None)
        ).rowcount
        or 0
    )
    counts["reschedule_offers"] = (
        conn.execute(RO.delete().where(RO.c.person_id == keys.id)).rowcount or 0
    )
    conn.execute(
        update(A)
        .where(A.c.person_id == keys.id, A.c.excused_reason.is_not(None))
        .values(excused_reason=ERASED)
    )
    counts["exemptions"] = (
        conn.execute(update(EX).where(EX.c.person_id == keys.id).values(reason=ERASED)).rowcount
        or 0
    )
    counts["co_residents"] = (
        conn.execute(
            update(P).where(P.c.host_employee_no == old_no).values(host_employee_no=new_no)
        ).rowcount
        or 0
    )
    conn.execute(
        update(P)
        .where(P.c.id == keys.id)
        .values(
            employee_no=new_no,
            name=ERASED,
            phone=None,
            phone_raw="",
            phone_valid=False,
            id_number=None,
            host_employee_no=None,
            vaccination="",
            booster=None,
            wecom_userid=None,
            notify_channel=None,
            override_reason=None if person["override_reason"] is None else ERASED,
            active=False,
            opted_out=True,
            updated_at=now,
            deactivated_at=person["deactivated_at"] or now,
        )
    )
    counts["appointments_kept"] = len(keys.appointment_ids)
    counts["test_results_kept"] = len(keys.result_ids)
    return EraseReport(old_no, new_no, counts), bool(person["active"])


def person_id(conn: Connection, employee_no: str) -> int:
    return int(find_person(conn, employee_no)["id"])


def _import_errors(conn: Connection, old_no: str, new_no: str, secrets: list[str]) -> int:
    """Roster-import error lists quote cell values: scrub the person's out of them.

    Few imports, read in full: the values are JSON-escaped in storage, which a LIKE on a
    Chinese name would have to imitate.
    """
    changed = 0
    for row_id, errors in conn.execute(select(RI.c.id, RI.c.errors)).all():
        if not errors:
            continue
        new = scrub(errors, old_no, new_no, secrets)
        if new != errors:
            conn.execute(update(RI).where(RI.c.id == row_id).values(errors=new))
            changed += 1
    return changed


def check_erasable(person: dict[str, Any]) -> None:
    if person["employee_no"] == erased_number(person["id"]):
        raise UserError("{employee_no} is already erased", employee_no=person["employee_no"])

"""The SMS outbox as HR reads it: texts with their status, filtered, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from testrota.auth.scope import Scope
from testrota.db.models import Message, Person
from testrota.privacy.number_search import phone_condition

PAGE_SIZE = 50
STATUSES = (
    "pending",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "unknown",
    "cancelled",
    "expired",
)


@dataclass
class OutboxPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    counts: dict[str, int]
    kinds: list[str]


def outbox(
    session: Session,
    scope: Scope,
    *,
    phone_region: str,
    status: str = "",
    kind: str = "",
    q: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> OutboxPage:
    """Texts in ``scope``, newest first. ``q`` is an employee number or the recipient's phone
    (whole only for a masked reader); bodies come in full, the response guard cuts links."""
    conds: list[Any] = []
    where = scope.where(Person.department)
    if where is not None:
        conds.append(where)
    if status:
        conds.append(Message.status == status)
    if kind:
        conds.append(Message.kind == kind)
    q = q.strip()
    if q:
        to = phone_condition(Message.to, q, masked=scope.masker.masked, region=phone_region)
        conds.append(or_(col(Person.employee_no) == q, *([to] if to is not None else [])))
    base = select(Message, Person.employee_no, Person.name).join(
        Person, col(Person.id) == Message.person_id, isouter=True
    )
    count_q = (
        select(func.count())
        .select_from(Message)
        .join(Person, col(Person.id) == Message.person_id, isouter=True)
        .where(*conds)
    )
    total = int(session.exec(count_q).one())
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = []
    for m, employee_no, name in session.exec(
        base.where(*conds)
        .order_by(col(Message.due_at).desc(), col(Message.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ):
        rows.append(
            {
                "id": m.id,
                "kind": m.kind,
                "to": m.to,
                "body": m.body,
                "due_at": m.due_at,
                "sent_at": m.sent_at,
                "status": m.status,
                "attempts": m.attempts,
                "provider_status": m.provider_status,
                "error_code": m.error_code,
                "error_message": m.error_message,
                "employee_no": employee_no,
                "name": name,
            }
        )
    count_by = select(Message.status, func.count()).group_by(Message.status)
    if where is not None:
        count_by = count_by.join(Person, col(Person.id) == Message.person_id).where(where)
    counts = {s: int(n) for s, n in session.exec(count_by)}
    kinds = sorted(k for k in session.exec(select(Message.kind).distinct()))
    return OutboxPage(rows, total, page, pages, counts, kinds)

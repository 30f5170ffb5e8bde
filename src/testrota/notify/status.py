"""Delivery reports (Twilio's StatusCallback): queued, sent, delivered, undelivered, failed.

Callbacks arrive out of order and may beat the dispatcher's own record of the send (a fast
carrier, a dispatcher that records in batches), so a report only ever moves a row forward and,
while the row is still ``sending``, only notes the provider's fields for the dispatcher to use.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from testrota.db.engine import session_scope
from testrota.db.models import Message
from testrota.notify.dispatcher import provider_to_status

_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
    "canceled": 3,
}
# Our statuses a report may update (a row we failed ourselves, or cancelled, has no SID).
_UPDATABLE = ("sent", "delivered", "undelivered", "failed", "unknown")


def rank(provider_status: str | None) -> int:
    return _RANK.get((provider_status or "").lower(), -1)


def record_status(
    engine: Engine,
    now: datetime,
    *,
    sid: str,
    status: str,
    error_code: str | None = None,
    message_id: int | None = None,
) -> bool:
    """Apply one delivery report; False when no row matches (or it is older news)."""
    status = status.lower().strip()
    if rank(status) < 0 or not sid:
        return False
    with session_scope(engine) as session:
        query = select(Message)
        if message_id is not None:
            query = query.where(Message.id == message_id)
        else:
            query = query.where(Message.provider_sid == sid)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        row = session.exec(query).first()
        if row is None or (row.provider_sid not in (None, sid)):
            return False
        if rank(status) < rank(row.provider_status):
            return False
        code = error_code or None
        if row.status == "sending":
            # The dispatcher's record is on its way; it will take these fields into account.
            row.provider_sid = row.provider_sid or sid
            row.provider_status = status
            row.error_code = code or row.error_code
        elif row.status in _UPDATABLE:
            row.provider_sid = sid
            row.provider_status = status
            row.status = provider_to_status(status)
            if code:
                row.error_code = code
            if row.sent_at is None:
                row.sent_at = now
            row.next_attempt_at = None
        else:
            return False
        session.add(row)
    return True

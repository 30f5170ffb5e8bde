"""Nightly retention for texts: bodies and numbers older than ``retention_days`` are erased.

Rows stay (counts by status and kind remain true); what they said and to whom does not. Rows
still in flight (pending, sending, unknown) are never touched. Test results and the rest of the
rule are :mod:`testrota.privacy.retention`'s, run from here so the nightly job has one entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, delete, update

from testrota.db.models import InboundMessage, JobRun, Message, RescheduleOffer
from testrota.policy import Policy

M: Table = Message.__table__  # type: ignore[attr-defined]
IN: Table = InboundMessage.__table__  # type: ignore[attr-defined]
RO: Table = RescheduleOffer.__table__  # type: ignore[attr-defined]
J: Table = JobRun.__table__  # type: ignore[attr-defined]


def apply_retention(engine: Engine, now: datetime, policy: Policy) -> dict[str, int]:
    days = policy.retention_days
    cutoff = now - timedelta(days=days)
    with engine.begin() as conn:
        messages = conn.execute(
            update(M)
            .where(M.c.created_at < cutoff, M.c.status.not_in(("pending", "sending", "unknown")),
                   M.c.body != "")
            .values(body="", to="")
        ).rowcount
        inbound = conn.execute(
            update(IN).where(IN.c.received_at < cutoff, IN.c.body != "")
            .values(body="", reply="", from_number="")
        ).rowcount
        offers = conn.execute(delete(RO).where(RO.c.created_at < cutoff)).rowcount
        runs = conn.execute(delete(J).where(J.c.started_at < cutoff)).rowcount
    # Test results, import error lists and heartbeats: the privacy area's part of the rule.
    from testrota.privacy.retention import apply_privacy_retention

    return {"messages": messages or 0, "inbound": inbound or 0, "offers": offers or 0,
            "job_runs": runs or 0, **apply_privacy_retention(engine, now, policy)}

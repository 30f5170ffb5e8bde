"""Nightly retention for texts: bodies and numbers older than ``retention_days`` are erased.

Rows stay (counts by status and kind remain true); what they said and to whom does not. Rows
still in flight (pending, sending, unknown) are never touched. Old reschedule offers and job-run
records are deleted. Test results and the rest of the rule are
:mod:`testrota.privacy.retention`'s; the nightly job runs both. Like the privacy part, the work
goes in batches, each its own short transaction: a first run over a year of texts must not hold
SQLite's only write lock while the dispatcher waits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, Table

from testrota.db import tables
from testrota.policy import Policy
from testrota.privacy.retention import BATCH, in_batches

M: Table = tables.MESSAGE
IN: Table = tables.INBOUND_MESSAGE
RO: Table = tables.RESCHEDULE_OFFER
J: Table = tables.JOB_RUN


def apply_retention(
    engine: Engine, now: datetime, policy: Policy, batch: int = BATCH
) -> dict[str, int]:
    cutoff = now - timedelta(days=policy.retention_days)
    messages = in_batches(
        engine,
        M,
        (M.c.created_at < cutoff)
        & M.c.status.not_in(("pending", "sending", "unknown"))
        & (M.c.body != ""),
        {"body": "", "to": "", "params": None},
        batch,
    )
    inbound = in_batches(
        engine,
        IN,
        (IN.c.received_at < cutoff) & (IN.c.body != ""),
        {"body": "", "reply": "", "from_number": ""},
        batch,
    )
    offers = in_batches(engine, RO, RO.c.created_at < cutoff, None, batch)
    runs = in_batches(engine, J, J.c.started_at < cutoff, None, batch)
    return {"messages": messages, "inbound": inbound, "offers": offers, "job_runs": runs}

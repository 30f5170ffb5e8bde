"""Where appointments become done or missed: once a slot has ended more than the grace period
ago, it is done if the person tested that local day, else missed.

The worker's job runs this every few minutes and ``testrota flag`` on demand; every list and
report that shows missed tests runs it first, so they are current whether or not a job has run.
Safe from any number of processes at once (conditional updates; see
:mod:`testrota.compliance.flagging`).

Not audited: flagging decides nothing a person could decide otherwise. It applies the policy's
rule to the clock and the samples recorded (which are audited), and runs before every list;
each appointment's ``updated_at`` says when it was flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

from testrota.app import App
from testrota.compliance.due import FlagReport, anything_due
from testrota.db.engine import lookup

__all__ = ["FlagDue", "FlagReport", "flag_due"]


@dataclass(frozen=True)
class FlagDue:
    """Flag what is due now (the app's clock); there is nothing else to say."""


def flag_due(app: App, cmd: FlagDue | None = None) -> FlagReport:
    """Flag every appointment that is due; returns how many this call flagged missed and done
    (concurrent callers never count an appointment twice)."""
    now = app.now()
    # Usually nothing is due: one indexed look on a database that sees the latest writes, and
    # the list goes on without a write transaction (nor SQLite's write lock, nor the models).
    with lookup(app.fresh_engine) as conn:
        if not anything_due(conn, now, app.policy):
            return FlagReport(0, 0)
    from testrota.compliance.flagging import flag_due as flag_in_session
    from testrota.db.engine import session_scope

    with app.write_lock, session_scope(app.engine) as session:
        return flag_in_session(session, now, app.policy)

"""Where failed texts are sent again: the outbox page's buttons and ``testrota retry``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.db import tables
from testrota.db.engine import session_scope
from testrota.errors import UserError
from testrota.statuses import MessageStatus

# One request names at most this many texts; "every failed text" has no such bound.
MAX_IDS = 10_000


@dataclass(frozen=True)
class RetryMessages:
    actor: Actor
    ids: Sequence[int] | None = None  # None: every failed text


@dataclass(frozen=True)
class RetriedMessages:
    ids: list[int]  # the texts queued again (failed ones among those asked for)

    @property
    def count(self) -> int:
        return len(self.ids)


def retry_messages(app: App, cmd: RetryMessages) -> RetriedMessages:
    """Put failed texts back in the queue, due now and with their attempts reset; the
    dispatcher sends them like any due text (opted-out people stay skipped by it). Texts that
    are not failed are left alone; one ``message.retried`` event lists what was queued."""
    if cmd.ids is not None and len(cmd.ids) > MAX_IDS:
        raise UserError(
            "at most {limit} texts at a time (asked for {n}); retry every failed text instead",
            limit=MAX_IDS,
            n=len(cmd.ids),
        )
    table = tables.MESSAGE
    failed = table.c.status == MessageStatus.FAILED
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        query = select(table.c.id).where(failed).order_by(table.c.id)
        if cmd.ids is not None:
            if not cmd.ids:
                return RetriedMessages([])
            query = query.where(table.c.id.in_(sorted(set(cmd.ids))))
        chosen = [int(i) for i in session.scalars(query)]
        if not chosen:
            return RetriedMessages([])
        session.execute(
            update(table)
            .where(table.c.id.in_(chosen), failed)
            .values(
                status=MessageStatus.PENDING,
                attempts=0,
                next_attempt_at=None,
                due_at=now,
                claimed_by=None,
                claimed_at=None,
                error_code=None,
                error_message=None,
            )
        )
        record(
            session,
            cmd.actor,
            Action.MESSAGE_RETRIED,
            "message",
            chosen[0] if len(chosen) == 1 else "",
            at=now,
            details={"ids": chosen[:1000], "count": len(chosen)},
        )
    return RetriedMessages(chosen)

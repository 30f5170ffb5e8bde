"""The outbox's state changes in SQL: claim, sweep, record, recover. Every one is conditional.

Any number of dispatchers may run these at once. On PostgreSQL a claim locks the rows it takes
with ``FOR UPDATE SKIP LOCKED``, so two claims never wait for or take the same row; on SQLite
every transaction begins ``IMMEDIATE`` (one writer at a time) and the claim is one conditional
``UPDATE ... RETURNING``. Every later write names the claimer and the status it expects, so a
dispatcher that lost its claim (timed out, recovered by another) cannot overwrite the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    String,
    Table,
    and_,
    any_,
    bindparam,
    case,
    column,
    func,
    literal,
    not_,
    or_,
    select,
    update,
    values,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from testrota.db import tables
from testrota.notify.outbox import KIND_MISSED, REMINDER_KINDS

M: Table = tables.MESSAGE
P: Table = tables.PERSON
U: Table = tables.USER
A: Table = tables.APPOINTMENT
B: Table = tables.SMS_BUDGET

BUDGET_NAME = "sender"
TERMINAL_PROVIDER = ("sent", "delivered", "undelivered", "failed", "read")


@dataclass(frozen=True)
class Claimed:
    id: int
    to: str
    body: str
    attempts: int
    tz: str | None
    expires_at: datetime | None
    claimed_at: datetime
    provider_sid: str | None = None
    kind: str = ""
    language: str | None = None
    params: dict[str, str] | None = None


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


# ---------------------------------------------------------------- eligibility


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(
        M.c.status == "pending",
        M.c.due_at <= now,
        or_(M.c.next_attempt_at.is_(None), M.c.next_attempt_at <= now),
    )


def _not_expired(now: datetime) -> ColumnElement[bool]:
    return or_(M.c.expires_at.is_(None), M.c.expires_at > now)


def _each_row(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """EXISTS looked up for each row the claim reads, by primary key.

    Inside an OR, PostgreSQL may turn an EXISTS into a hashed sub-plan, built by reading every
    matching row of the other table once per statement: it costs that against all the rows
    due, not the ``LIMIT`` it stops at. At 300,000 people with 11,000 texts due a claim of 50
    hashed all 189,000 scheduled appointments (0.34 s; 0.76 s when it also sorted everything
    due). ``OFFSET 0`` keeps the sub-query as it is written (PostgreSQL's documented fence);
    then a claim reads its 50 rows' appointments and people by key."""
    return select(literal(1)).where(*conditions).offset(0).exists()


def _recipient_ok() -> ColumnElement[bool]:
    person_ok = _each_row(
        P.c.id == M.c.person_id,
        P.c.active.is_(True),
        P.c.opted_out.is_(False),
        P.c.phone_valid.is_(True),
    )
    user_ok = _each_row(U.c.id == M.c.user_id, U.c.active.is_(True), U.c.opted_out.is_(False))
    return and_(
        or_(M.c.person_id.is_(None), person_ok),
        or_(M.c.user_id.is_(None), user_ok),
    )


def _appointment_ok() -> ColumnElement[bool]:
    """A reminder needs its appointment still scheduled at the slot it announces."""
    scheduled_here = _each_row(
        A.c.id == M.c.appointment_id, A.c.status == "scheduled", A.c.starts_at == M.c.expires_at
    )
    still_missed = _each_row(A.c.id == M.c.appointment_id, A.c.status == "missed")
    return and_(
        or_(M.c.kind.not_in(REMINDER_KINDS), scheduled_here),
        or_(M.c.kind != KIND_MISSED, still_missed),
    )


def eligible(now: datetime) -> ColumnElement[bool]:
    """Due, unexpired, to someone who may be texted, about an appointment still as announced."""
    return and_(_due(now), _not_expired(now), _recipient_ok(), _appointment_ok())


# ---------------------------------------------------------------- claiming


def _take(
    conn: Connection,
    ids: Select[Any],
    condition: ColumnElement[bool],
    values: dict[str, Any],
    returning: Sequence[Any],
) -> list[Any]:
    """``UPDATE`` the rows ``ids`` selects (still matching ``condition``) and return them.

    On PostgreSQL the selection is a ``MATERIALIZED`` CTE with ``FOR UPDATE SKIP LOCKED``: a
    plain ``WHERE id IN (SELECT ... LIMIT n SKIP LOCKED)`` may be re-run by the planner for
    each row and then takes more than ``n`` rows (each run skips the rows locked by the last).
    """
    if _is_pg(conn):
        chosen = (
            ids.with_for_update(skip_locked=True, of=M).cte("chosen").prefix_with("MATERIALIZED")
        )
        # ``id = ANY(ARRAY(...))`` is computed once and then looks rows up by primary key;
        # a join with the CTE may be planned as a loop over every pending row when the table's
        # statistics are stale (just after a large insert of reminders).
        taken = select(func.array_agg(chosen.c.id)).scalar_subquery()
        ids_array = func.coalesce(taken, postgresql.array([], type_=Integer))
        stmt = update(M).where(M.c.id == any_(ids_array), condition)
    else:
        stmt = update(M).where(M.c.id.in_(ids.scalar_subquery()), condition)
    return list(conn.execute(stmt.values(**values).returning(*returning)).all())


_CLAIMED = (
    M.c.id,
    M.c.to,
    M.c.body,
    M.c.attempts,
    M.c.tz,
    M.c.expires_at,
    M.c.provider_sid,
    M.c.kind,
    M.c.language,
    M.c.params,
)


def _claimed(r: Any, claimed_at: datetime) -> Claimed:
    return Claimed(
        r.id,
        r.to,
        r.body,
        r.attempts,
        r.tz,
        r.expires_at,
        claimed_at,
        r.provider_sid,
        r.kind,
        r.language,
        r.params,
    )


def due_first(now: datetime, limit: int) -> Select[Any]:
    """The ids of the first ``limit`` eligible texts in the order they fell due: read through
    ``ix_message_status_due`` (status, due_at, id), which yields them in this order, so the
    scan stops at the limit however many are due."""
    return select(M.c.id).where(eligible(now)).order_by(M.c.due_at, M.c.id).limit(limit)


def claim_due(conn: Connection, now: datetime, worker: str, limit: int) -> list[Claimed]:
    """Mark up to ``limit`` eligible rows ``sending`` for ``worker`` and return them."""
    if limit <= 0:
        return []
    rows = _take(
        conn,
        due_first(now, limit),
        M.c.status == "pending",
        {
            "status": "sending",
            "claimed_by": worker,
            "claimed_at": now,
            "attempts": M.c.attempts + 1,
        },
        _CLAIMED,
    )
    claimed = [_claimed(r, now) for r in rows]
    claimed.sort(key=lambda c: c.id)
    return claimed


def release(conn: Connection, worker: str, ids: Sequence[int]) -> int:
    """Give claimed rows back untouched (shutdown before their send started)."""
    if not ids:
        return 0
    result = conn.execute(
        update(M)
        .where(M.c.id.in_(ids), M.c.status == "sending", M.c.claimed_by == worker)
        .values(status="pending", claimed_by=None, claimed_at=None, attempts=M.c.attempts - 1)
    )
    return result.rowcount or 0


def defer(conn: Connection, worker: str, deferrals: Sequence[tuple[int, datetime]]) -> None:
    """Give claimed rows back with a later due time (quiet hours began meanwhile)."""
    if not deferrals:
        return
    conn.execute(
        update(M)
        .where(M.c.id == bindparam("b_id"), M.c.status == "sending", M.c.claimed_by == worker)
        .values(
            status="pending",
            claimed_by=None,
            claimed_at=None,
            due_at=bindparam("b_due"),
            attempts=M.c.attempts - 1,
        ),
        [{"b_id": i, "b_due": due} for i, due in deferrals],
    )


def expire_claimed(conn: Connection, worker: str, ids: Sequence[int], reason: str) -> None:
    """Close claimed rows that can no longer go out in time, unsent (the claim was no try)."""
    if not ids:
        return
    conn.execute(
        update(M)
        .where(M.c.id.in_(list(ids)), M.c.status == "sending", M.c.claimed_by == worker)
        .values(
            status="expired",
            claimed_by=None,
            claimed_at=None,
            attempts=M.c.attempts - 1,
            error_message=reason,
        )
    )


def sweep(conn: Connection, now: datetime) -> dict[str, int]:
    """Close due rows that must never go out; returns how many became each status."""
    base = _due(now)
    counts: dict[str, int] = {}
    steps: list[tuple[str, ColumnElement[bool], str]] = [
        ("expired", not_(_not_expired(now)), "its time passed before it could be sent"),
        ("cancelled", not_(_appointment_ok()), "the appointment was moved or is no longer due"),
        ("skipped", not_(_recipient_ok()), "recipient opted out, inactive or has an invalid phone"),
    ]
    for status, condition, reason in steps:
        where = and_(base, condition)
        counts[status] = update_unheld(conn, where, {"status": status, "error_message": reason})
    return counts


def update_unheld(conn: Connection, where: ColumnElement[bool], values: dict[str, Any]) -> int:
    """``UPDATE`` the rows matching ``where`` that no other transaction holds; returns how many.

    For the outbox's janitors (the sweep, cancelling stale reminders, re-addressing): they
    never wait for a row, so they are never one side of a deadlock. Every worker runs them on
    its own tick, and plain set-based updates, each locking rows in the order its scan met
    them, deadlocked each other at 100,000 people. A row skipped is held by a claim (which
    checks the same conditions), a sweep or another sync doing the same work, or a use case
    that changes it anyway; what is still left is taken by the next run, and until then the
    claim's eligibility check keeps it from going out.
    """
    return len(_take(conn, select(M.c.id).where(where), where, values, (M.c.id,)))


# ---------------------------------------------------------------- outcomes


def record_sent(
    conn: Connection,
    worker: str,
    now: datetime,
    rows: Sequence[dict[str, Any]],
    channel: str | None = None,
) -> None:
    """``rows``: ``{"b_id", "b_sid", "b_pstatus"}``. A status callback may have come first.

    PostgreSQL gets one ``UPDATE ... FROM (VALUES ...)`` (one round trip for a whole batch);
    SQLite, in-process, an executemany.
    """
    if not rows:
        return

    # No IN (...) here: an expanding list cannot be used in an executemany.
    def one_of(*values: str) -> ColumnElement[bool]:
        return or_(*(M.c.provider_status == v for v in values))

    terminal = one_of(*TERMINAL_PROVIDER)
    status = case(
        (one_of("delivered", "read"), "delivered"),
        (one_of("undelivered", "failed"), M.c.provider_status),
        else_="sent",
    )
    # A failure receipt that came first keeps its error: only a text not failed loses one.
    failed = one_of("undelivered", "failed")
    fixed = {
        "status": status,
        "sent_at": now,
        "error_code": case((failed, M.c.error_code), else_=None),
        "error_message": case((failed, M.c.error_message), else_=None),
        "next_attempt_at": None,
    }
    mine = and_(M.c.status == "sending", M.c.claimed_by == worker)
    if _is_pg(conn):
        batch = values(
            column("id", Integer),
            column("sid", String),
            column("pstatus", String),
            column("channel", String),
            name="batch",
        ).data([(r["b_id"], r["b_sid"], r["b_pstatus"], r.get("b_channel", channel)) for r in rows])
        conn.execute(
            update(M)
            .where(M.c.id == batch.c.id, mine)
            .values(
                provider_status=case((terminal, M.c.provider_status), else_=batch.c.pstatus),
                provider_sid=batch.c.sid,
                channel=batch.c.channel,
                **fixed,
            )
        )
        return
    conn.execute(
        update(M)
        .where(M.c.id == bindparam("b_id"), mine)
        .values(
            provider_status=case((terminal, M.c.provider_status), else_=bindparam("b_pstatus")),
            provider_sid=bindparam("b_sid"),
            channel=bindparam("b_channel"),
            **fixed,
        ),
        [{"b_channel": channel, **r} for r in rows],
    )


def record_retry(conn: Connection, worker: str, rows: Sequence[dict[str, Any]]) -> None:
    """``rows``: ``{"b_id", "b_next", "b_code", "b_error"}``: back to pending, later."""
    if not rows:
        return
    conn.execute(
        update(M)
        .where(M.c.id == bindparam("b_id"), M.c.status == "sending", M.c.claimed_by == worker)
        .values(
            status="pending",
            claimed_by=None,
            next_attempt_at=bindparam("b_next"),
            error_code=bindparam("b_code"),
            error_message=bindparam("b_error"),
        ),
        list(rows),
    )


def record_final(
    conn: Connection,
    worker: str,
    status: str,
    rows: Sequence[dict[str, Any]],
    channel: str | None = None,
) -> None:
    """``rows``: ``{"b_id", "b_next", "b_code", "b_error"}``: failed, or unknown until b_next."""
    if not rows:
        return
    conn.execute(
        update(M)
        .where(M.c.id == bindparam("b_id"), M.c.status == "sending", M.c.claimed_by == worker)
        .values(
            status=status,
            next_attempt_at=bindparam("b_next"),
            error_code=bindparam("b_code"),
            error_message=bindparam("b_error"),
            channel=channel,
        ),
        list(rows),
    )


def mark_recipients(
    conn: Connection, phones: Sequence[str], *, opted_out: bool = False, invalid: bool = False
) -> list[int]:
    """Flag everyone with these numbers: opted out (21610) or invalid phone (21211/21614).

    Returns the ids of the people changed, for the audit trail.
    """
    if not phones:
        return []
    changed: list[int] = []
    if opted_out:
        rows = conn.execute(
            update(P)
            .where(P.c.phone.in_(phones), P.c.opted_out.is_(False))
            .values(opted_out=True)
            .returning(P.c.id)
        ).all()
        changed += [r.id for r in rows]
        conn.execute(update(U).where(U.c.phone.in_(phones)).values(opted_out=True))
    if invalid:
        rows = conn.execute(
            update(P)
            .where(P.c.phone.in_(phones), P.c.phone_valid.is_(True))
            .values(phone_valid=False)
            .returning(P.c.id)
        ).all()
        changed += [r.id for r in rows]
    return changed


def recent_sends(
    conn: Connection,
    channels: Sequence[str],
    recipients: Sequence[str],
    since: datetime,
    exclude: Sequence[int] = (),
) -> dict[str, list[tuple[str, datetime]]]:
    """``(channel, time)`` of each recipient's texts on ``channels`` after ``since`` (for their
    limits); texts in flight count on every channel (``"*"``) at their claim, except the rows
    ``exclude`` (the batch the caller is about to send)."""
    if not recipients:
        return {}
    sending = M.c.status == "sending"
    rows = conn.execute(
        select(
            M.c.to,
            case((sending, "*"), else_=M.c.channel).label("channel"),
            case((sending, M.c.claimed_at), else_=M.c.sent_at).label("at"),
        ).where(
            M.c.to.in_(recipients),
            M.c.id.not_in(exclude),
            or_(
                and_(M.c.channel.in_(channels), M.c.sent_at > since, not_(sending)),
                and_(sending, M.c.claimed_at > since),
            ),
        )
    ).all()
    out: dict[str, list[tuple[str, datetime]]] = {}
    for row in rows:
        if row.at is not None:
            out.setdefault(row.to, []).append((str(row.channel), row.at))
    return out


# ---------------------------------------------------------------- recovery


def mark_stale_unknown(conn: Connection, now: datetime, timeout: timedelta) -> int:
    """Rows left ``sending`` longer than ``timeout`` (a dispatcher died) become ``unknown``.

    They are not sent again blindly: the provider may have accepted them before the crash.
    """
    result = conn.execute(
        update(M)
        .where(M.c.status == "sending", M.c.claimed_at < now - timeout)
        .values(
            status="unknown",
            next_attempt_at=now,
            error_message="left sending by a dispatcher that stopped; looking it up",
        )
    )
    return result.rowcount or 0


def claim_unknown(
    conn: Connection, now: datetime, worker: str, limit: int, recheck: timedelta
) -> list[Claimed]:
    """Take ``unknown`` rows due for a lookup; a second dispatcher skips them until ``recheck``."""
    ids = (
        select(M.c.id)
        .where(
            M.c.status == "unknown", or_(M.c.next_attempt_at.is_(None), M.c.next_attempt_at <= now)
        )
        .order_by(M.c.id)
        .limit(limit)
    )
    rows = _take(
        conn,
        ids,
        M.c.status == "unknown",
        {"claimed_by": worker, "next_attempt_at": now + recheck},
        [*_CLAIMED, M.c.claimed_at],
    )
    return [_claimed(r, r.claimed_at or now) for r in rows]


def resolve_unknown(conn: Connection, worker: str, row_id: int, values: dict[str, Any]) -> bool:
    result = conn.execute(
        update(M)
        .where(M.c.id == row_id, M.c.status == "unknown", M.c.claimed_by == worker)
        .values(**values)
    )
    return bool(result.rowcount)


# ---------------------------------------------------------------- the sender's budget


def take_tokens(
    conn: Connection, want: int, rate: float, burst: float, real_now: float
) -> tuple[int, float]:
    """Take up to ``want`` whole tokens from the shared bucket; returns ``(taken, seconds)``.

    ``seconds`` is how long until the next token when none could be taken. The bucket row is
    locked for the rest of the caller's transaction, so claims in several processes share one
    rate. Tokens not used (fewer rows claimed) are put back with :func:`return_tokens`.
    """
    row = conn.execute(
        select(B.c.tokens, B.c.refilled_at).where(B.c.name == BUDGET_NAME).with_for_update()
    ).first()
    if row is None:
        insert = conn.dialect.name == "postgresql"
        from sqlalchemy.dialects import sqlite

        dialect_insert = postgresql.insert if insert else sqlite.insert
        conn.execute(
            dialect_insert(B)
            .values(name=BUDGET_NAME, tokens=burst, refilled_at=real_now)
            .on_conflict_do_nothing()
        )
        row = conn.execute(
            select(B.c.tokens, B.c.refilled_at).where(B.c.name == BUDGET_NAME).with_for_update()
        ).one()
    elapsed = max(0.0, real_now - row.refilled_at)
    tokens = min(burst, row.tokens + elapsed * rate)
    taken = min(want, int(tokens))
    conn.execute(
        update(B).where(B.c.name == BUDGET_NAME).values(tokens=tokens - taken, refilled_at=real_now)
    )
    wait = 0.0 if taken else (1 - (tokens - int(tokens))) / rate
    return taken, wait


def return_tokens(conn: Connection, count: int) -> None:
    if count > 0:
        conn.execute(update(B).where(B.c.name == BUDGET_NAME).values(tokens=B.c.tokens + count))


def due_backlog(conn: Connection, now: datetime) -> int:
    return int(conn.execute(select(func.count()).select_from(M).where(eligible(now))).scalar_one())

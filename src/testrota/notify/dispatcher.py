"""Send the texts that are due: claim, send concurrently under the sender's rate, record.

One loop per process. It keeps a bounded thread pool fed with claimed rows (never more in flight
than twice the pool, so a claim never ages while it waits), records results in batches, and
stops claiming when told to (SIGTERM): rows whose send had not started are released, sends in
flight finish and are recorded. Correctness across processes lives in :mod:`claims`.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from testrota.audit import Action, Actor, record_many
from testrota.clock import Clock
from testrota.notify import claims
from testrota.notify.backends import (
    ProviderMessage,
    ProviderUnavailable,
    SmsBackend,
    TemplateValues,
    build_backend,
)
from testrota.notify.claims import Claimed
from testrota.notify.failures import Failure, SendFailure, next_attempt_at
from testrota.notify.limits import plan_sends
from testrota.notify.outbox import in_quiet_hours, quiet_window_end
from testrota.policy import Policy
from testrota.settings import Settings

log = logging.getLogger(__name__)

# A rate-limited claim takes at most this many seconds' worth of tokens at once, so the texts
# of one claim never form a burst the sender would notice.
BURST_SECONDS = 0.2
FLUSH_EVERY_SECONDS = 0.2
FLUSH_EVERY_ROWS = 200
LINGER_POLL_SECONDS = 1.0


def worker_id() -> str:
    """``host:pid:random``: names the claimer on every row it takes."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def provider_to_status(provider_status: str) -> str:
    """Our row status for a provider status (Twilio's message statuses)."""
    s = (provider_status or "").lower()
    if s in ("delivered", "read"):
        return "delivered"
    if s in ("undelivered", "failed"):
        return s
    if s == "canceled":
        return "failed"
    return "sent"


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    unknown: int = 0  # left unknown for a lookup (a crash, an ambiguous network error)
    resolved: int = 0  # unknown rows settled by a lookup at the provider
    deferred: int = 0  # claimed inside quiet hours, due again at their end
    expired: int = 0  # claimed inside quiet hours that last past the text's expiry (slot start)
    released: int = 0  # given back untouched at shutdown
    opted_out: int = 0  # people marked opted out by error 21610
    invalid_numbers: int = 0  # people whose number was refused (21211, 21614)
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data

    def add(self, other: DispatchReport) -> None:
        """Add another pass's counts to these (``seconds`` too)."""
        for name, value in vars(other).items():
            if isinstance(value, dict):
                mine = getattr(self, name)
                for key, n in value.items():
                    mine[key] = mine.get(key, 0) + n
            else:
                setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class _Outcome:
    row: Claimed
    result: str  # sent|retry|failed|unknown|opted_out|invalid|release
    sid: str | None = None
    provider_status: str | None = None
    failure: SendFailure | None = None
    channel: str | None = None


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        backend: SmsBackend,
        policy: Policy,
        clock: Clock,
        *,
        worker: str | None = None,
        stop: threading.Event | None = None,
        real_time: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.backend = backend
        self.policy = policy
        self.sms = policy.sms
        self.clock = clock
        self.worker = worker or worker_id()
        self.stop = stop or threading.Event()
        self.real_time = real_time
        self.rng = rng or random.Random()
        self._zones: dict[str, ZoneInfo] = {}
        self._fast: Connection | None = None

    @contextmanager
    def _db(self, single: bool = False) -> Iterator[Connection]:
        """A unit of database work.

        ``single``: the work is one statement (atomic by itself). On PostgreSQL it then runs on
        one autocommit connection kept for the run: one round trip instead of four, which
        matters when the main loop competes with dozens of sending threads for the
        interpreter. Everything else is a transaction.
        """
        if single and self.engine.dialect.name == "postgresql":
            if self._fast is None:
                self._fast = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            yield self._fast
            return
        with self.engine.begin() as conn:
            yield conn

    # ------------------------------------------------------------------ the loop
    def run(self, max_seconds: float | None = None, linger: bool = False) -> DispatchReport:
        """Send everything due now, then return.

        ``max_seconds`` stops taking new rows after that long. ``linger`` (the worker's ticks)
        keeps looking for rows that fall due, every second, until ``max_seconds``: a text
        queued by another job goes out within a second, not at the next tick.
        """
        try:
            return self._run(max_seconds, linger)
        finally:
            if self._fast is not None:
                fast, self._fast = self._fast, None
                try:
                    fast.close()
                except Exception:  # a connection the server dropped: nothing left to close
                    log.debug("closing the dispatch connection failed", exc_info=True)

    def _run(self, max_seconds: float | None, linger: bool) -> DispatchReport:
        started = time.monotonic()
        report = DispatchReport()
        self.recover(report)
        with self._db(single=True) as conn:
            counts = claims.sweep(conn, self.clock.now())
        report.skipped += sum(counts.values())

        concurrency = self.sms.concurrency
        target = max(2, min(self.sms.batch_size, 2 * concurrency))
        inflight: dict[Future[_Outcome], Claimed] = {}
        results: list[_Outcome] = []
        last_flush = time.monotonic()
        exhausted = False
        next_claim_at = 0.0
        with ThreadPoolExecutor(concurrency, thread_name_prefix="sms-send") as pool:
            while True:
                if self.stop.is_set() or (
                    max_seconds is not None and time.monotonic() - started > max_seconds
                ):
                    break
                if (
                    not exhausted
                    and len(inflight) <= target * 3 // 4
                    and (time.monotonic() >= next_claim_at)
                ):
                    batch, asked, wait_s = self._claim(target - len(inflight))
                    if wait_s:
                        next_claim_at = time.monotonic() + min(wait_s, 0.5)
                    elif len(batch) < asked:
                        exhausted = True
                    for row in self._defer_over_limit(self._defer_quiet(batch, report), report):
                        future = pool.submit(self._send, row, time.monotonic())
                        inflight[future] = row
                if not inflight:
                    if exhausted and not (linger and max_seconds is not None):
                        break
                    if exhausted:
                        if results:
                            self._flush(results, report)
                            results, last_flush = [], time.monotonic()
                        self.stop.wait(LINGER_POLL_SECONDS)
                        exhausted = False
                        continue
                    time.sleep(max(0.0, min(0.5, next_claim_at - time.monotonic())))
                    continue
                done, _ = wait(list(inflight), timeout=0.05, return_when=FIRST_COMPLETED)
                for future in done:
                    inflight.pop(future)
                    results.append(future.result())
                if len(results) >= FLUSH_EVERY_ROWS or (
                    results and time.monotonic() - last_flush > FLUSH_EVERY_SECONDS
                ):
                    self._flush(results, report)
                    results, last_flush = [], time.monotonic()
            # Stopping: what has not started goes back, what is on the wire is awaited.
            unstarted = [row for future, row in inflight.items() if future.cancel()]
            for future in list(inflight):
                if not future.cancelled():
                    results.append(future.result())
        if unstarted:
            with self._db(single=True) as conn:
                report.released += claims.release(conn, self.worker, [r.id for r in unstarted])
        self._flush(results, report)
        report.seconds = time.monotonic() - started
        return report

    # ------------------------------------------------------------------ claiming
    def _claim(self, want: int) -> tuple[list[Claimed], int, float]:
        """``(rows, asked, wait)``: ``wait`` > 0 when the sender's rate allowed nothing now."""
        rate = self.sms.rate_per_second
        now = self.clock.now()
        if rate <= 0:
            with self._db(single=True) as conn:
                rows = claims.claim_due(conn, now, self.worker, want)
            return rows, want, 0.0
        with self._db() as conn:
            asked = want
            if rate > 0:
                burst = max(1.0, rate * BURST_SECONDS)
                asked, wait_s = claims.take_tokens(conn, want, rate, burst, self.real_time())
                if asked == 0:
                    return [], 0, wait_s
            rows = claims.claim_due(conn, now, self.worker, asked)
            if rate > 0:
                claims.return_tokens(conn, asked - len(rows))
        return rows, asked, 0.0

    def _zone(self, name: str) -> ZoneInfo:
        if name not in self._zones:
            self._zones[name] = ZoneInfo(name)
        return self._zones[name]

    def _defer_quiet(self, batch: list[Claimed], report: DispatchReport) -> list[Claimed]:
        """Rows claimed inside their recipient's quiet hours wait for the morning; those the
        morning would be too late for (a reminder whose slot starts first) expire at once
        rather than wait, due after the slot has started."""
        if not batch:
            return batch
        now = self.clock.now()
        rules = self.policy.reminders
        keep, deferrals, too_late = [], [], []
        for row in batch:
            if row.tz and in_quiet_hours(now, self._zone(row.tz), rules):
                until = quiet_window_end(now, self._zone(row.tz), rules)
                if row.expires_at is not None and until >= row.expires_at:
                    too_late.append(row.id)
                else:
                    deferrals.append((row.id, until))
            else:
                keep.append(row)
        if deferrals or too_late:
            with self._db(single=True) as conn:
                claims.defer(conn, self.worker, deferrals)
                claims.expire_claimed(conn, self.worker, too_late, "quiet hours last past its time")
            report.deferred += len(deferrals)
            report.expired += len(too_late)
        return keep

    def _defer_over_limit(self, batch: list[Claimed], report: DispatchReport) -> list[Claimed]:
        """Rows to a recipient who had as many texts on this channel as it allows lately wait
        until the window has room (WeCom drops the excess without saying so)."""
        limits = getattr(self.backend, "recipient_limits", ())
        if not batch or not limits:
            return batch
        now = self.clock.now()
        widest = max(window for _, window, _ in limits)
        with self._db(single=True) as conn:
            history = claims.recent_sends(
                conn,
                sorted({channel for channel, _, _ in limits}),
                sorted({r.to for r in batch}),
                now - widest,
                [r.id for r in batch],
            )
        send, deferrals = plan_sends([(r.id, r.to) for r in batch], history, now, limits)
        if deferrals:
            with self._db(single=True) as conn:
                claims.defer(conn, self.worker, deferrals)
            report.deferred += len(deferrals)
        keep = set(send)
        return [r for r in batch if r.id in keep]

    # ------------------------------------------------------------------ sending (pool threads)
    def _send(self, row: Claimed, claimed_mono: float) -> _Outcome:
        # A claim that waited too long may have been recovered by another dispatcher already.
        if time.monotonic() - claimed_mono > self.sms.sending_timeout_minutes * 30:
            return _Outcome(row, "release")
        try:
            result = self.backend.send(row.to, row.body, row.id, _template(row))
        except SendFailure as failure:
            return self._classify(row, failure)
        except Exception as exc:  # a bug in a backend must not lose the row
            log.exception("backend %s raised", self.backend.name)
            return _Outcome(row, "unknown", failure=SendFailure(Failure.AMBIGUOUS, None, str(exc)))
        return _Outcome(
            row, "sent", sid=result.sid, provider_status=result.status, channel=result.channel
        )

    def _classify(self, row: Claimed, failure: SendFailure) -> _Outcome:
        if failure.kind is Failure.RETRY:
            # A send that never reached the provider (connection refused: no HTTP status) says
            # nothing about the text, only that the provider is down. Giving up after
            # max_attempts would lose every text of a ten-minute outage (the backoff spends five
            # attempts in under eight minutes); such a text keeps waiting, with the growing
            # backoff, until it expires (the sweep closes it, never sent late).
            if row.attempts >= self.sms.max_attempts and failure.http_status is not None:
                return _Outcome(row, "failed", failure=failure)
            return _Outcome(row, "retry", failure=failure)
        if failure.kind is Failure.AMBIGUOUS:
            return _Outcome(row, "unknown", failure=failure)
        if failure.kind is Failure.OPTED_OUT:
            return _Outcome(row, "opted_out", failure=failure)
        if failure.kind is Failure.INVALID_NUMBER:
            return _Outcome(row, "invalid", failure=failure)
        return _Outcome(row, "failed", failure=failure)

    # ------------------------------------------------------------------ recording
    def _flush(self, results: list[_Outcome], report: DispatchReport) -> None:
        if not results:
            return
        now = self.clock.now()
        sent, retry, failed, unknown, release = [], [], [], [], []
        opted_phones, invalid_phones = [], []
        lookup_at = now + timedelta(minutes=self.sms.sending_timeout_minutes)
        for o in results:
            f = o.failure
            code = f.code if f else None
            error = str(f)[:400] if f else None
            if f is not None:
                key = f.code or f.kind.value
                report.errors[key] = report.errors.get(key, 0) + 1
            if o.result == "sent":
                sent.append(
                    {
                        "b_id": o.row.id,
                        "b_sid": o.sid,
                        "b_pstatus": o.provider_status,
                        "b_channel": o.channel or self.backend.name,
                    }
                )
            elif o.result == "retry":
                due = next_attempt_at(
                    now,
                    o.row.attempts,
                    self.sms.retry_base_seconds,
                    self.sms.retry_max_seconds,
                    self.rng,
                )
                retry.append({"b_id": o.row.id, "b_next": due, "b_code": code, "b_error": error})
            elif o.result == "unknown":
                # The request may have reached the provider; look it up once it has settled.
                unknown.append(
                    {"b_id": o.row.id, "b_next": lookup_at, "b_code": code, "b_error": error}
                )
            elif o.result == "release":
                release.append(o.row.id)
            else:
                failed.append({"b_id": o.row.id, "b_next": None, "b_code": code, "b_error": error})
                if o.result == "opted_out":
                    opted_phones.append(o.row.to)
                elif o.result == "invalid":
                    invalid_phones.append(o.row.to)
        only_sent = not (retry or failed or unknown or release)
        with self._db(single=only_sent) as conn:
            channel = self.backend.name
            claims.record_sent(conn, self.worker, now, sent, channel)
            claims.record_retry(conn, self.worker, retry)
            claims.record_final(conn, self.worker, "failed", failed, channel)
            claims.record_final(conn, self.worker, "unknown", unknown, channel)
            report.released += claims.release(conn, self.worker, release)
            opted = claims.mark_recipients(conn, opted_phones, opted_out=True)
            invalid = claims.mark_recipients(conn, invalid_phones, invalid=True)
            provider = Actor.provider(channel)
            _audit(conn, provider, now, Action.PERSON_OPTED_OUT, opted, "the provider: opted out")
            _audit(conn, provider, now, Action.PHONE_INVALID, invalid, "the provider refused it")
        report.sent += len(sent)
        report.retried += len(retry)
        report.failed += len(failed)
        report.unknown += len(unknown)
        report.opted_out += len(opted)
        report.invalid_numbers += len(invalid)

    # ------------------------------------------------------------------ recovery
    def recover(self, report: DispatchReport) -> None:
        """Rows a stopped dispatcher left ``sending`` become ``unknown``; look those up."""
        now = self.clock.now()
        timeout = timedelta(minutes=self.sms.sending_timeout_minutes)
        with self._db(single=True) as conn:
            stale = claims.mark_stale_unknown(conn, now, timeout)
        if stale:
            log.warning("%d texts left sending by a stopped dispatcher; looking them up", stale)
        while not self.stop.is_set():
            with self._db(single=True) as conn:
                rows = claims.claim_unknown(conn, now, self.worker, 200, timeout)
            if not rows:
                return
            with ThreadPoolExecutor(self.sms.concurrency, thread_name_prefix="sms-lookup") as pool:
                found = list(pool.map(self._lookup, rows))
            with self._db() as conn:
                for row, (status, message) in zip(rows, found, strict=True):
                    values = self._resolution(row, status, message, now)
                    if values is not None and claims.resolve_unknown(
                        conn, self.worker, row.id, values
                    ):
                        report.resolved += 1

    def _lookup(self, row: Claimed) -> tuple[str, ProviderMessage | None]:
        try:
            if row.provider_sid:
                m = self.backend.fetch(row.provider_sid, row.to, row.claimed_at)
                return ("found" if m else "missing"), m
            message = self.backend.find(row.to, row.body, row.claimed_at, row.id)
            return ("found" if message else "missing"), message
        except ProviderUnavailable as exc:
            log.warning("lookup of text %d failed, will try again: %s", row.id, exc)
            return "error", None

    def _resolution(
        self, row: Claimed, status: str, message: ProviderMessage | None, now: datetime
    ) -> dict[str, Any] | None:
        if status == "error":
            return None  # stays unknown; next_attempt_at was pushed when it was taken
        if message is not None:
            return {
                "status": provider_to_status(message.status),
                "provider_sid": message.sid,
                "provider_status": message.status,
                "error_code": message.error_code,
                "error_message": message.error_message,
                "sent_at": message.created_at or now,
                "next_attempt_at": None,
            }
        if row.provider_sid:
            return {"status": "failed", "error_message": "the provider has no record of this SID"}
        if row.expires_at is not None and row.expires_at <= now:
            return {"status": "expired", "error_message": "not sent, and now too late"}
        if row.attempts >= self.sms.max_attempts:
            return {"status": "failed", "error_message": "not found at the provider; no tries left"}
        # Never reached the provider: safe to send again, now.
        return {
            "status": "pending",
            "claimed_by": None,
            "claimed_at": None,
            "next_attempt_at": now,
            "error_message": "not found at the provider; resending",
        }


def _template(row: Claimed) -> TemplateValues | None:
    if row.params is None:
        return None  # queued before texts kept their values: only free text can send it
    return TemplateValues(row.kind, row.language, row.params)


def _audit(
    conn: Any, provider: Actor, now: datetime, action: Action, person_ids: list[int], reason: str
) -> None:
    # What the provider said about a number, on the record like any other change to a person.
    record_many(
        conn,
        provider,
        action,
        "person",
        [(pid, {"reason": reason}) for pid in person_ids],
        at=now,
    )


# ``testrota dispatch`` waits this long between passes (a due text waits at most this long),
# and after a failed pass from this up to LOOP_MAX_PAUSE_SECONDS, doubling while passes fail.
LOOP_PAUSE_SECONDS = 5.0
LOOP_MAX_PAUSE_SECONDS = 60.0


def dispatch_loop(
    engine: Engine,
    settings: Settings,
    policy: Policy,
    clock: Clock,
    *,
    once: bool = False,
    max_seconds: float | None = None,
    stop: threading.Event | None = None,
    backend: SmsBackend | None = None,
    pause: float = LOOP_PAUSE_SECONDS,
) -> DispatchReport:
    """``testrota dispatch``: passes of the dispatcher until ``stop`` (or ``max_seconds``, or
    one pass with ``once``); returns the sum of the passes.

    A pass that fails (the database server restarted and dropped every connection, a network
    blip) does not end the loop, as a failed tick does not end ``testrota worker``: the error is
    logged at ERROR with its traceback and the next pass starts, on fresh connections, after a
    pause that doubles while passes keep failing. Texts the failed pass had claimed stay
    ``sending`` until the sending timeout, then are looked up at the provider, so none is sent
    twice and none is lost. With ``once`` the error is raised.
    """
    stop = stop or threading.Event()
    own = backend is None
    sender = backend or build_backend(settings, policy.sms, policy.channels, engine)
    worker = worker_id()
    total = DispatchReport()
    started = time.monotonic()
    failures = 0
    try:
        while not stop.is_set():
            budget = None if max_seconds is None else max_seconds - (time.monotonic() - started)
            if budget is not None and budget <= 0:
                break
            try:
                report = Dispatcher(engine, sender, policy, clock, worker=worker, stop=stop).run(
                    budget
                )
            except Exception:
                if once:
                    raise
                failures += 1
                wait_s = min(LOOP_MAX_PAUSE_SECONDS, pause * 2 ** (failures - 1))
                log.exception(
                    "dispatch pass failed (%d in a row); next pass in %.0f s", failures, wait_s
                )
                stop.wait(wait_s)
                continue
            if failures:
                log.info("dispatch passes work again after %d failed", failures)
                failures = 0
            total.add(report)
            if once:
                break
            stop.wait(pause)
    finally:
        if own:
            sender.close()
    total.seconds = time.monotonic() - started
    return total


def dispatch_due(
    engine: Engine,
    settings: Settings,
    policy: Policy,
    clock: Clock,
    *,
    max_seconds: float | None = None,
    stop: threading.Event | None = None,
    backend: SmsBackend | None = None,
) -> DispatchReport:
    """One dispatch run with the configured backend (``testrota dispatch --once``)."""
    own = backend is None
    sender = backend or build_backend(settings, policy.sms, policy.channels, engine)
    try:
        return Dispatcher(engine, sender, policy, clock, stop=stop).run(max_seconds)
    finally:
        if own:
            sender.close()

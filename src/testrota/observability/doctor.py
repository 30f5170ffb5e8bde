"""``testrota doctor``: is this installation ready to run, and if not, what to do about it.

Each check returns ``ok``, ``warn``, ``fail`` or ``skip`` with what it found and how to fix it.
Nothing is changed and no text is sent: the database is only read (a missing SQLite file is
reported, not created), and Twilio is asked for the account and the sender, never to send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import Engine, make_url, select, text

from testrota.clock import Clock
from testrota.db import tables
from testrota.errors import Phrase, UserError
from testrota.policy import Policy, SmsPolicy
from testrota.settings import Settings, secret_key_problem

Status = Literal["ok", "warn", "fail", "skip"]
WORKER_SILENT_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    fix: str = ""
    # the message and the fix as templates with parameters, so each door shows them in its
    # user's language; ``message`` and ``fix`` stay English for --json and the log
    words: tuple[Phrase, Phrase] | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "message": self.message, "fix": self.fix}


def check(name: str, status: Status, message: str | Phrase, fix: str | Phrase = "") -> Check:
    """A check whose message and fix a door can translate: a plain string is a template
    without parameters."""
    said = message if isinstance(message, Phrase) else Phrase(message)
    fixed = fix if isinstance(fix, Phrase) else Phrase(fix)
    return Check(name, status, str(message), str(fix), (said, fixed))


def _refusal(exc: UserError) -> Phrase:
    """A configuration file's refusal, kept as its template so it is shown translated."""
    return Phrase(exc.template, **exc.params)


def summary(checks: list[Check]) -> dict[str, Any]:
    counts = {s: sum(1 for c in checks if c.status == s) for s in ("ok", "warn", "fail", "skip")}
    return {"ok": counts["fail"] == 0, "counts": counts, "checks": [c.as_dict() for c in checks]}


def settings_failure(message: str) -> Check:
    return check(
        "settings",
        "fail",
        message,
        "fix the environment variable named above (see README, Settings)",
    )


# --- configuration ------------------------------------------------------------------------------


def _config_loaders(config_dir: Path) -> list[tuple[str, Callable[[Policy], object]]]:
    from testrota.compliance.columns import load_result_columns
    from testrota.notify.templates import load_templates
    from testrota.risk.vocabulary import load_vocabulary
    from testrota.roster.columns import load_roster_columns
    from testrota.scheduling.sites import load_sites

    return [
        ("risk_categories.yaml", lambda p: load_vocabulary(config_dir)),
        ("roster_columns.yaml", lambda p: load_roster_columns(config_dir)),
        ("sites.yaml", lambda p: load_sites(config_dir, p)),
        ("messages.yaml", lambda p: load_templates(config_dir, p.sms.max_segments)),
        ("result_columns.yaml", lambda p: load_result_columns(config_dir)),
    ]


def check_config(settings: Settings) -> tuple[list[Check], Policy | None]:
    from testrota.policy import load_policy

    config_dir = settings.config_dir
    if not config_dir.is_dir():
        return [
            check(
                "config",
                "fail",
                Phrase("configuration directory {path} does not exist", path=str(config_dir)),
                "set TESTROTA_CONFIG_DIR to the directory holding policy.yaml and the "
                "other config files",
            )
        ], None
    checks = []
    policy: Policy | None
    try:
        policy = load_policy(config_dir)
        checks.append(
            check(
                "config policy.yaml",
                "ok",
                Phrase("loaded (time zone {zone})", zone=policy.timezone),
            )
        )
    except UserError as exc:
        policy = None
        checks.append(
            check(
                "config policy.yaml",
                "fail",
                _refusal(exc),
                "correct the file; every key is listed in the README",
            )
        )
    for name, load in _config_loaders(config_dir):
        if policy is None and name in ("sites.yaml", "messages.yaml"):
            checks.append(check(f"config {name}", "skip", "needs policy.yaml to load first"))
            continue
        try:
            load(policy or Policy())
        except UserError as exc:
            checks.append(check(f"config {name}", "fail", _refusal(exc), "correct the file"))
        else:
            checks.append(check(f"config {name}", "ok", "loaded"))
    return checks, policy


def check_secret(settings: Settings) -> Check:
    key = settings.secret_key
    if not key:
        if settings.demo:
            return check(
                "secret key",
                "warn",
                "TESTROTA_SECRET_KEY is not set (demo mode: a random key kept in the database)",
                "set it before real use",
            )
        return check(
            "secret key",
            "fail",
            "TESTROTA_SECRET_KEY is not set: the web app will not start and texts "
            "cannot carry personal links",
            Phrase(
                "{command}; the same value in every process",
                command="export TESTROTA_SECRET_KEY=\"$(python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')\"",
            ),
        )
    problem = secret_key_problem(key)
    if problem:
        # `serve` refuses such a key and texts cannot carry links signed with it
        message, _, fix = problem.partition(": ")
        return check("secret key", "fail", message, fix)
    return check("secret key", "ok", "set")


# --- database -----------------------------------------------------------------------------------


def _display_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def check_database(settings: Settings) -> tuple[list[Check], Engine | None]:
    """Reachability and schema version; the engine when the schema is usable."""
    from sqlalchemy.exc import SQLAlchemyError

    from testrota.db.engine import make_engine
    from testrota.db.schema import current_revision, head_revision

    url = settings.database_url
    shown = _display_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        return [
            check(
                "database",
                "fail",
                Phrase("TESTROTA_DATABASE_URL is not a database URL: {problem}", problem=str(exc)),
                "e.g. postgresql+psycopg://user:pass@host/testrota or sqlite:///./testrota.db",
            )
        ], None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        if not path.exists():
            return [
                check(
                    "database",
                    "fail",
                    Phrase("the SQLite file {path} does not exist", path=str(path)),
                    "run testrota init (or point TESTROTA_DATABASE_URL at the database)",
                )
            ], None
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        return [
            check(
                "database",
                "fail",
                Phrase("cannot reach {url}: {reason}", url=shown, reason=reason),
                "check that the server runs, the URL, the user and the password",
            )
        ], None
    checks = [check("database", "ok", Phrase("reachable ({url})", url=shown))]
    head = head_revision()
    if current is None:
        checks.append(
            check("schema", "fail", "the database has no testrota schema", "run testrota init")
        )
        engine.dispose()
        return checks, None
    if current != head:
        from alembic.script import ScriptDirectory

        from testrota.db.schema import alembic_config_static

        known = {
            r.revision
            for r in ScriptDirectory.from_config(alembic_config_static()).walk_revisions()
        }
        if current in known:
            checks.append(
                check(
                    "schema",
                    "fail",
                    Phrase(
                        "schema revision {current}, this version needs {head}",
                        current=current,
                        head=head,
                    ),
                    "run testrota init (it upgrades in place)",
                )
            )
        else:
            checks.append(
                check(
                    "schema",
                    "fail",
                    Phrase(
                        "schema revision {current} is unknown to this version "
                        "(head {head}): a newer testrota wrote it",
                        current=current,
                        head=head,
                    ),
                    "run the same testrota version as the other processes",
                )
            )
        engine.dispose()
        return checks, None
    checks.append(check("schema", "ok", Phrase("at head ({head})", head=head)))
    return checks, engine


# --- Twilio ---------------------------------------------------------------------------------------


def _twilio_error(exc: Exception, api: str) -> Check:
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    if status in (401, 403):
        return check(
            "twilio account",
            "fail",
            Phrase(
                "Twilio refused the credentials (HTTP {status}, code {code})",
                status=status,
                code=code,
            ),
            "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (console.twilio.com, "
            "Account info); a test-credentials pair cannot be checked",
        )
    if status == 404:
        return check(
            "twilio account",
            "fail",
            "Twilio does not know this account",
            "check TWILIO_ACCOUNT_SID",
        )
    if status is not None:
        return check(
            "twilio account",
            "fail",
            Phrase(
                "Twilio answered HTTP {status} (code {code}): {problem}",
                status=status,
                code=code,
                problem=getattr(exc, "msg", exc),
            ),
            "try again later; see status.twilio.com",
        )
    return check(
        "twilio account",
        "fail",
        Phrase(
            "could not reach {api}: {problem}",
            api=api,
            problem=f"{type(exc).__name__}: {str(exc)[:200]}",
        ),
        "check the network, a proxy (HTTPS_PROXY) and TESTROTA_TWILIO_API_BASE",
    )


def check_twilio(settings: Settings, sms: SmsPolicy) -> list[Check]:
    """The account and the sender, through the same client the dispatcher uses."""
    from testrota.notify.backends import TwilioBackend

    api = settings.twilio_api_base or "https://api.twilio.com"
    quick = sms.model_copy(
        update={"request_timeout_seconds": min(sms.request_timeout_seconds, 10.0), "concurrency": 1}
    )
    backend = TwilioBackend(settings, quick)
    client = backend.client
    checks: list[Check] = []
    try:
        try:
            account = client.api.v2010.accounts(settings.twilio_account_sid).fetch()
        except Exception as exc:
            return [_twilio_error(exc, api)]
        status = str(account.status or "")
        if status != "active":
            checks.append(
                check(
                    "twilio account",
                    "fail",
                    Phrase("the account is {status}", status=status or "unknown"),
                    "reactivate it in the Twilio console",
                )
            )
        elif str(account.type or "") == "Trial":
            checks.append(
                check(
                    "twilio account",
                    "warn",
                    Phrase(
                        "trial account {name!r}: texts reach verified numbers only and start "
                        "with a trial notice",
                        name=account.friendly_name,
                    ),
                    "upgrade the account before texting staff",
                )
            )
        else:
            checks.append(
                check(
                    "twilio account",
                    "ok",
                    Phrase(
                        "{name!r} is active ({type})", name=account.friendly_name, type=account.type
                    ),
                )
            )
        checks.append(_check_sender(settings, client))
    finally:
        backend.close()
    return checks


def _check_sender(settings: Settings, client: Any) -> Check:
    service = settings.twilio_messaging_service_sid
    if service:
        try:
            found = client.messaging.v1.services(service).fetch()
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                return check(
                    "twilio sender",
                    "fail",
                    Phrase("messaging service {service} is not in this account", service=service),
                    "check TWILIO_MESSAGING_SERVICE_SID",
                )
            return check(
                "twilio sender",
                "fail",
                Phrase(
                    "could not look up messaging service {service}: {problem}",
                    service=service,
                    problem=str(exc)[:200],
                ),
                "try again; check the network",
            )
        return check(
            "twilio sender", "ok", Phrase("messaging service {name!r}", name=found.friendly_name)
        )
    sender = settings.twilio_from or ""
    if not sender.startswith("+"):
        return check(
            "twilio sender",
            "ok",
            Phrase(
                "TWILIO_FROM {sender!r} is a short code or a sender ID (not checked)", sender=sender
            ),
        )
    try:
        numbers = client.incoming_phone_numbers.list(phone_number=sender, limit=1)
    except Exception as exc:
        return check(
            "twilio sender",
            "fail",
            Phrase("could not list the account's numbers: {problem}", problem=str(exc)[:200]),
            "try again; check the network",
        )
    if not numbers:
        return check(
            "twilio sender",
            "fail",
            Phrase(
                "TWILIO_FROM {sender} is not a number of this account: every send would fail "
                "(Twilio error 21606)",
                sender=sender,
            ),
            "set TWILIO_FROM to one of the account's numbers, or use TWILIO_MESSAGING_SERVICE_SID",
        )
    capabilities = numbers[0].capabilities or {}
    if capabilities.get("sms") is False:
        return check(
            "twilio sender",
            "fail",
            Phrase("{sender} cannot send SMS", sender=sender),
            "buy an SMS-capable number or use a messaging service",
        )
    return check("twilio sender", "ok", Phrase("{sender} belongs to the account", sender=sender))


def _private_host(host: str) -> bool:
    if host in ("localhost", "") or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ip_address(host.strip("[]"))
    except ValueError:
        return False
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
    )


def check_webhook_url(settings: Settings) -> Check:
    """Twilio must reach ``TESTROTA_PUBLIC_URL`` (and signs requests with it)."""
    url = settings.public_url
    parts = urlsplit(url)
    inbound = f"{url}/twilio/inbound"
    if parts.scheme != "https":
        return check(
            "webhook url",
            "fail",
            Phrase(
                "TESTROTA_PUBLIC_URL {url} is not https: Twilio would send replies and "
                "delivery reports in clear text",
                url=url,
            ),
            "serve the app behind TLS and set TESTROTA_PUBLIC_URL=https://...",
        )
    if not parts.hostname or _private_host(parts.hostname):
        return check(
            "webhook url",
            "fail",
            Phrase("TESTROTA_PUBLIC_URL {url} is not reachable from the internet", url=url),
            "set it to the public https address of the web app",
        )
    if parts.query or parts.fragment:
        return check(
            "webhook url",
            "fail",
            Phrase("TESTROTA_PUBLIC_URL {url} has a query or a fragment", url=url),
            "use just scheme, host and an optional path prefix",
        )
    return check(
        "webhook url",
        "ok",
        Phrase(
            "set the number's (or messaging service's) incoming-message webhook to POST {inbound}",
            inbound=inbound,
        ),
    )


# --- work in the database -------------------------------------------------------------------------


def _weeks_ahead(now: datetime, policy: Policy) -> list[str]:
    today = now.astimezone(policy.tz).date()
    weeks = []
    for day in (today, today + timedelta(days=7)):
        year, week, _ = day.isocalendar()
        weeks.append(f"{year}-W{week:02d}")
    return weeks


def check_capacity(engine: Engine, policy: Policy, now: datetime) -> Check:
    """Can the sender get the coming week's reminders out in time (this week's rest and the
    next)?"""
    from testrota.notify.queries import capacity_for_week

    today = now.astimezone(policy.tz).date().isoformat()
    texts, warnings, weeks_planned = 0, [], []
    for week in _weeks_ahead(now, policy):
        report = capacity_for_week(engine, week, policy)
        days = [d for d in report["days"] if d["date"] >= today]
        if days:
            weeks_planned.append(week)
        texts += sum(d["texts"] for d in days)
        # one warning per day that is not ok, in day order
        too_busy = [d["date"] for d in report["days"] if not d["ok"]]
        warnings += [w for day, w in zip(too_busy, report["warnings"], strict=True) if day >= today]
    rate = policy.sms.rate_per_second
    if warnings:
        return check(
            "sender capacity",
            "warn",
            Phrase(
                "{n} day(s) too busy for {rate} texts/s; first: {first}",
                n=len(warnings),
                rate=f"{rate:g}",
                first=warnings[0],
            ),
            "raise sms.rate_per_second only if the sender allows it (a short code, or "
            "a messaging service with more numbers), or spread the slots",
        )
    if not weeks_planned:
        return check("sender capacity", "ok", "no appointments planned from today on yet")
    limit = (
        Phrase("fit {rate} texts/s", rate=f"{rate:g}")
        if rate
        else Phrase("(no sender rate limit configured)")
    )
    return check(
        "sender capacity",
        "ok",
        Phrase(
            "{n} reminders from today to the end of {week} {limit}",
            n=texts,
            week=weeks_planned[-1],
            limit=limit,
        ),
    )


def check_workers(engine: Engine, wall_now: datetime) -> Check:

    h = tables.JOB_HEARTBEAT
    with engine.connect() as conn:
        latest = conn.execute(
            select(h.c.last_finished_at).order_by(h.c.last_finished_at.desc()).limit(1)
        ).scalar()
    if latest is None:
        return check(
            "workers",
            "warn",
            "no job tick recorded yet",
            "start testrota worker (or testrota serve --with-worker)",
        )
    age = wall_now - latest
    if age > WORKER_SILENT_AFTER:
        return check(
            "workers",
            "warn",
            Phrase("the last job tick ended {n} minutes ago", n=int(age.total_seconds() // 60)),
            "check that testrota worker runs (systemctl status testrota-worker@*)",
        )
    return check("workers", "ok", Phrase("last job tick {n} s ago", n=int(age.total_seconds())))


# What to do about a failing job besides reading its traceback: run its work by hand, or know
# when it runs again by itself.
_JOB_REMEDY = {
    "plan_next_week": "the worker tries again every 10 minutes for 6 hours; or run `testrota "
    "plan --week {period}` once fixed",
    "supervisors_digest": "the worker tries again every 10 minutes until noon",
    "nightly": "the worker tries again every 10 minutes for 3 hours, else tomorrow night",
    "dispatch_texts": "it runs every 30 s; `testrota dispatch --once` shows the error too",
    "sync_reminders": "it runs every 5 minutes; `testrota reminders` shows the error too",
    "notify_alerts": "it runs every minute",
    "flag_missed": "it runs every 10 minutes; `testrota flag` shows the error too",
}


def _ago(seconds: float) -> Phrase:
    if seconds < 120:
        return Phrase("{n} s ago", n=max(0, int(seconds)))
    if seconds < 2 * 3600:
        return Phrase("{n} minutes ago", n=int(seconds // 60))
    return Phrase("{n} hours ago", n=f"{seconds / 3600:.1f}")


def check_jobs(engine: Engine, wall_now: datetime) -> Check:
    """Is a periodic job failing? A job fails when its latest tick (over all workers) raised,
    or the latest run of a once-per-period job is recorded as failed; the most recent such
    failure is named with when and why."""
    from testrota.statuses import JobRunStatus

    h = tables.JOB_HEARTBEAT
    j = tables.JOB_RUN
    with engine.connect() as conn:
        ticks = conn.execute(
            select(h.c.job, h.c.worker, h.c.last_finished_at, h.c.last_error).order_by(
                h.c.last_finished_at
            )
        ).all()
        runs = conn.execute(
            select(j.c.job, j.c.period, j.c.status, j.c.failed_at, j.c.error).order_by(
                j.c.started_at, j.c.id
            )
        ).all()
    latest_tick = {t.job: t for t in ticks}  # ordered: the last one per job wins
    latest_run = {r.job: r for r in runs}
    # (job, wall-clock time or None, message)
    failing: list[tuple[str, datetime | None, Phrase]] = []
    for job, tick in latest_tick.items():
        if tick.last_error:
            run = latest_run.get(job)
            at = tick.last_finished_at
            facts = {
                "job": job,
                "ago": _ago((wall_now - at).total_seconds()),
                "at": f"{at:%Y-%m-%d %H:%M:%S}",
                "worker": tick.worker,
                "error": tick.last_error,
            }
            if run is not None and run.status == "failed":
                said = Phrase(
                    "{job} for {period} failed {ago} ({at} UTC, worker {worker}): {error}",
                    period=run.period,
                    **facts,
                )
            else:
                said = Phrase("{job} failed {ago} ({at} UTC, worker {worker}): {error}", **facts)
            failing.append((job, at, said))
    for job, run in latest_run.items():
        if run.status == JobRunStatus.FAILED and job not in {f[0] for f in failing}:
            said = (
                Phrase(
                    "{job} for {period} failed at {at}: {error}",
                    job=job,
                    period=run.period,
                    at=run.failed_at.isoformat(),
                    error=run.error,
                )
                if run.failed_at
                else Phrase(
                    "{job} for {period} failed: {error}",
                    job=job,
                    period=run.period,
                    error=run.error,
                )
            )
            failing.append((job, None, said))
    if not failing:
        return check(
            "jobs",
            "ok",
            Phrase("no job failing ({n} jobs ticked)", n=len(latest_tick))
            if latest_tick
            else "no job has run yet",
        )
    failing.sort(key=lambda f: f[1] or datetime.min.replace(tzinfo=UTC), reverse=True)
    job, _when, message = failing[0]
    others = [f[0] for f in failing[1:]]
    if others:
        message = Phrase(
            "{failure}; also failing: {others}", failure=message, others=", ".join(others)
        )
    run = latest_run.get(job)
    remedy = Phrase(
        _JOB_REMEDY.get(job, "it runs again at its next tick"),
        period=run.period if run is not None else "W",
    )
    return check(
        "jobs",
        "fail",
        message,
        Phrase(
            "the worker's log has the traceback (level ERROR, job_id {job}:…); fix the "
            "cause, then {remedy}",
            job=job,
            remedy=remedy,
        ),
    )


def check_backlog(engine: Engine, policy: Policy, now: datetime) -> Check:

    m = tables.MESSAGE
    with engine.connect() as conn:
        oldest = conn.execute(
            select(m.c.due_at)
            .where(
                m.c.status == "pending",
                m.c.due_at <= now,
                (m.c.next_attempt_at.is_(None)) | (m.c.next_attempt_at <= now),
            )
            .order_by(m.c.due_at)
            .limit(1)
        ).scalar()
    limit = timedelta(minutes=policy.reminders.send_within_minutes)
    if oldest is not None and now - oldest > limit:
        minutes = int((now - oldest).total_seconds() // 60)
        return check(
            "outbox",
            "warn",
            Phrase(
                "the oldest due text has waited {n} minutes "
                "(reminders.send_within_minutes is {limit})",
                n=minutes,
                limit=limit.seconds // 60,
            ),
            "check the workers' logs and the sender (testrota outbox --status pending)",
        )
    return check("outbox", "ok", "no text waits longer than it should")


# --- all of it ------------------------------------------------------------------------------------


def diagnose(
    settings: Settings, clock: Clock, wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> list[Check]:
    """Every check, in the order an operator would fix them."""
    checks, policy = check_config(settings)
    checks.append(check_secret(settings))
    db_checks, engine = check_database(settings)
    checks += db_checks
    sms = (policy or Policy()).sms
    from testrota.observability.doctor_channels import check_channels, check_refusals

    twilio_too = settings.sms_backend == "route" and bool(settings.twilio_account_sid)
    if settings.sms_backend == "twilio" or twilio_too:
        checks += check_twilio(settings, sms)
        checks.append(check_webhook_url(settings))
    if settings.sms_backend in ("aliyun", "wecom", "route"):
        checks += check_channels(settings, policy or Policy())
    if settings.sms_backend == "console":
        checks.append(
            check(
                "sms backend",
                "warn",
                "console: texts are written to the log, not sent",
                "for production set TESTROTA_SMS_BACKEND=twilio and the TWILIO_* settings",
            )
        )
    if engine is None or policy is None:
        why = Phrase("the database") if engine is None else Phrase("policy.yaml")
        for name in ("sender capacity", "workers", "jobs", "outbox"):
            checks.append(check(name, "skip", Phrase("needs {what} to be usable first", what=why)))
    else:
        try:
            now = clock.now()
            checks.append(check_capacity(engine, policy, now))
            checks.append(check_workers(engine, wall_clock()))
            checks.append(check_jobs(engine, wall_clock()))
            checks.append(check_backlog(engine, policy, now))
            if settings.sms_backend in ("aliyun", "route"):
                checks.append(check_refusals(engine, now))
        finally:
            engine.dispose()
    return checks

"""Texts and jobs: ``dispatch``, ``worker``, ``reminders``, ``booster``, ``outbox``,
``retry``, ``sms-capacity``."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from testrota.cli.common import (
    DbOption,
    FormatOption,
    JsonOption,
    emit_json,
    make_app,
    output_format,
    rows_as,
    user_errors,
)
from testrota.cli.lang import say


def _log_to_stderr() -> None:
    """The console backend writes texts to the log: show it, on stderr (stdout is for JSON)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=logging.INFO,
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        # "Running job ..." every few seconds says nothing; failures still show.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGTERM / SIGINT ask the dispatcher to stop gracefully; the old handlers come back after."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``testrota`` app."""
    app.command("dispatch")(dispatch)
    app.command("worker")(worker)
    app.command("reminders")(reminders)
    app.command("booster")(booster)
    app.command("outbox")(outbox)
    app.command("sms-capacity")(sms_capacity)
    app.command("retry")(retry)


def dispatch(
    db: DbOption = None,
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit.")] = False,
    max_seconds: Annotated[
        float | None,
        typer.Option("--max-seconds", help="Stop taking new texts after this long."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Send the SMS that are due (claimed safely: run as many dispatchers as you like).
    Without --once it runs until SIGTERM, riding out a database that drops its
    connections."""
    from testrota.notify.dispatcher import dispatch_loop

    _log_to_stderr()
    with user_errors(), _stop_on_signals() as stop:
        app = make_app(db)
        total = dispatch_loop(
            app.engine,
            app.settings,
            app.policy,
            app.clock,
            once=once,
            max_seconds=max_seconds,
            stop=stop,
        )
    summary = total.as_dict()
    if json_out:
        emit_json(summary)
    else:
        rows_as("table", [summary], list(summary), title=say("dispatch"))


def worker(db: DbOption = None) -> None:
    """Run the periodic jobs (texts, reminders, missed tests, plan, digest) until SIGTERM."""
    from testrota.jobs.worker import run_worker

    _log_to_stderr()
    with user_errors():
        app = make_app(db)
        app.policy  # noqa: B018  (a broken policy file is reported before anything starts)
        run_worker(app.settings, app.engine)


def reminders(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Create the reminder texts for the coming hours now (the worker does it every 5 min)."""
    from testrota.notify.enqueue import sync_reminders

    with user_errors():
        app = make_app(db)
        report = sync_reminders(app.engine, app.clock.now(), app.policy, app.settings)
    if json_out:
        emit_json(report.as_dict())
    else:
        rows_as("table", [report.as_dict()], list(report.as_dict()), title=say("reminders"))


def booster(
    db: DbOption = None,
    campaign: Annotated[
        str | None,
        typer.Option(
            "--campaign",
            help="Campaign name; one text per person per campaign "
            "(default: this month, e.g. 2022-05).",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Text everyone without a booster shot (once per campaign)."""
    from testrota.notify.enqueue import enqueue_booster_campaign

    with user_errors():
        app = make_app(db)
        created = enqueue_booster_campaign(
            app.engine, app.clock.now(), app.policy, app.settings, campaign=campaign
        )
    if json_out:
        emit_json({"created": created})
    else:
        typer.echo(say("{n} booster texts queued", n=created))


def outbox(
    db: DbOption = None,
    status: Annotated[str | None, typer.Option("--status", help="e.g. pending, failed")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="e.g. reminder_eve")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    fmt: FormatOption = None,
    json_out: JsonOption = False,
) -> None:
    """The texts, newest first (phone numbers masked)."""
    from testrota.notify.queries import OUTBOX_COLUMNS, OUTBOX_TABLE_COLUMNS, list_outbox

    with user_errors():
        fmt = output_format(fmt, json_out)
        app = make_app(db)
        rows = list_outbox(app.engine, status=status, kind=kind, limit=limit)
        columns = OUTBOX_TABLE_COLUMNS if fmt == "table" else OUTBOX_COLUMNS
        rows_as(
            fmt,
            rows,
            columns,
            title=say("outbox"),
            codes={"kind": "kind", "status": "message", "channel": "channel"},
        )


def sms_capacity(
    week: Annotated[str, typer.Option("--week", help="ISO week, e.g. 2022-W19")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Can the sender get each day's reminders out in time at policy.sms.rate_per_second?"""
    from testrota.notify.queries import capacity_for_week

    with user_errors():
        app = make_app(db)
        report = capacity_for_week(app.engine, week, app.policy, app.settings.sms_backend)
    if json_out:
        emit_json(report)
        return
    rows_as(
        "table",
        report["days"],
        ["date", "texts", "needed_rate", "ok"],
        title=say(
            "sender capacity {week} at {rate:g}/s", week=week, rate=report["rate_per_second"]
        ),
    )
    if len({row["channel"] for row in report["channels"]}) > 1:
        rows_as(
            "table",
            report["channels"],
            ["date", "channel", "texts", "needed_rate", "rate_per_second", "ok"],
            title=say("by channel"),
        )
    for warning in report["warnings"]:
        typer.echo(say("Warning: {warning}", warning=warning), err=True)


def retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Ids of failed texts (as `outbox` shows them).")
    ] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Every failed text instead of a list of ids.")
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Queue failed texts again (due now); texts that are not failed are left alone."""
    from testrota.actions.messages import RetryMessages, retry_messages
    from testrota.audit import Actor
    from testrota.errors import UserError

    with user_errors():
        if bool(ids) == all_failed:
            raise UserError("name the ids of failed texts, or --all-failed (not both)")
        app = make_app(db)
        retried = retry_messages(app, RetryMessages(Actor.cli(), None if all_failed else ids))
    if json_out:
        emit_json({"retried": retried.count, "ids": retried.ids})
    else:
        typer.echo(say("{n} texts queued again", n=retried.count))

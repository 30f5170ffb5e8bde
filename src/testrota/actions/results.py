"""Where test results are recorded: a lab's sheet (``results import``, the results upload) or
one result typed in by hand (``results add``).

A positive result raises its alert, with its contacts, in the result's own transaction and
audit trail; the contacts' extra tests are booked once that has committed, so the alert stands
even when no site has room for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from testrota.app import App
from testrota.audit import Action, Actor, record, record_many
from testrota.collector import collector_paused, give_back_freed_memory
from testrota.compliance.alerts import ContactsBooking, RaisedAlert, book_contacts
from testrota.compliance.importing import ResultsImport, read_result_sheet, record_result_sheet
from testrota.compliance.recording import RecordedResult, parse_result_word
from testrota.compliance.recording import record_result as record_one
from testrota.compliance.tube_import import (
    read_tube_sheet,
    tube_import_summary,
    write_tube_errors,
)
from testrota.db.engine import session_scope
from testrota.db.locks import RESULTS_LOCK, hold
from testrota.db.statistics import refresh_statistics
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.roster.reader import Workbook
from testrota.sampling.recheck import Recheck, book_rechecks
from testrota.sampling.results import apply_tube_rows, parse_tube_rows

__all__ = [
    "ImportResults",
    "RecordResult",
    "RecordedResult",
    "ResultsImport",
    "import_results",
    "record_result",
]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class ImportResults:
    path: Path  # .xlsx, .xls, .ods or .csv
    actor: Actor
    sheet: str | None = None  # only this sheet
    dry_run: bool = False  # match and count everything, write nothing
    errors_report: Path | None = None  # an .xlsx of the rows to fix (also on a dry run)
    lang: str = "en"  # the language of ``errors_report``: en or zh (the uploader's)
    progress: Callable[[str], None] = field(default=_quiet, compare=False)  # a stage's name


def import_results(app: App, cmd: ImportResults) -> ResultsImport:
    """Import one result file atomically; audited as ``results.imported`` (and each alert it
    raises as ``alert.raised``). Nothing is written on a dry run or when the file is refused
    (UserError)."""
    # Hundreds of thousands of short-lived objects without cycles: see testrota.collector.
    with collector_paused():
        return _import_results(app, cmd)


def _import_results(app: App, cmd: ImportResults) -> ResultsImport:
    policy, now = app.policy, app.now()
    cmd.progress("reading")
    try:
        workbook = read_result_sheet(cmd.path, policy, app.config_dir, sheet=cmd.sheet)
        give_back_freed_memory()  # the raw sheet's
    except UserError:
        # Not a person-keyed sheet: perhaps a lab's, keyed by tube code (样本编码).
        tube_book = read_tube_sheet(cmd.path, policy, app.config_dir, sheet=cmd.sheet)
        if tube_book is None:
            raise
        return _import_tubes(app, cmd, tube_book)
    try:
        with app.write_lock, session_scope(app.engine) as session:
            _queue(session, cmd)
            summary, raised = record_result_sheet(
                session,
                workbook,
                policy,
                now,
                str(cmd.actor),
                dry_run=cmd.dry_run,
                progress=cmd.progress,
                errors_report=cmd.errors_report,
                site_names=_site_names(app),
                lang=cmd.lang,
            )
            if not cmd.dry_run:
                record(
                    session,
                    cmd.actor,
                    Action.RESULTS_IMPORTED,
                    "results",
                    workbook.sha256[:16],
                    at=now,
                    details=summary.audit_details,
                )
                _record_alerts_raised(session, cmd.actor, raised, now, policy)
    except IntegrityError:
        raise UserError(
            "{file}: another import wrote some of these results at the same time; nothing "
            "from this one was written, run it again",
            file=workbook.file_name,
        ) from None
    if not cmd.dry_run:
        refresh_statistics(app.engine, "testresult", summary.recorded)
    if raised:
        cmd.progress("booking contacts")
        summary = replace(summary, contacts_booking=_book(app, raised, now))
    return summary


def _queue(session: Session, cmd: ImportResults) -> None:
    """After any other writer of results: the samples this import compares with are then
    those it committed (two sheets at once failed on a sample's key). A dry run writes nothing
    and waits for nobody."""
    if not cmd.dry_run:
        hold(
            session.connection(),
            RESULTS_LOCK,
            waiting=lambda: cmd.progress("waiting for another results import"),
        )


@dataclass(frozen=True)
class RecordResult:
    employee_no: str
    result: str  # as typed: negative, positive, pending, invalid, 阴性, 阳性 …
    actor: Actor
    sampled_at: datetime | None = None  # None: now
    site: str | None = None  # a site's code or name, or an outside site's name


def record_result(app: App, cmd: RecordResult) -> RecordedResult:
    """Record (or update) one person's result; audited as ``result.recorded`` when it changed
    anything. A positive raises its alert at once."""
    result = parse_result_word(cmd.result)
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        hold(session.connection(), RESULTS_LOCK)
        out, raised = record_one(
            session,
            cmd.employee_no,
            cmd.sampled_at or now,
            result,
            actor=str(cmd.actor),
            now=now,
            policy=app.policy,
            site=cmd.site,
        )
        if out.changed:
            record(
                session,
                cmd.actor,
                Action.RESULT_RECORDED,
                "testresult",
                out.result_id,
                at=now,
                details=out.audit_details,
            )
        _record_alerts_raised(session, cmd.actor, raised, now, app.policy)
    if raised:
        out = replace(out, contacts_booking=_book(app, raised, now))
    return out


def _record_alerts_raised(
    session: Session, actor: Actor, raised: list[RaisedAlert], now: datetime, policy: Policy
) -> None:
    """Audit the alerts just raised and, in the same transaction, exempt each case from their
    sample's day (policy alerts.positive_exempt_days): a positive person is neither booked,
    reminded nor listed as missed while they are ill."""
    from testrota.actions.exemptions import exempt_positives

    record_many(
        session,
        actor,
        Action.ALERT_RAISED,
        "alert",
        [(a.alert_id, a.audit_details) for a in raised],
        at=now,
    )
    exempt_positives(session, actor, raised, now, policy)


def _import_tubes(app: App, cmd: ImportResults, workbook: Workbook) -> ResultsImport:
    """A tube-keyed sheet: each tube's result applies to every sample in it; a positive pool's
    members are booked and texted a single-tube recheck once the sheet has committed."""
    policy, now = app.policy, app.now()
    rows, problems, duplicates = parse_tube_rows(workbook)
    cmd.progress("writing")
    try:
        with app.write_lock, session_scope(app.engine) as session:
            _queue(session, cmd)
            outcome = apply_tube_rows(
                session, rows, now, policy, str(cmd.actor), dry_run=cmd.dry_run
            )
            summary = tube_import_summary(
                workbook, rows, problems, duplicates, outcome, cmd.dry_run
            )
            if cmd.errors_report is not None and (summary.errors or summary.unmatched):
                write_tube_errors(cmd.errors_report, summary, workbook, lang=cmd.lang)
            if not cmd.dry_run:
                record(
                    session,
                    cmd.actor,
                    Action.RESULTS_IMPORTED,
                    "results",
                    workbook.sha256[:16],
                    at=now,
                    details={
                        **summary.audit_details,
                        "tubes": outcome.tubes,
                        "positive_tubes": outcome.positive_tubes[:100],
                    },
                )
                _record_alerts_raised(session, cmd.actor, outcome.raised, now, policy)
    except IntegrityError:
        raise UserError(
            "{file}: another import wrote some of these results at the same time; nothing "
            "from this one was written, run it again",
            file=workbook.file_name,
        ) from None
    if cmd.dry_run:
        return summary
    if outcome.raised:
        cmd.progress("booking contacts")
        summary = replace(summary, contacts_booking=_book(app, outcome.raised, now))
    if outcome.pool_positive:
        cmd.progress("booking rechecks")
        samples = _pooled_samples(app, outcome.pool_positive)
        with app.write_lock:
            booking = book_rechecks(app.engine, samples, now, policy, app.settings, app.config_dir)
        summary = replace(summary, rechecks=booking)
    return summary


def _pooled_samples(app: App, pairs: list[tuple[int, str]]) -> list[Recheck]:
    from sqlalchemy import select
    from sqlmodel import col

    from testrota.db.models import TestResult, Tube, TubeMember

    codes = sorted({code for _, code in pairs})
    with Session(app.engine) as session:
        rows = session.execute(
            select(
                col(TubeMember.person_id),
                col(Tube.code),
                col(TestResult.sampled_at),
                col(Tube.site_code),
            )
            .join(Tube, col(Tube.id) == col(TubeMember.tube_id))
            .join(TestResult, col(TestResult.id) == col(TubeMember.result_id))
            .where(col(Tube.code).in_(codes))
        ).all()
    wanted = set(pairs)
    return [Recheck(p, c, at, site) for p, c, at, site in rows if (p, c) in wanted]


def _book(app: App, raised: list[RaisedAlert], now: datetime) -> ContactsBooking | None:
    with app.write_lock:
        return book_contacts(app.engine, raised, now, app.policy, app.config_dir)


def _site_names(app: App) -> dict[str, str]:
    """``sites.yaml``'s names and aliases of each site, to its code (北门 → NORTH)."""
    from testrota.errors import UserError
    from testrota.scheduling.sites import load_sites

    try:
        specs = load_sites(app.config_dir, app.policy)
    except UserError:  # a broken sites.yaml: the database's names still match
        return {}
    return {name: s.code for s in specs for name in (s.name, *s.aliases)}

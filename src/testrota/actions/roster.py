"""Where a roster is imported: from the command line, or uploaded, previewed and applied on the
web, and the demo's sample rosters.

One transaction writes the people, the import record and the audit events (one per person
updated or taken off the roster, and one for the import), or nothing at all: a dry run, a row
the deactivation guard refuses, any error. The preview is the same computation as a dry run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from testrota.actions.stale_scopes import as_recorded
from testrota.actions.uploads import (
    FindUpload,
    StageUpload,
    UploadGone,
    as_file,
    discard_upload,
    find_upload,
    stage_upload,
)
from testrota.app import App
from testrota.audit import Action, Actor, record, record_many
from testrota.auth.stale import StaleScope
from testrota.collector import collector_paused, give_back_freed_memory
from testrota.db.engine import session_scope
from testrota.db.locks import PEOPLE_LOCK, hold
from testrota.db.models import RosterImport
from testrota.db.statistics import refresh_statistics
from testrota.errors import UserError
from testrota.roster import service as roster
from testrota.roster.service import ImportReport

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class ImportRoster:
    path: Path  # .xlsx, .xls, .ods or .csv
    actor: Actor
    sheet: str | None = None  # only this sheet
    dry_run: bool = False  # compute everything, write nothing
    full: bool = False  # the file is the whole roster: whoever is missing leaves it
    force: bool = False  # allow ``full`` to deactivate more than the policy's share
    errors_report: Path | None = None  # write the row errors to this .xlsx
    progress: Progress = _quiet  # told each stage: reading, comparing, writing
    lang: str = "en"  # the language of the error report: en or zh (the uploader's)


def import_roster(app: App, cmd: ImportRoster) -> ImportReport:
    """Import one roster file and report what changed (or would, on a dry run)."""
    return _import(app, cmd)[0]


def _import(app: App, cmd: ImportRoster) -> tuple[ImportReport, int]:
    """The report, and how many people were active before."""
    # Hundreds of thousands of short-lived objects without cycles: see testrota.collector.
    with collector_paused():
        return _import_paused(app, cmd)


def _import_paused(app: App, cmd: ImportRoster) -> tuple[ImportReport, int]:
    now = app.now()
    policy = app.policy
    cmd.progress("reading")
    workbook = roster.read_roster(
        cmd.path, config_dir=app.config_dir, policy=policy, sheet=cmd.sheet
    )
    give_back_freed_memory()  # the raw sheet's, before the comparison builds on top of it
    vocab = app.vocabulary
    with app.write_lock, session_scope(app.engine) as session:
        if not cmd.dry_run:
            # Compared with what the import before this one wrote, not with what it replaced.
            hold(
                session.connection(),
                PEOPLE_LOCK,
                waiting=lambda: cmd.progress("waiting for another roster import"),
            )
        cmd.progress("comparing")
        comparison = roster.compare_roster(
            session,
            workbook,
            policy=policy,
            vocab=vocab,
            full=cmd.full,
            force=cmd.force,
            dry_run=cmd.dry_run,
        )
        if cmd.errors_report is not None and comparison.errors:
            from testrota.roster.errors_xlsx import write_error_report

            write_error_report(cmd.errors_report, comparison.errors, workbook, lang=cmd.lang)
        released = roster.release_for(session, comparison.diff, now, policy, dry_run=cmd.dry_run)
        report = comparison.report = replace(
            comparison.report, released=released.appointments, released_texts=released.texts
        )
        if cmd.dry_run:
            session.rollback()
            return report, comparison.active
        cmd.progress("writing")
        from testrota.db.bulk import indexes_deferred
        from testrota.org.units import sync_units
        from testrota.roster.sync import UNIT_FIELDS, moved_grid_unit
        from testrota.scheduling.regroup import follow_grid_units

        with indexes_deferred(
            session.connection(),
            roster.PERSON,
            rows_before=comparison.stored,
            rows_written=len(comparison.diff.added) + len(comparison.diff.updated),
        ):
            # The unit tree follows the roster in the same transaction: no reader sees a
            # person without their unit. New people and those who moved are written with it;
            # people who came back keep the unit their unchanged row names, looked at again.
            import_id = roster.write_roster(session, comparison, now, str(cmd.actor), org=app.org)
            back = {
                person_id
                for person_id, _, changes in comparison.diff.updated
                if "active" in changes and not changes.keys() & set(UNIT_FIELDS)
            }
            sync_units(session.connection(), app.org, now, only=back)
        # Their coming appointments go with the people who moved, in this transaction: the
        # planner keeps grid units together and apart by the unit an appointment carries.
        follow_grid_units(session.connection(), moved_grid_unit(comparison.diff), now)
        stale = _stale_after(app, session, comparison)
        record_many(
            session,
            cmd.actor,
            Action.PERSON_UPDATED,
            "person",
            roster.person_updates(comparison.diff),
            at=now,
        )
        record_many(
            session,
            cmd.actor,
            Action.PERSON_DEACTIVATED,
            "person",
            roster.person_deactivations(comparison.diff),
            at=now,
        )
        record(
            session,
            cmd.actor,
            Action.ROSTER_IMPORTED,
            "roster_import",
            import_id,
            at=now,
            details={
                "file": report.file,
                **report.counts(),
                # what HR was told, and the likely new names for the users page to offer
                **({"stale_scopes": len(stale), "renamed": as_recorded(stale)} if stale else {}),
            },
        )
        # The commit's roll-ups count again everyone the import changed (a group's 300,000
        # people), so the file's rows and the comparison go first: the every-person-changed
        # roster peaked at 1,033 MB with them still held.
        active = comparison.active
        del workbook, comparison
        give_back_freed_memory()
    refresh_statistics(app.engine, "person", report.added + report.updated + report.deactivated)
    midweek = _book_newcomers(app, now) if report.added or report.updated else None
    return replace(report, import_id=import_id, midweek=midweek, stale_scopes=stale), active


def _stale_after(app: App, session: Session, comparison: roster.Comparison) -> list[StaleScope]:
    """Supervisors' entries nobody is in once this import's people are written, with the
    names the people moved to (this import's moves first, then those recorded before)."""
    from testrota.actions.stale_scopes import import_moves, recorded_moves, stale_scopes_in
    from testrota.roster.sync import moved_units

    conn = session.connection()
    moves = import_moves(app.org, moved_units(comparison.diff))
    return stale_scopes_in(conn, moves.merged(recorded_moves(conn)))


def _book_newcomers(app: App, now: datetime) -> dict[str, Any] | None:
    """People who became high-risk in a week already planned get its earliest slots left."""
    from testrota.scheduling.service import book_newcomers

    try:
        with app.write_lock:
            return book_newcomers(app.engine, now, app.policy, app.config_dir)
    except UserError as exc:
        # The roster is in; a broken sites.yaml must not make it look as if it were not.
        return {"error": f"roster imported, but no slots booked for newcomers: {exc}"}


# --- the web: upload, preview, apply ---------------------------------------------------------


@dataclass(frozen=True)
class RosterPreview:
    """A dry run as if forced, so HR sees what a full import would deactivate, and whether
    applying it needs the deactivation guard overridden (the apply enforces it again)."""

    report: ImportReport  # its errors cut to the first ERRORS_SHOWN
    errors_total: int
    active_before: int
    deactivate_share: float  # of the active people
    deactivate_limit: float  # policy import.max_deactivate_share
    needs_force: bool


ERRORS_SHOWN = 500  # a 100,000-row file can have as many errors; the report has them all


@dataclass(frozen=True)
class PreviewRoster:
    path: Path
    actor: Actor
    full: bool = False
    sheet: str | None = None


def preview_roster(app: App, cmd: PreviewRoster) -> RosterPreview:
    """What applying the file would do; nothing is written."""
    report, active = _import(
        app,
        ImportRoster(cmd.path, cmd.actor, sheet=cmd.sheet, dry_run=True, full=cmd.full, force=True),
    )
    share = report.deactivated / active if active else 0.0
    limit = app.policy.imports.max_deactivate_share
    return RosterPreview(
        report=replace(report, errors=report.errors[:ERRORS_SHOWN]),
        errors_total=len(report.errors),
        active_before=active,
        deactivate_share=round(share, 4),
        deactivate_limit=limit,
        needs_force=bool(cmd.full and report.deactivated and share > limit),
    )


@dataclass(frozen=True)
class UploadRoster:
    file_name: str  # as the browser sent it
    data: bytes
    actor: Actor
    full: bool = False
    sheet: str | None = None


@dataclass(frozen=True)
class RosterUpload:
    token: str
    file_name: str
    full: bool
    sheet: str | None
    preview: RosterPreview


def upload_roster(app: App, cmd: UploadRoster) -> RosterUpload:
    """Preview an uploaded roster and keep it (a day at most) until it is applied or
    cancelled; a file that cannot be read is a UserError and nothing is kept."""
    with as_file(cmd.file_name, cmd.data) as path:
        preview = preview_roster(
            app, PreviewRoster(path, cmd.actor, full=cmd.full, sheet=cmd.sheet)
        )
    options = {"full": cmd.full, "sheet": cmd.sheet}
    token = stage_upload(
        app,
        StageUpload(
            "roster", cmd.file_name, cmd.data, cmd.actor, options=options, preview=_stored(preview)
        ),
    )
    return RosterUpload(token, cmd.file_name, cmd.full, cmd.sheet, preview)


@dataclass(frozen=True)
class ShowRosterUpload:
    token: str
    actor: Actor
    sees_all: bool = False  # admins see everyone's uploads


def show_roster_upload(app: App, query: ShowRosterUpload) -> RosterUpload:
    """An upload's preview, as computed when it was uploaded (:class:`UploadGone` when it
    was applied, cancelled or is someone else's)."""
    stored = find_upload(app, FindUpload(query.token, "roster", query.actor, query.sees_all))
    from pydantic import ValidationError

    try:
        preview = _preview_adapter().validate_python(stored.preview)
    except ValidationError:  # kept by an older version of this app: preview it again
        raise UploadGone() from None
    return RosterUpload(
        stored.token,
        stored.file_name,
        bool(stored.options.get("full")),
        stored.options.get("sheet"),
        preview,
    )


@dataclass(frozen=True)
class RosterUploadErrors:
    token: str
    actor: Actor
    target: Path  # the .xlsx to write
    sees_all: bool = False
    lang: str = "en"  # the report's language: en or zh (the uploader's)


@dataclass(frozen=True)
class UploadErrorsWritten:
    path: Path
    file_name: str  # the uploaded file's
    errors: int


def write_upload_errors(app: App, cmd: RosterUploadErrors) -> UploadErrorsWritten:
    """Every row error of an uploaded roster (not only those the preview shows) as an .xlsx,
    with the file's own rows and columns."""
    stored = find_upload(
        app, FindUpload(cmd.token, "roster", cmd.actor, cmd.sees_all, with_data=True)
    )
    assert stored.data is not None
    with as_file(stored.file_name, stored.data) as path:
        report = import_roster(
            app,
            ImportRoster(
                path,
                cmd.actor,
                sheet=stored.options.get("sheet"),
                dry_run=True,
                full=bool(stored.options.get("full")),
                force=True,
                errors_report=cmd.target,
                lang=cmd.lang,
            ),
        )
    if not report.errors:  # the list's headers, and nothing under them
        from testrota.roster.errors_xlsx import write_error_report

        write_error_report(cmd.target, [], lang=cmd.lang)
    return UploadErrorsWritten(cmd.target, stored.file_name, len(report.errors))


@dataclass(frozen=True)
class ApplyRosterUpload:
    token: str
    actor: Actor
    force: bool = False  # HR confirmed the deactivations the guard would refuse
    sees_all: bool = False


def apply_roster_upload(app: App, cmd: ApplyRosterUpload) -> ImportReport:
    """Import an uploaded roster as its preview showed it, then forget the file."""
    stored = find_upload(
        app, FindUpload(cmd.token, "roster", cmd.actor, cmd.sees_all, with_data=True)
    )
    assert stored.data is not None
    with as_file(stored.file_name, stored.data) as path:
        report = import_roster(
            app,
            ImportRoster(
                path,
                cmd.actor,
                sheet=stored.options.get("sheet"),
                full=bool(stored.options.get("full")),
                force=cmd.force,
            ),
        )
    discard_upload(app, cmd.token)
    return report


# --- past imports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterImportRow:
    id: int
    file_name: str
    imported_by: str
    imported_at: datetime
    full: bool
    counts: dict[str, int]
    errors: int


@dataclass(frozen=True)
class RecentImports:
    limit: int = 10
    including: int | None = None  # also this import (the one just applied), wherever it is


@dataclass(frozen=True)
class RosterImports:
    recent: list[RosterImportRow] = field(default_factory=list)
    including: RosterImportRow | None = None


def recent_imports(app: App, query: RecentImports) -> RosterImports:
    """The latest roster imports, newest first."""
    with Session(app.read_engine) as session:
        recent = [
            _import_row(r)
            for r in session.exec(
                select(RosterImport)
                .order_by(col(RosterImport.imported_at).desc())
                .limit(query.limit)
            )
        ]
        found = session.get(RosterImport, query.including) if query.including else None
        return RosterImports(recent, _import_row(found) if found is not None else None)


def _import_row(r: RosterImport) -> RosterImportRow:
    return RosterImportRow(
        id=r.id or 0,
        file_name=r.file_name,
        imported_by=r.imported_by,
        imported_at=r.imported_at,
        full=bool(r.full),
        counts={k: int(v) for k, v in (r.counts or {}).items()},
        errors=len(r.errors or []),
    )


def _stored(preview: RosterPreview) -> dict[str, Any]:
    """The preview as JSON for the upload's row (read back by :func:`show_roster_upload`)."""
    stored: dict[str, Any] = _preview_adapter().dump_python(preview, mode="json")
    return stored


@cache
def _preview_adapter() -> Any:
    """Made on first use: the command line never needs it."""
    from pydantic import TypeAdapter

    return TypeAdapter(RosterPreview)

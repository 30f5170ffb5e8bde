"""A lab, booth or HR result sheet into test results, in one transaction (the use case is
:func:`testrota.actions.results.import_results`).

Idempotent: a sample is keyed by (person, sampling time, source), so importing the same sheet
again changes nothing, and a sheet that brings the result of a sample already known as pending
updates that one row. Every row is accounted for: ``rows = recorded + unchanged + unmatched +
errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    Table,
    bindparam,
    exists,
    insert,
    literal,
    select,
    update,
)
from sqlmodel import Session

from testrota.compliance.alerts import (
    AlertSummary,
    ContactsBooking,
    RaisedAlert,
    raise_alerts,
)
from testrota.compliance.columns import IDENTITY_FIELDS, REQUIRED_FIELDS, load_result_columns
from testrota.compliance.facts import cols
from testrota.compliance.records import Sample
from testrota.compliance.result_rows import (
    ParsedRows,
    ParsedSample,
    PersonIndex,
    RowProblem,
    SampleColumns,
    UnmatchedRow,
    parse_rows,
    site_key,
)
from testrota.compliance.staging import mark_done_staged, same_sample, staged, staged_rows
from testrota.db import tables
from testrota.db.bulk import fetch_raw, fetch_raw_among, fetch_raw_select
from testrota.db.models import Site
from testrota.db.statistics import BULK_ROWS, planner_settings
from testrota.db.types import UTCDateTime
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.roster.reader import Workbook
from testrota.sampling.recheck import RecheckBooking
from testrota.statuses import ResultValue

POSITIVE = ResultValue.POSITIVE

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class SkippedSheet:
    sheet: str
    reason: str


@dataclass(frozen=True)
class UnreadColumn:
    """A column of a result sheet that no header name in ``result_columns.yaml`` matches: it
    was not read. ``header`` is as written in the file ("" when the column has none)."""

    sheet: str
    letter: str  # A, B, … as Excel shows it
    header: str


@dataclass(frozen=True)
class ResultsImport:
    """What a result sheet did (or would do, on a dry run): every row is accounted for,
    ``rows = recorded + unchanged + len(unmatched) + len(errors)``."""

    rows: int
    recorded: int  # added + updated
    added: int
    updated: int  # a pending result that got its value, say
    unchanged: int  # already known with this result, or a row repeating another
    duplicates: int
    positives: int
    alerts: list[AlertSummary]
    appointments_done: int
    file_name: str
    sha256: str
    sheets: list[str]
    skipped_sheets: list[SkippedSheet]
    unmatched: list[UnmatchedRow]
    errors: list[RowProblem]
    matched_by: dict[str, int]  # employee_no / phone / id_number -> rows matched that way
    dry_run: bool
    contacts_booking: ContactsBooking | None = None  # after the import committed
    # A tube-keyed sheet (testrota.sampling.results): tubes by result, and the rechecks of
    # positive pools' members booked after the import committed. None for a person-keyed one.
    tubes: dict[str, int] | None = None
    rechecks: RecheckBooking | None = None
    unread_columns: list[UnreadColumn] = field(default_factory=list)

    @property
    def audit_details(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "sha256": self.sha256,
            "rows": self.rows,
            "recorded": self.recorded,
            "unchanged": self.unchanged,
            "unmatched": len(self.unmatched),
            "errors": len(self.errors),
        }


def read_result_sheet(
    path: Path,
    policy: Policy,
    config_dir: Path,
    *,
    sheet: str | None = None,
) -> Workbook:
    """Read a result file (the size limits of the policy); a UserError when it cannot be
    read, or when a sheet has no column that says who a row is."""
    from testrota.roster.reader import read_workbook

    aliases = load_result_columns(config_dir)
    workbook = read_workbook(
        path, aliases, required=REQUIRED_FIELDS, limits=policy.imports, sheet=sheet
    )
    for sh in workbook.sheets:
        if not any(f in sh.columns for f in IDENTITY_FIELDS):
            raise UserError(
                "{file}: sheet {sheet!r} has {columns} but no employee number, phone or ID "
                "number column, so its rows cannot be matched to people (see "
                "config/result_columns.yaml for the names it knows)",
                file=workbook.file_name,
                sheet=sh.name,
                columns=", ".join(repr(h) for h in sh.columns.values()),
            )
    return workbook


def record_result_sheet(
    session: Session,
    workbook: Workbook,
    policy: Policy,
    now: datetime,
    actor: str,
    *,
    dry_run: bool = False,
    progress: Progress = _quiet,
    errors_report: Path | None = None,
    site_names: Mapping[str, str] | None = None,
    lang: str = "en",
) -> tuple[ResultsImport, list[RaisedAlert]]:
    """Match the rows of ``workbook`` to people and record their results, in ``session``'s
    transaction; returns the summary and the alerts raised (none on a dry run).

    Idempotent by each sample's key. Positive results raise their alerts here; the caller
    audits the import and the alerts, and books the contacts once it has committed.
    ``errors_report``: an .xlsx of the rows that match nobody and the row errors (written
    also on a dry run, in ``lang``: en or zh). ``site_names``: more names of sites
    (``sites.yaml``'s names and aliases) to their codes, beside the database's names and codes.
    An IntegrityError means another import wrote the same samples at the
    same moment: the caller rolls back.
    """
    from testrota.roster.phones import normalize_phone

    region = policy.phone_region
    phone_cache: dict[str, str | None] = {}

    def phone(raw: str) -> str | None:
        if raw not in phone_cache:
            phone_cache[raw] = normalize_phone(raw, region)
        return phone_cache[raw]

    progress("matching")
    index = _person_index(session)
    sites = {**{site_key(k): v for k, v in (site_names or {}).items()}, **_site_names(session)}
    parsed = ParsedRows()
    for sh in workbook.sheets:
        parse_rows(
            sh.name,
            sh.data,
            sh.row_numbers,
            index,
            tz=policy.tz,
            now=now,
            normalize_phone=phone,
            sites=sites,
            out=parsed,
        )
    _with_headers(parsed, workbook)
    if errors_report is not None and (parsed.errors or parsed.unmatched):
        _write_errors_report(errors_report, parsed, workbook, lang)
    progress("writing")
    counts, raised = _write(session, parsed, now, policy, actor, dry_run)
    summary = ResultsImport(
        rows=counts.rows,
        recorded=counts.added + counts.updated,
        added=counts.added,
        updated=counts.updated,
        unchanged=counts.unchanged,
        duplicates=parsed.duplicates,
        positives=counts.positives,
        appointments_done=counts.appointments_done,
        alerts=[AlertSummary.of(a) for a in raised],
        file_name=workbook.file_name,
        sha256=workbook.sha256,
        sheets=[sh.name for sh in workbook.sheets],
        skipped_sheets=[SkippedSheet(s.name, s.reason) for s in workbook.skipped],
        unmatched=parsed.unmatched,
        errors=parsed.errors,
        matched_by=parsed.matched_by,
        dry_run=dry_run,
        unread_columns=unread_columns(workbook),
    )
    return summary, raised


def unread_columns(workbook: Workbook) -> list[UnreadColumn]:
    """The columns of ``workbook`` that were not read, by their headers as written."""
    return [
        UnreadColumn(sh.name, letter, header)
        for sh in workbook.sheets
        for letter, header, _cells in sh.unmatched_columns
    ]


def _with_headers(parsed: ParsedRows, workbook: Workbook) -> None:
    """Give each problem the header of its column as the clerk wrote it: a cell error its own
    column's, a row matching nobody the identity column the sheet has."""
    sheets = {sh.name: sh for sh in workbook.sheets}
    parsed.errors = [
        replace(e, header=sheets[e.sheet].columns.get(e.column, e.column)) for e in parsed.errors
    ]
    parsed.unmatched = [
        replace(
            u,
            header=next(
                (
                    sheets[u.sheet].columns[f]
                    for f in IDENTITY_FIELDS
                    if f in sheets[u.sheet].columns
                ),
                "",
            ),
        )
        for u in parsed.unmatched
    ]


def _write_errors_report(path: Path, parsed: ParsedRows, workbook: Workbook, lang: str) -> None:
    """The roster's error workbook, for results, in ``lang``: a row matching nobody is marked
    in the identity column the sheet has; a cell error in its own column, by the sheet's
    header."""
    from testrota.roster.errors_xlsx import write_error_report
    from testrota.roster.validate import RowError

    problems = [
        RowError(e.sheet, e.row, e.header, e.value, e.message, e.template, e.params)
        for e in parsed.errors
    ]
    for row in parsed.unmatched:
        problems.append(
            RowError(row.sheet, row.row, row.header, row.value, row.message, parts=row.parts)
        )
    order = [sh.name for sh in workbook.sheets]
    problems.sort(key=lambda e: (order.index(e.sheet), e.row))
    write_error_report(path, problems, workbook, lang=lang)


def _person_index(session: Session) -> PersonIndex:
    """Everyone's employee number; a phone or ID number asked for when a row needs one. The
    driver's own tuples, no type processing: this reads every person, 300,000 at a group."""
    conn, person = session.connection(), tables.PERSON
    return PersonIndex(
        fetch_raw(conn, person, ("id", "employee_no")),
        phones=lambda e164s: fetch_raw_among(conn, person, ("phone", "id"), "phone", e164s),
        id_numbers=lambda: fetch_raw(conn, person, ("id", "id_number")),
    )


def _site_names(session: Session) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, name in session.execute(select(*cols(Site.code, Site.name))):
        out.setdefault(site_key(name), code)
        out[site_key(code)] = code
    return out


@dataclass
class _Counts:
    rows: int
    added: int
    updated: int
    unchanged: int
    positives: int
    appointments_done: int = 0


def _sample(s: ParsedSample, result_id: int) -> Sample:
    return Sample(s.person_id, s.sampled_at, s.result, s.source, s.site_code, result_id)


def _write(
    session: Session,
    parsed: ParsedRows,
    now: datetime,
    policy: Policy,
    actor: str,
    dry_run: bool,
) -> tuple[_Counts, list[RaisedAlert]]:
    samples = parsed.columns
    results = samples.result
    conn = session.connection()
    tr = tables.TEST_RESULT
    with staged(conn, staged_rows(samples, policy)) as st:
        # Plain rows: an unchanged sheet finds all 300,000 of its samples here.
        stored = fetch_raw_select(
            conn, select(st.c.idx, tr.c.id, tr.c.result).join(tr, same_sample())
        )
        existing = {idx: (rid, result) for idx, rid, result in stored}
        changed = [(rid, i) for i, (rid, result) in existing.items() if result != results[i]]
        new = len(samples) - len(existing)
        positives_new = {
            i for i, result in enumerate(results) if result == POSITIVE and i not in existing
        }
        positives_changed = [(rid, i) for rid, i in changed if results[i] == POSITIVE]
        counts = _Counts(
            parsed.rows,
            new,
            len(changed),
            parsed.duplicates + len(existing) - len(changed),
            len(positives_new) + len(positives_changed),
        )
        if dry_run:
            return counts, []
        with _bulk_plans(conn, len(samples)):
            done = _insert_update_mark(conn, st, samples, new, changed, now, actor)
        positive_ids: dict[int, int] = {}
        if positives_new:
            query = select(st.c.idx, tr.c.id).join(tr, same_sample()).where(st.c.result == POSITIVE)
            positive_ids = {r.idx: r.id for r in conn.execute(query) if r.idx in positives_new}
    positive_samples = [
        _sample(samples.sample(i), positive_ids[i])
        for i in sorted(positives_new)
        if i in positive_ids
    ] + [_sample(samples.sample(i), rid) for rid, i in positives_changed]
    raised = raise_alerts(session, positive_samples, now, policy)
    counts.appointments_done = done
    return counts, raised


# The sheet's new samples, its changed results and the appointments they mark done are each
# one statement over every staged row, and the roll-up's trigger joins the appointments marked
# done in one more: at the default 4 MB of work_mem their sorts and hashes spilled to disk at
# 96,000 appointments (the marking 3.9-5.2 -> 3.4-4.5 s in the 300,000-row sheet's import).
_BULK_SETTINGS = {"work_mem": "64MB"}


def _bulk_plans(conn: Connection, rows: int) -> AbstractContextManager[None]:
    return planner_settings(conn, _BULK_SETTINGS) if rows >= BULK_ROWS else nullcontext()


def _insert_update_mark(
    conn: Connection,
    st: Table,
    samples: SampleColumns,
    new: int,
    changed: list[tuple[int, int]],
    now: datetime,
    actor: str,
) -> int:
    """Write the staged samples that are new, the results that changed, and mark done the
    appointments the samples count for; the number marked done."""
    tr, results = tables.TEST_RESULT, samples.result
    if new:
        conn.execute(
            insert(tr).from_select(
                [
                    "person_id",
                    "sampled_at",
                    "result",
                    "source",
                    "site_code",
                    "site_name",
                    "recorded_at",
                    "recorded_by",
                ],
                select(
                    st.c.person_id,
                    st.c.sampled_at,
                    st.c.result,
                    st.c.source,
                    st.c.site_code,
                    st.c.site_name,
                    literal(now, UTCDateTime()),
                    literal(actor, String()),
                ).where(~exists().where(same_sample())),
            )
        )
    if changed:
        conn.execute(
            update(tr)
            .where(tr.c.id == bindparam("rid"))
            .values(result=bindparam("new_result"), recorded_at=now, recorded_by=actor),
            [{"rid": rid, "new_result": results[i]} for rid, i in changed],
        )
    return mark_done_staged(conn, now)

"""Reading a tube-keyed result sheet and summing up what it did, in the shape of a person-keyed
import's summary (``results import --json`` plus ``tubes`` and ``rechecks``)."""

from __future__ import annotations

from pathlib import Path

from testrota.compliance.columns import load_result_columns
from testrota.compliance.importing import ResultsImport, SkippedSheet, unread_columns
from testrota.compliance.result_rows import RowProblem
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.roster.reader import Workbook
from testrota.sampling.results import TubeOutcome, TubeRow

TUBE_REQUIRED = ("tube", "result")


def read_tube_sheet(
    path: Path, policy: Policy, config_dir: Path, *, sheet: str | None = None
) -> Workbook | None:
    """The sheets of ``path`` keyed by tube code, or None when it has none."""
    from testrota.roster.reader import read_workbook

    aliases = load_result_columns(config_dir)
    if not all(f in aliases for f in TUBE_REQUIRED):
        return None
    try:
        return read_workbook(
            path, aliases, required=TUBE_REQUIRED, limits=policy.imports, sheet=sheet
        )
    except UserError:
        return None


def tube_import_summary(
    workbook: Workbook,
    rows: list[TubeRow],
    problems: list[RowProblem],
    duplicates: int,
    outcome: TubeOutcome,
    dry_run: bool,
) -> ResultsImport:
    """Every row accounted for: ``rows = recorded + unchanged + unmatched + errors``."""
    from testrota.compliance.alerts import AlertSummary

    return ResultsImport(
        rows=len(rows) + duplicates + len(problems),
        recorded=outcome.recorded,
        added=0,
        updated=outcome.recorded,
        unchanged=outcome.unchanged + duplicates,
        duplicates=duplicates,
        positives=len(outcome.positive_tubes),
        alerts=[AlertSummary.of(a) for a in outcome.raised],
        appointments_done=0,
        file_name=workbook.file_name,
        sha256=workbook.sha256,
        sheets=[sh.name for sh in workbook.sheets],
        skipped_sheets=[SkippedSheet(s.name, s.reason) for s in workbook.skipped],
        unmatched=outcome.unmatched,
        errors=problems,
        matched_by={"tube": len(rows) - len(outcome.unmatched)},
        dry_run=dry_run,
        tubes=outcome.tubes,
        unread_columns=unread_columns(workbook),
    )


def write_tube_errors(
    path: Path, summary: ResultsImport, workbook: Workbook, *, lang: str = "en"
) -> None:
    """The roster's error workbook for a tube sheet, in ``lang``: unknown tubes and
    unreadable cells."""
    from testrota.roster.errors_xlsx import write_error_report
    from testrota.roster.validate import RowError

    sheets = {sh.name: sh for sh in workbook.sheets}
    problems = [
        RowError(
            e.sheet,
            e.row,
            sheets[e.sheet].columns.get(e.column, e.column),
            e.value,
            e.message,
            e.template,
            e.params,
        )
        for e in summary.errors
    ] + [
        RowError(
            u.sheet,
            u.row,
            sheets[u.sheet].columns.get("tube", "tube"),
            u.value,
            u.message,
            parts=u.parts,
        )
        for u in summary.unmatched
    ]
    order = list(sheets)
    problems.sort(key=lambda e: (order.index(e.sheet), e.row))
    write_error_report(path, problems, workbook, lang=lang)

"""Lab results keyed by tube code (样本编码): reading the rows (pure) and what a tube's result
does to each member's sample (in the import's transaction).

A negative tube makes every member's sample negative. A positive pooled tube makes every
member's sample ``pool_positive``: they are re-tested one per tube (the recheck, booked after
the import commits). A positive single tube is that person's positive result: it raises the
alert with its contacts, as a person-keyed positive does. An invalid tube makes its samples
invalid. Importing the same sheet again changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session, col

from testrota.compliance.alerts import RaisedAlert, raise_alerts
from testrota.compliance.records import Sample
from testrota.compliance.result_rows import RowProblem, UnmatchedRow
from testrota.compliance.results_parse import normalize_text, parse_result
from testrota.db.models import TestResult, Tube, TubeMember
from testrota.policy import Policy
from testrota.roster.reader import Workbook
from testrota.statuses import ResultValue, TubeResult

MAX_GENE_TEXT = 400
_SEGMENTS = re.compile(r"[,;，；、/\n]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NO_CT = {"", "-", "/", "—", "无", "none", "n/a", "na", "未检出", "undetermined", "undet"}


@dataclass(frozen=True)
class TubeRow:
    sheet: str
    row: int  # as Excel shows it
    code: str
    result: TubeResult | None  # None: no result yet (pending)
    gene_text: str
    ct: float | None


def result_of_genes(text: str) -> ResultValue | None:
    """A result written gene by gene ("ORF1ab 阴性, N 基因阳性"): positive when any gene is,
    invalid when any is and none is positive, negative when all are; None when no segment
    says a result. A lone word ("阴性") is read as it is."""
    results = [parse_result(s) for s in _SEGMENTS.split(text or "") if s.strip()]
    found = [r for r in results if r is not None and r != ResultValue.PENDING]
    if not found:
        return ResultValue.PENDING if any(r == ResultValue.PENDING for r in results) else None
    for wanted in (ResultValue.POSITIVE, ResultValue.INVALID):
        if wanted in found:
            return wanted
    return ResultValue.NEGATIVE if all(r == ResultValue.NEGATIVE for r in found) else None


def parse_ct(text: str) -> float | None:
    """The lowest Ct in a cell ("32.5", "ORF1ab:31.2 N:33"); None for none written.
    ValueError when the cell says something else."""
    value = normalize_text(text or "")
    if value.lower() in _NO_CT:
        return None
    numbers = [float(n) for n in _NUMBER.findall(re.sub(r"ORF1ab", "", value, flags=re.I))]
    numbers = [n for n in numbers if 0 < n < 100]
    if not numbers:
        raise ValueError(f"{value!r} is not a Ct value")
    return min(numbers)


def parse_tube_rows(workbook: Workbook) -> tuple[list[TubeRow], list[RowProblem], int]:
    """The rows of tube-keyed sheets, the cells that cannot be read, and the count of rows
    repeating an earlier one word for word. A tube given two different results is an error
    on its later row."""
    rows: list[TubeRow] = []
    problems: list[RowProblem] = []
    seen: dict[str, TubeRow] = {}
    duplicates = 0
    for sh in workbook.sheets:
        data = sh.data
        for i, excel_row in enumerate(sh.row_numbers):
            code = normalize_text(data["tube"][i])
            if not code:
                continue  # a footer or a blank line that only had other cells
            result_text = data["result"][i]
            gene_text = normalize_text(data.get("gene_text", [""] * len(sh.row_numbers))[i])
            word = result_of_genes(result_text)
            if word in (None, ResultValue.PENDING) and gene_text:
                word = result_of_genes(gene_text) or word
            if word is None:
                problems.append(
                    RowProblem.of(
                        sh.name,
                        excel_row,
                        "result",
                        result_text,
                        "not a result: use 阴性/阳性/无效 (negative, positive, invalid)",
                    )
                )
                continue
            try:
                ct = parse_ct(data.get("ct", [""] * len(sh.row_numbers))[i])
            except ValueError:
                problems.append(
                    RowProblem.of(
                        sh.name,
                        excel_row,
                        "ct",
                        data["ct"][i],
                        "{value} is not a Ct value",
                        value=repr(normalize_text(data["ct"][i])),
                    )
                )
                continue
            if not gene_text and "," in normalize_text(result_text).replace("，", ","):
                gene_text = normalize_text(result_text)  # the genes were in the result cell
            row = TubeRow(
                sh.name,
                excel_row,
                code,
                None if word == ResultValue.PENDING else TubeResult(word),
                gene_text[:MAX_GENE_TEXT],
                ct,
            )
            earlier = seen.get(code)
            if earlier is not None:
                if (earlier.result, earlier.gene_text, earlier.ct) == (
                    row.result,
                    row.gene_text,
                    row.ct,
                ):
                    duplicates += 1
                else:
                    problems.append(
                        RowProblem.of(
                            sh.name,
                            excel_row,
                            "tube",
                            code,
                            "tube {code} has another result on row {row}",
                            code=code,
                            row=earlier.row,
                        )
                    )
                continue
            seen[code] = row
            rows.append(row)
    return rows, problems, duplicates


@dataclass
class TubeOutcome:
    """What the tube rows did (or would do, on a dry run)."""

    recorded: int = 0  # tube rows that changed a tube
    unchanged: int = 0  # known already with this result, or pending
    by_result: dict[str, int] = field(default_factory=dict)  # negative/positive/invalid rows
    unmatched: list[UnmatchedRow] = field(default_factory=list)
    members_updated: int = 0  # member samples whose result changed
    positive_tubes: list[str] = field(default_factory=list)
    pool_positive: list[tuple[int, str]] = field(default_factory=list)  # (person, tube) to recheck
    raised: list[RaisedAlert] = field(default_factory=list)

    @property
    def tubes(self) -> dict[str, int]:
        """``results import --json``'s ``tubes``."""
        return {
            "negative": self.by_result.get(TubeResult.NEGATIVE, 0),
            "positive": self.by_result.get(TubeResult.POSITIVE, 0),
            "invalid": self.by_result.get(TubeResult.INVALID, 0),
            "unknown": len(self.unmatched),
            "members": self.members_updated,
        }


def member_result(tube_result: TubeResult, ratio: int) -> ResultValue:
    """What a tube's result says of each sample in it."""
    if tube_result == TubeResult.POSITIVE:
        return ResultValue.POSITIVE if ratio == 1 else ResultValue.POOL_POSITIVE
    return ResultValue(tube_result.value)


def apply_tube_rows(
    session: Session,
    rows: list[TubeRow],
    now: datetime,
    policy: Policy,
    actor: str,
    *,
    dry_run: bool,
) -> TubeOutcome:
    """Record each tube's result and its members' in ``session``'s transaction; positives of
    single tubes raise their alerts here (returned for the caller to audit)."""
    out = TubeOutcome()
    codes = sorted({r.code for r in rows})
    tubes = {
        t.code: t
        for part in (codes[i : i + 500] for i in range(0, len(codes), 500))
        for t in session.scalars(select(Tube).where(col(Tube.code).in_(part)))
    }
    positives: list[Sample] = []
    for row in rows:
        tube = tubes.get(row.code)
        if tube is None or tube.id is None:
            out.unmatched.append(
                UnmatchedRow(
                    row.sheet,
                    row.row,
                    row.code,
                    "no tube with this code (tube open … first)",
                )
            )
            continue
        if row.result is None:
            out.unchanged += 1
            continue
        out.by_result[row.result] = out.by_result.get(row.result, 0) + 1
        if row.result == TubeResult.POSITIVE:
            out.positive_tubes.append(tube.code)
        wanted = member_result(row.result, tube.ratio)
        members = list(
            session.execute(
                select(
                    col(TestResult.id),
                    col(TestResult.person_id),
                    col(TestResult.result),
                    col(TestResult.sampled_at),
                    col(TestResult.source),
                    col(TestResult.site_code),
                )
                .join(TubeMember, col(TubeMember.result_id) == col(TestResult.id))
                .where(col(TubeMember.tube_id) == tube.id)
            )
        )
        changed = [m for m in members if m.result != wanted]
        same_tube = (tube.result, tube.gene_text, tube.ct) == (row.result, row.gene_text, row.ct)
        if same_tube and not changed:
            out.unchanged += 1
        else:
            out.recorded += 1
        out.members_updated += len(changed)
        if wanted == ResultValue.POOL_POSITIVE:
            out.pool_positive += [(m.person_id, tube.code) for m in members]
        if dry_run:
            continue
        if not same_tube:
            session.execute(
                update(Tube)
                .where(col(Tube.id) == tube.id)
                .values(result=row.result, gene_text=row.gene_text, ct=row.ct, result_at=now)
            )
        if changed:
            session.execute(
                update(TestResult)
                .where(col(TestResult.id).in_([m.id for m in changed]))
                .values(result=wanted, recorded_at=now, recorded_by=actor)
            )
        if wanted == ResultValue.POSITIVE:
            positives += [
                Sample(m.person_id, m.sampled_at, wanted, m.source, m.site_code, m.id)
                for m in members
            ]
    if positives and not dry_run:
        out.raised = raise_alerts(session, positives, now, policy)
    return out

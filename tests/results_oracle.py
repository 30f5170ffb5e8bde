"""The result sheet's rows read one by one, as the importer read them before it took them
column by column: the oracle :func:`testrota.compliance.result_rows.parse_rows` must agree with
on every sheet (tests/test_results_parse_columns.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from testrota.compliance.result_rows import (
    FUTURE_TOLERANCE,
    ParsedSample,
    PersonIndex,
    PhoneNormalizer,
    RowProblem,
    UnmatchedRow,
    _instant,
    _match,
    _sampled_at,
    _site,
)
from testrota.compliance.results_parse import SampledAtError, day_first_for, parse_result


@dataclass
class OracleRows:
    samples: list[ParsedSample] = field(default_factory=list)
    unmatched: list[UnmatchedRow] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    duplicates: int = 0
    rows: int = 0
    matched_by: dict[str, int] = field(default_factory=dict)
    # a sample's key -> the places in ``errors`` of the rows reported against its recorded row
    conflicts: defaultdict[tuple[int, int, str], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )


def oracle_parse_rows(
    sheet: str,
    data: Mapping[str, Sequence[str]],
    row_numbers: Sequence[int],
    index: PersonIndex,
    *,
    tz: ZoneInfo,
    now: datetime,
    normalize_phone: PhoneNormalizer,
    sites: Mapping[str, str],
    out: OracleRows,
) -> OracleRows:
    n = len(row_numbers)

    def cells(name: str) -> Sequence[str]:
        return data.get(name) or [""] * n

    day_first = day_first_for(cells("sampled_at"), tz, now)
    seen = {(s.person_id, _instant(s.sampled_at), s.source): s for s in out.samples}
    raw_of: dict[tuple[str, int], str] = {}  # this sheet's result cells as written
    out.rows += n
    for i in range(n):
        row = row_numbers[i]
        no, phone, idn = (cells(f)[i].strip() for f in ("employee_no", "phone", "id_number"))
        name = cells("name")[i].strip()
        if not (no or phone or idn):
            why = "no employee number, phone or ID number in this row"
            out.unmatched.append(UnmatchedRow(sheet, row, name, why))
            continue
        person_id, matched_by, problem, parts = _match(index, no, phone, idn, normalize_phone)
        if person_id is None:
            said = " / ".join(v for v in (no, phone, idn, name) if v)
            out.unmatched.append(UnmatchedRow(sheet, row, said, problem, parts))
            continue
        raw_result, raw_time = cells("result")[i], cells("sampled_at")[i]
        raw_of[sheet, row] = raw_result
        result = parse_result(raw_result)
        if result is None:
            out.errors.append(
                RowProblem.of(
                    sheet,
                    row,
                    "result",
                    raw_result,
                    "not a result: write 阴性/阳性/negative/positive/pending/invalid",
                )
            )
            continue
        read = _sampled_at(raw_time, tz, day_first, now + FUTURE_TOLERANCE)
        if isinstance(read, SampledAtError):
            why = str(read)
            out.errors.append(
                RowProblem(sheet, row, "sampled_at", raw_time, why, read.template, read.params)
            )
            continue
        sampled_at, instant, too_late = read
        if too_late:
            out.errors.append(
                RowProblem.of(
                    sheet,
                    row,
                    "sampled_at",
                    raw_time,
                    "the sampling time is in the future; check the date",
                )
            )
            continue
        site_text, site_code, source = _site(cells("site")[i], sites)
        sample = ParsedSample(
            sheet,
            row,
            person_id,
            sampled_at,
            result,
            source,
            site_code,
            site_text if site_code is None else "",
            matched_by,
        )
        earlier = seen.get((person_id, instant, source))
        if earlier is not None:
            if earlier.result == result:
                out.duplicates += 1
                continue
            rank = {"positive": 3, "invalid": 2, "negative": 1, "pending": 0}
            if rank[result] > rank[earlier.result]:  # this row's result is recorded instead
                kept = sample._replace(sampled_at=earlier.sampled_at)
                out.samples[out.samples.index(earlier)] = kept
                seen[person_id, instant, source] = kept
                out.matched_by[earlier.matched_by] -= 1
                if not out.matched_by[earlier.matched_by]:
                    del out.matched_by[earlier.matched_by]
                out.matched_by[matched_by] = out.matched_by.get(matched_by, 0) + 1
                value = raw_of.get((earlier.sheet, earlier.row), str(earlier.result))
                dropped, recorded = earlier, kept
                # every row reported before names the row recorded now
                for at in out.conflicts[person_id, instant, source]:
                    was = out.errors[at]
                    out.errors[at] = _conflict(was.sheet, was.row, was.value, kept)
            else:
                dropped, value, recorded = sample, raw_result, earlier
            out.conflicts[person_id, instant, source].append(len(out.errors))
            out.errors.append(_conflict(dropped.sheet, dropped.row, value, recorded))
            continue
        seen[person_id, instant, source] = sample
        out.samples.append(sample)
        out.matched_by[matched_by] = out.matched_by.get(matched_by, 0) + 1
    return out


def _conflict(sheet: str, row: int, value: str, recorded: ParsedSample) -> RowProblem:
    where = "row {other}" if recorded.sheet == sheet else "row {other} of sheet {other_sheet}"
    extra = {} if recorded.sheet == sheet else {"other_sheet": recorded.sheet}
    return RowProblem.of(
        sheet,
        row,
        "result",
        value,
        f"the same sample has result {{result}} in {where}, which is recorded (a positive "
        "before invalid, negative or pending); check with the lab and keep one of the two rows",
        result=recorded.result,
        other=recorded.row,
        **extra,
    )

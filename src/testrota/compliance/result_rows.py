"""A result sheet's rows to samples: who each row is, when and what. Pure.

Rows are matched by employee number, else phone (E.164), else ID number: the first key a row has
that names exactly one person wins. A row that names nobody, or names two people, is reported
with its Excel row number, never dropped silently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from testrota.compliance.results_parse import (
    SampledAtError,
    day_first_for,
    normalize_id_number,
    normalize_text,
    parse_result,
    parse_sampled_at,
)
from testrota.roster.numbers import loose_key, number_key

LAB = "lab"
OUTSIDE = "outside"
FUTURE_TOLERANCE = timedelta(minutes=10)  # a lab PC's clock a few minutes fast is not an error

PhoneNormalizer = Callable[[str], str | None]


class PersonKeys(NamedTuple):
    id: int
    employee_no: str
    phone: str | None = None
    id_number: str | None = None


KeysRow = tuple[int, str, str | None, str | None]  # PersonKeys' fields, in its order


class _Grouped:
    """key -> the people who share it. Nearly every key names one person: those are kept
    in a plain dict built in one call, and only the shared ones get a list (300,000 lists of
    one cost more than the look-ups of a sheet matched by phone). An empty or missing key
    names nobody."""

    def __init__(self, keys: Sequence[str | None], ids: Sequence[int]) -> None:
        one: dict[str | None, int] = dict(zip(keys, ids, strict=True))
        one.pop(None, None)
        one.pop("", None)
        self._one = one
        self._many: dict[str | None, list[int]] = {}
        if len(one) < len(keys) - keys.count(None) - keys.count(""):
            counts = Counter(keys)
            for key, pid in zip(keys, ids, strict=True):
                if key and counts[key] > 1:
                    self._many.setdefault(key, []).append(pid)

    def get(self, key: str) -> list[int]:
        many = self._many.get(key)
        if many is not None:
            return many
        one = self._one.get(key)
        return [] if one is None else [one]


class PersonIndex:
    """Look-ups from a row's identity cells to a person id.

    Only the exact employee-number map is built up front; the others are built the first time a
    row needs them (most sheets match every row by employee number). Each is built from a whole
    column at once: a group has 300,000 people.
    """

    def __init__(self, people: Iterable[KeysRow]) -> None:
        # Plain tuples in PersonKeys order (a PersonKeys is one), turned into columns.
        columns = list(zip(*people, strict=True)) or [(), (), (), ()]
        self._ids: tuple[int, ...] = columns[0]
        self._nos: tuple[str, ...] = columns[1]
        self._phones: tuple[str | None, ...] = columns[2]
        self._id_numbers: tuple[str | None, ...] = columns[3]
        self.by_no: dict[str, int] = dict(zip(self._nos, self._ids, strict=True))
        self._folded: _Grouped | None = None
        self._loose: _Grouped | None = None
        self._phone: _Grouped | None = None
        self._id_number: _Grouped | None = None

    def by_phone(self, e164: str) -> list[int]:
        if self._phone is None:
            self._phone = _Grouped(self._phones, self._ids)
        return self._phone.get(e164)

    def by_id_number(self, normalized: str) -> list[int]:
        if self._id_number is None:
            keys = [normalize_id_number(v) if v else None for v in self._id_numbers]
            self._id_number = _Grouped(keys, self._ids)
        return self._id_number.get(normalized)

    def by_employee_no(self, raw: str) -> list[int]:
        """The people ``raw`` may name, by the rules of ``roster.numbers.pick_number``: exactly,
        else ignoring case, full-width forms and spaces, else ignoring leading zeros too."""
        hit = self.by_no.get(raw)
        if hit is not None:
            return [hit]
        if self._folded is None or self._loose is None:
            self._folded = _Grouped(list(map(number_key, self._nos)), self._ids)
            self._loose = _Grouped(list(map(loose_key, self._nos)), self._ids)
        return self._folded.get(number_key(raw)) or self._loose.get(loose_key(raw))

    def employee_nos(self, person_ids: Iterable[int]) -> list[str]:
        wanted = set(person_ids)
        return sorted(no for pid, no in zip(self._ids, self._nos, strict=True) if pid in wanted)


class ParsedSample(NamedTuple):
    """One matched row's sample. A tuple, not a frozen dataclass: a group's sheet makes
    300,000 of them, and a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, four times the cost of building the tuple."""

    sheet: str
    row: int
    person_id: int
    sampled_at: datetime
    result: str
    source: str
    site_code: str | None
    site_name: str
    matched_by: str


@dataclass(frozen=True)
class UnmatchedRow:
    """A row that names nobody (or could be several people): ``value`` is what it says."""

    sheet: str
    row: int  # as Excel shows it
    value: str
    message: str  # in English
    # each reason as {"template", "params"}, for a page in the reader's language (the same
    # words as ``message``: not part of what the row is)
    parts: list[dict[str, Any]] = field(default_factory=list, compare=False)
    # the header of the column that says who the row is, as written in the file (filled in
    # once the sheet's headers are known)
    header: str = field(default="", compare=False)


@dataclass(frozen=True)
class RowProblem:
    """A matched row with a cell that cannot be read (``column`` is the field: ``result``,
    ``sampled_at``)."""

    sheet: str
    row: int  # as Excel shows it
    column: str
    value: str
    message: str  # in English
    # the message as a template and its parameters, for a page (the same words as ``message``)
    template: str = field(default="", compare=False)
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    # ``column``'s header as written in the file (filled in once the sheet's headers are known)
    header: str = field(default="", compare=False)

    @classmethod
    def of(
        cls, sheet: str, row: int, column: str, value: str, template: str, /, **params: Any
    ) -> RowProblem:
        return cls(sheet, row, column, value, template.format(**params), template, params)


@dataclass
class ParsedRows:
    samples: list[ParsedSample] = field(default_factory=list)
    unmatched: list[UnmatchedRow] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    duplicates: int = 0
    rows: int = 0
    matched_by: dict[str, int] = field(default_factory=dict)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def site_key(text: str) -> str:
    return re.sub(r"\s+", "", normalize_text(text)).casefold()


def _cells(data: Mapping[str, Sequence[str]], name: str, n: int) -> Sequence[str]:
    column = data.get(name)
    return column if column is not None else [""] * n


def parse_rows(
    sheet: str,
    data: Mapping[str, Sequence[str]],
    row_numbers: Sequence[int],
    index: PersonIndex,
    *,
    tz: ZoneInfo,
    now: datetime,
    normalize_phone: PhoneNormalizer,
    sites: Mapping[str, str],
    out: ParsedRows | None = None,
) -> ParsedRows:
    """Turn one sheet's rows into samples, unmatched rows and cell errors.

    Args:
        sheet: the sheet's name, for messages.
        data: ``field -> column of cell texts`` (the reader's column-oriented data).
        row_numbers: the Excel row number of each data row.
        index: the people to match against.
        tz: the zone of sampling times written without an offset.
        now: samples later than this (plus a small tolerance) are refused.
        normalize_phone: raw phone text to E.164, or None when it is not a phone number.
        sites: ``site_key(code or name) -> site code`` of the known sites; a sample from any
            other site is an outside result (a community booth), kept with the site's name.
        out: results of earlier sheets to add to (duplicates are found across sheets).
    """
    out = out if out is not None else ParsedRows()
    n = len(row_numbers)
    nos, phones, ids = (_cells(data, f, n) for f in ("employee_no", "phone", "id_number"))
    names, times, results, site_cells = (
        _cells(data, f, n) for f in ("name", "sampled_at", "result", "site")
    )
    day_first = day_first_for(times, tz, now)
    latest = now + FUTURE_TOLERANCE
    seen: dict[tuple[int, int, str], ParsedSample] = {s_key(s): s for s in out.samples}
    # A lab sheet repeats its results, sampling minutes and sites: each distinct cell is read
    # once, over the whole column, and most rows are matched by employee number in one pass.
    # The loop below only decides, row by row.
    result_of = {v: parse_result(v) for v in set(results)}
    time_of = {v: _sampled_at(v, tz, day_first, latest) for v in set(times)}
    site_of = {v: _site(v, sites) for v in set(site_cells)}
    by_no = index.by_no
    nos = [v.strip() for v in nos]
    hits = [by_no.get(v) if v else None for v in nos]
    matched: dict[str, int] = {}
    out.rows += n
    for i in range(n):
        row = row_numbers[i]
        person_id: int | None = hits[i]
        if person_id is not None:
            matched_by = "employee_no"
        else:
            no, phone, idn = nos[i], phones[i].strip(), ids[i].strip()
            if not (no or phone or idn):
                out.unmatched.append(
                    UnmatchedRow(
                        sheet,
                        row,
                        names[i].strip(),
                        "no employee number, phone or ID number in this row",
                    )
                )
                continue
            person_id, matched_by, problem, parts = _match(index, no, phone, idn, normalize_phone)
            if person_id is None:
                out.unmatched.append(
                    UnmatchedRow(
                        sheet,
                        row,
                        " / ".join(v for v in (no, phone, idn, names[i].strip()) if v),
                        problem,
                        parts,
                    )
                )
                continue
        raw_result = results[i]
        result = result_of[raw_result]
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
        raw_time = times[i]
        parsed_time = time_of[raw_time]
        if isinstance(parsed_time, SampledAtError):
            bad = parsed_time
            out.errors.append(
                RowProblem(sheet, row, "sampled_at", raw_time, str(bad), bad.template, bad.params)
            )
            continue
        sampled_at, instant, too_late = parsed_time
        if too_late:
            out.errors.append(
                RowProblem.of(
                    sheet,
                    row,
                    "sampled_at",
                    times[i],
                    "the sampling time is in the future; check the date",
                )
            )
            continue
        site_text, site_code, source = site_of[site_cells[i]]
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
        key = (person_id, instant, source)
        earlier = seen.get(key)
        if earlier is not None:
            if earlier.result == result:
                out.duplicates += 1
            else:
                out.errors.append(
                    RowProblem.of(
                        sheet,
                        row,
                        "result",
                        raw_result,
                        "the same sample has result {result} in row {other}; keep "
                        "one of the two rows",
                        result=earlier.result,
                        other=earlier.row,
                    )
                )
            continue
        seen[key] = sample
        out.samples.append(sample)
        matched[matched_by] = matched.get(matched_by, 0) + 1
    for how, count in matched.items():
        out.matched_by[how] = out.matched_by.get(how, 0) + count
    return out


def _sampled_at(
    raw: str, tz: ZoneInfo, day_first: bool, latest: datetime
) -> tuple[datetime, int, bool] | SampledAtError:
    """(the time, its instant as a number, whether it is later than ``latest``), or why the
    cell is not a time: each worked out once per distinct cell, not per row."""
    try:
        at = parse_sampled_at(raw, tz, day_first)
    except SampledAtError as refused:
        return refused
    return at, _instant(at), at > latest


def _instant(at: datetime) -> int:
    # Microseconds since the epoch: a sample's key hashes an int, not an aware datetime
    # (whose hash asks its zone for the offset every time).
    return (at - _EPOCH) // _MICROSECOND


def _site(raw: str, sites: Mapping[str, str]) -> tuple[str, str | None, str]:
    """(the site as written, the known site's code or None, the sample's source)."""
    text = normalize_text(raw)
    code = sites.get(site_key(text)) if text else None
    return text, code, OUTSIDE if text and code is None else LAB


def s_key(s: ParsedSample) -> tuple[int, int, str]:
    return (s.person_id, _instant(s.sampled_at), s.source)


UNMATCHED_HINT = " (add the person to the roster, or fix the row)"


def _match(
    index: PersonIndex, no: str, phone: str, idn: str, normalize_phone: PhoneNormalizer
) -> tuple[int | None, str, str, list[dict[str, Any]]]:
    """(person id, matched by) of the one person a row names, else (None, "", why in English,
    each reason as a template and parameters)."""
    parts: list[dict[str, Any]] = []

    def why(template: str, **params: Any) -> None:
        parts.append({"template": template, "params": params})

    if no:
        hits = index.by_employee_no(no)
        if len(hits) == 1:
            return hits[0], "employee_no", "", []
        if hits:
            why(
                "employee number {no} could be {n} people ({candidates}); write the whole number",
                no=no,
                n=len(hits),
                candidates=", ".join(index.employee_nos(hits[:10])),
            )
        else:
            why("no person has employee number {no}", no=no)
    if phone:
        e164 = normalize_phone(phone)
        if e164 is None:
            why("{phone} is not a valid phone number", phone=phone)
        else:
            hits = index.by_phone(e164)
            if len(hits) == 1:
                return hits[0], "phone", "", []
            if hits:
                why(
                    "phone {phone} is shared by {n} people; add the employee number",
                    phone=e164,
                    n=len(hits),
                )
            else:
                why("no person has phone {phone}", phone=e164)
    if idn:
        hits = index.by_id_number(normalize_id_number(idn))
        if len(hits) == 1:
            return hits[0], "id_number", "", []
        if hits:
            why("ID number matches {n} people", n=len(hits))
        else:
            why("no person has this ID number")
    english = "; ".join(p["template"].format(**p["params"]) for p in parts)
    return None, "", english + UNMATCHED_HINT, parts

"""A result sheet's rows to samples: who each row is, when and what. Pure.

Rows are matched by employee number, else phone (E.164), else ID number: the first key a row has
that names exactly one person wins. A row that names nobody, or names two people, is reported
with its Excel row number, never dropped silently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar, cast
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


def _in_memory(phones: Sequence[str | None], ids: Sequence[int]) -> PhoneLookup:
    """A :data:`PhoneLookup` over the phones given, indexed when first asked."""
    grouped: list[_Grouped] = []

    def find(wanted: Collection[str]) -> Iterator[tuple[str, int]]:
        if not grouped:
            grouped.append(_Grouped(phones, ids))
        for number in wanted:
            for pid in grouped[0].get(number):
                yield number, pid

    return find


def _columns(rows: Iterable[tuple[int, str | None]]) -> tuple[Sequence[int], Sequence[str | None]]:
    columns = list(zip(*rows, strict=True))
    return (columns[0], columns[1]) if columns else ((), ())


PhoneLookup = Callable[[Collection[str]], Iterable[tuple[str, int]]]
"""E.164 numbers -> ``(number, person id)`` of each person who has one of them."""
IdNumberLookup = Callable[[], Iterable[tuple[int, str | None]]]
"""Every person's ``(id, ID number as stored)``."""


class PersonIndex:
    """Look-ups from a row's identity cells to a person id.

    Only the exact employee-number map is built up front; the others are built the first time a
    row needs them (most sheets match every row by employee number). Each is built from a whole
    column at once: a group has 300,000 people.

    ``people`` are ``(id, employee number, phone, ID number)`` each; or ``(id, employee
    number)`` with ``phones`` and ``id_numbers`` to ask for the others: then only the phones of
    the rows that need one are looked up (:meth:`want_phones`), not 300,000 people's read and
    indexed for a tenth of a sheet's rows.
    """

    def __init__(
        self,
        people: Iterable[KeysRow | tuple[int, str]],
        *,
        phones: PhoneLookup | None = None,
        id_numbers: IdNumberLookup | None = None,
    ) -> None:
        columns: list[tuple[Any, ...]] = list(zip(*people, strict=True))
        self._ids: tuple[int, ...] = columns[0] if columns else ()
        self._nos: tuple[str, ...] = columns[1] if columns else ()
        if phones is None or id_numbers is None:
            if columns and len(columns) < 4:
                raise ValueError("give each person's phone and ID number, or the look-ups")
            stored_phones = columns[2] if columns else ()
            stored_ids = columns[3] if columns else ()
            phones = _in_memory(stored_phones, self._ids)
            id_numbers = lambda: zip(self._ids, stored_ids, strict=True)  # noqa: E731
        self._find_phones = phones
        self._find_id_numbers = id_numbers
        self.by_no: dict[str, int] = dict(zip(self._nos, self._ids, strict=True))
        self._folded: _Grouped | None = None
        self._loose: _Grouped | None = None
        self._phone: dict[str, list[int]] = {}  # every number asked for, found or not
        self._id_number: _Grouped | None = None

    def want_phones(self, e164s: Iterable[str]) -> None:
        """Look these numbers up together, before the rows that need them ask one by one."""
        wanted = {v for v in e164s if v and v not in self._phone}
        if not wanted:
            return
        for number in wanted:
            self._phone[number] = []
        for number, pid in self._find_phones(wanted):
            self._phone[number].append(pid)

    def by_phone(self, e164: str) -> list[int]:
        if e164 not in self._phone:
            self.want_phones([e164])
        return self._phone.get(e164, [])

    def by_id_number(self, normalized: str) -> list[int]:
        if self._id_number is None:
            ids, stored = _columns(self._find_id_numbers())
            keys = [normalize_id_number(v) if v else None for v in stored]
            self._id_number = _Grouped(keys, ids)
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
class SampleColumns:
    """The matched rows' samples, field by field: a group's sheet has 300,000, and a column
    is filled in one call where a tuple per row costs a call each. ``sample(i)`` is the i-th
    as a :class:`ParsedSample`."""

    sheet: list[str] = field(default_factory=list)
    row: list[int] = field(default_factory=list)
    person_id: list[int] = field(default_factory=list)
    sampled_at: list[datetime] = field(default_factory=list)
    result: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    site_code: list[str | None] = field(default_factory=list)
    site_name: list[str] = field(default_factory=list)
    matched_by: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.person_id)

    def sample(self, i: int) -> ParsedSample:
        return ParsedSample(
            self.sheet[i],
            self.row[i],
            self.person_id[i],
            self.sampled_at[i],
            self.result[i],
            self.source[i],
            self.site_code[i],
            self.site_name[i],
            self.matched_by[i],
        )


SampleKey = tuple[int, int, str]  # (person, the sampling instant in µs, source)


@dataclass
class ParsedRows:
    columns: SampleColumns = field(default_factory=SampleColumns)
    unmatched: list[UnmatchedRow] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    duplicates: int = 0
    rows: int = 0
    matched_by: dict[str, int] = field(default_factory=dict)
    # each sample's key -> its place in ``columns``: a repeated sample is found across sheets
    keys: dict[SampleKey, int] = field(default_factory=dict, repr=False)
    # each sample's key -> the places in ``errors`` of the rows reported as conflicting with
    # the row recorded for it, renamed when a later row's result is recorded instead
    conflicts: dict[SampleKey, list[int]] = field(default_factory=dict, repr=False)

    @property
    def samples(self) -> list[ParsedSample]:
        return [self.columns.sample(i) for i in range(len(self.columns))]


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
    out.rows += n
    day_first = day_first_for(times, tz, now)
    latest = now + FUTURE_TOLERANCE
    # A lab sheet repeats its results, sampling minutes and sites: each distinct cell is read
    # once, and the rows are taken column by column. Only the rows with something to say
    # (matched otherwise than by employee number exactly, a cell that cannot be read, a
    # sample repeated) are looked at one by one.
    result_of = {v: parse_result(v) for v in set(results)}
    time_of = {v: _sampled_at(v, tz, day_first, latest) for v in set(times)}
    site_of = {v: _site(v, sites) for v in set(site_cells)}
    nos = [v.strip() for v in nos]
    by_no = index.by_no
    person: list[int | None] = [by_no.get(v) if v else None for v in nos]
    how = ["employee_no"] * n
    others = [i for i, p in enumerate(person) if p is None]
    index.want_phones(
        e164 for i in others if (typed := phones[i].strip()) and (e164 := normalize_phone(typed))
    )
    for i in others:
        no, phone, idn = nos[i], phones[i].strip(), ids[i].strip()
        if not (no or phone or idn):
            why = "no employee number, phone or ID number in this row"
            out.unmatched.append(UnmatchedRow(sheet, row_numbers[i], names[i].strip(), why))
            continue
        person[i], how[i], problem, parts = _match(index, no, phone, idn, normalize_phone)
        if person[i] is None:
            said = " / ".join(v for v in (no, phone, idn, names[i].strip()) if v)
            out.unmatched.append(UnmatchedRow(sheet, row_numbers[i], said, problem, parts))
    # a row's index -> what keeps it from being a sample, reported in row order
    problems: dict[int, RowProblem] = {}
    if None in result_of.values() or any(map(_late_or_unread, time_of.values())):
        for i in range(n):
            if person[i] is not None:
                cell = _cell_problem(
                    sheet, row_numbers[i], results[i], times[i], result_of, time_of
                )
                if cell is not None:
                    problems[i] = cell
    rows: Sequence[int] = range(n)
    if problems or None in person:
        rows = [i for i in range(n) if person[i] is not None and i not in problems]
    people = cast(Sequence[int], _pick(person, rows))
    read_times = cast(list[_Time], [time_of[v] for v in _pick(times, rows)])
    read_sites = [site_of[v] for v in _pick(site_cells, rows)]
    read_results = cast(list[str], [result_of[v] for v in _pick(results, rows)])
    numbers = _pick(row_numbers, rows)
    sources = [site[2] for site in read_sites]
    keys = list(zip(people, [t[1] for t in read_times], sources, strict=True))
    keep: Sequence[int] = range(len(keys))
    key_of: dict[int, SampleKey] = {}  # a conflict reported (by its place in ``problems``)
    base = len(out.columns)
    first = dict(zip(keys, range(base, base + len(keys)), strict=True))
    if len(first) == len(keys) and not out.keys:
        out.keys = first  # the usual sheet: no sample twice, and no sheet before it
    elif len(first) == len(keys) and out.keys.keys().isdisjoint(first):
        out.keys.update(first)
    else:
        keep = []
        here: dict[SampleKey, int] = {}
        at_in_keep: dict[SampleKey, int] = {}  # where a sample of this sheet sits in ``keep``
        named: dict[SampleKey, list[int]] = {}  # this sheet's conflicts, by the row reported
        for k, key in enumerate(keys):
            prior, j = out.keys.get(key), here.get(key)
            if prior is not None:
                earlier, other = out.columns.result[prior], out.columns.row[prior]
                earlier_sheet = out.columns.sheet[prior]
            elif j is not None:
                earlier, other, earlier_sheet = read_results[j], numbers[j], sheet
            else:
                here[key] = k
                at_in_keep[key] = len(keep)
                keep.append(k)
                continue
            result = read_results[k]
            if earlier == result:
                out.duplicates += 1
                continue
            if _RANK[result] > _RANK[earlier]:
                # The more telling result is recorded: a positive written beside a negative for
                # one sample is never lost to it. The earlier row is the one reported (keyed by
                # this kept row, so errors come in the order the rows were read).
                if prior is not None:  # an earlier sheet's: its cell's words are not at hand
                    _replace(out, prior, k, sheet, numbers, read_results, read_sites, how, rows)
                    value = str(earlier)
                else:
                    assert j is not None
                    keep[at_in_keep[key]] = k
                    here[key] = k
                    value = results[rows[j]]
                # The rows reported before name the row recorded then: they name this one now
                # (a pending, then a negative, then a positive row of one sample).
                recorded = (result, sheet, numbers[k])
                for at in named.get(key, ()):
                    problems[at] = _renamed(problems[at], *recorded)
                for at in out.conflicts.get(key, ()):
                    out.errors[at] = _renamed(out.errors[at], *recorded)
                problems[rows[k]] = _conflict(earlier_sheet, other, value, *recorded)
            else:
                problems[rows[k]] = _conflict(
                    sheet, numbers[k], results[rows[k]], earlier, earlier_sheet, other
                )
            named.setdefault(key, []).append(rows[k])
            key_of[rows[k]] = key
    _add(
        out,
        sheet,
        keep,
        keys,
        numbers,
        people,
        read_times,
        read_results,
        read_sites,
        _pick(how, rows),
    )
    start, ordered = len(out.errors), sorted(problems)
    out.errors.extend(problems[i] for i in ordered)
    for place, i in enumerate(ordered, start):
        if i in key_of:
            out.conflicts.setdefault(key_of[i], []).append(place)
    return out


_Time = tuple[datetime, int, bool]  # a readable sampling time: see _sampled_at
_T = TypeVar("_T")


def _pick(column: Sequence[_T], rows: Sequence[int]) -> Sequence[_T]:
    """The cells of ``column`` at ``rows``; the column itself when ``rows`` is all of it."""
    if isinstance(rows, range) and rows == range(len(column)):
        return column
    return [column[i] for i in rows]


# Which of two results for one sample is recorded: a positive before anything, then a sample
# to take again, then a negative before one still waiting for its result.
_RANK = {"positive": 3, "invalid": 2, "negative": 1, "pending": 0}


def _conflict(
    sheet: str, row: int, value: str, kept: str, kept_sheet: str, other: int
) -> RowProblem:
    """Row ``row`` of ``sheet`` is the same sample as row ``other`` of ``kept_sheet``, whose
    result ``kept`` is recorded."""
    if kept_sheet != sheet:
        return RowProblem.of(
            sheet,
            row,
            "result",
            value,
            "the same sample has result {result} in row {other} of sheet {other_sheet}, which "
            "is recorded (a positive before invalid, negative or pending); check with the lab "
            "and keep one of the two rows",
            result=kept,
            other=other,
            other_sheet=kept_sheet,
        )
    return RowProblem.of(
        sheet,
        row,
        "result",
        value,
        "the same sample has result {result} in row {other}, which is recorded (a positive "
        "before invalid, negative or pending); check with the lab and keep one of the two rows",
        result=kept,
        other=other,
    )


def _renamed(problem: RowProblem, kept: str, kept_sheet: str, other: int) -> RowProblem:
    return _conflict(problem.sheet, problem.row, problem.value, kept, kept_sheet, other)


def _replace(
    out: ParsedRows,
    at: int,
    k: int,
    sheet: str,
    numbers: Sequence[int],
    results: Sequence[str],
    sites: Sequence[tuple[str, str | None, str]],
    how: Sequence[str],
    rows: Sequence[int],
) -> None:
    """The sample at ``at`` (of an earlier sheet) is row ``k`` of this one's."""
    c = out.columns
    c.sheet[at], c.row[at], c.result[at] = sheet, numbers[k], results[k]
    site = sites[k]
    c.site_code[at], c.site_name[at] = site[1], "" if site[1] is not None else site[0]
    way, was = how[rows[k]], c.matched_by[at]
    out.matched_by[was] -= 1
    if not out.matched_by[was]:
        del out.matched_by[was]
    out.matched_by[way] = out.matched_by.get(way, 0) + 1
    c.matched_by[at] = way


def _add(
    out: ParsedRows,
    sheet: str,
    keep: Sequence[int],
    keys: Sequence[SampleKey],
    numbers: Sequence[int],
    people: Sequence[int],
    times: Sequence[_Time],
    results: Sequence[str],
    sites: Sequence[tuple[str, str | None, str]],
    how: Sequence[str],
) -> None:
    """The samples at ``keep`` of one sheet's columns, added to ``out``."""
    c = out.columns
    if not isinstance(keep, range):
        out.keys.update(zip(_pick(keys, keep), range(len(c), len(c) + len(keep)), strict=True))
    c.sheet.extend([sheet] * len(keep))
    c.row.extend(_pick(numbers, keep))
    c.person_id.extend(_pick(people, keep))
    c.sampled_at.extend([t[0] for t in _pick(times, keep)])
    c.result.extend(_pick(results, keep))
    kept_sites = _pick(sites, keep)
    c.source.extend([site[2] for site in kept_sites])
    c.site_code.extend([site[1] for site in kept_sites])
    c.site_name.extend(["" if site[1] is not None else site[0] for site in kept_sites])
    kept_how = _pick(how, keep)
    c.matched_by.extend(kept_how)
    for way, count in Counter(kept_how).items():
        out.matched_by[way] = out.matched_by.get(way, 0) + count


def _late_or_unread(read: _Time | SampledAtError) -> bool:
    return isinstance(read, SampledAtError) or read[2]


def _cell_problem(
    sheet: str,
    row: int,
    raw_result: str,
    raw_time: str,
    result_of: Mapping[str, str | None],
    time_of: Mapping[str, _Time | SampledAtError],
) -> RowProblem | None:
    """What keeps a matched row from being a sample: its result or its sampling time."""
    if result_of[raw_result] is None:
        return RowProblem.of(
            sheet,
            row,
            "result",
            raw_result,
            "not a result: write 阴性/阳性/negative/positive/pending/invalid",
        )
    read = time_of[raw_time]
    if isinstance(read, SampledAtError):
        return RowProblem(sheet, row, "sampled_at", raw_time, str(read), read.template, read.params)
    if read[2]:
        return RowProblem.of(
            sheet, row, "sampled_at", raw_time, "the sampling time is in the future; check the date"
        )
    return None


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

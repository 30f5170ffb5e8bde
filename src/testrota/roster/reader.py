"""Messy HR files in, clean columns of cell texts out.

:func:`read_workbook` opens .xlsx/.xlsb/.xls/.ods (through python-calamine, which is several
times faster than openpyxl) and .csv in any common encoding, finds the header row on every
sheet below whatever title rows HR put above it, and returns each recognised column as a list of
the texts a person sees in Excel: ``10023`` not ``10023.0``, ``00123`` kept, a number
formatted ``000000`` as ``003002``, dates as ISO text.
Blank rows, 序号 numbers, repeated header rows and footers (合计, 制表人, Total ...) are dropped;
every kept row remembers the row number Excel shows, so errors point at the right line.

It knows nothing about people: the caller passes ``field -> aliases`` and the required fields, so
the test-results import reads its files with the same code.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any, cast, overload

from testrota.errors import Phrase, UserError, Words
from testrota.policy import ImportPolicy
from testrota.roster import isolation
from testrota.roster.columns import HeaderMatcher, header_words, normalize_header
from testrota.roster.spreadsheet import (
    OpenedFile,
    RawSheet,
    load_file,
    read_calamine_sheet,
    read_csv_sheet,
    survey_failed_read,
    workbook_sheet_names,
)

HEADER_SCAN_ROWS = 50  # title rows above the header; real files have a handful at most
UNMATCHED_SAMPLE = 1000  # cells kept of a column no alias names: enough to tell what it holds
_STRIP = " \t\r\n\x0b\x0c\xa0\u3000\u2002\u2003\u2009\u200b\ufeff"

# A footer's first cell: totals, signatures and notes under the table.
_NOTE_ONLY_RE = re.compile(
    r"[\(（\[【〔<《][^\)）\]】〕>》]*[\)）\]】〕>》]|必填|选填|必填项|選填|非必填"
)
_FOOTER_RE = re.compile(
    r"\s*(?:"
    r"[合总總小共]\s*[计計]|[制製]\s*表|[审審]\s*[核批]|填\s*[表报報]|[备備]\s*注|注\s*[:：]"
    r"|[说說]\s*明|以\s*下\s*空\s*白|日\s*期\s*[:：]|(?:单位|單位|部门|部門)?\s*[负負]\s*[责責]\s*人"
    r"|(?:grand\s*)?(?:sub\s*)?total\b|sum\b|prepared\s+by|approved\s+by|checked\s+by"
    r"|reviewed\s+by|notes?\s*[:：]|remarks?\b|signature\b|signed\b|date\s*[:：]"
    r")",
    re.IGNORECASE,
)


@dataclass
class Sheet:
    """One sheet's people (or results), column by column."""

    name: str
    header_row: int  # 1-based, as Excel shows it
    columns: dict[str, str]  # field -> header text as written in the file
    data: dict[str, list[str]]  # field -> cell texts ("" when empty)
    row_numbers: list[int]  # Excel row number of each data row
    unmatched_headers: list[str] = field(default_factory=list)  # columns no alias names
    dropped_rows: int = 0  # blank, 序号-only, footer and repeated header rows
    # (column letter, header text or "", the first UNMATCHED_SAMPLE cells of the data rows) of
    # every column no alias names that has a header or a value: what ``roster.sniff`` reads
    unmatched_columns: list[tuple[str, str, list[str]]] = field(default_factory=list)
    # fields whose merged cells were filled down: one text shared by a range's cells
    merged_fields: frozenset[str] = frozenset()


@dataclass
class SkippedSheet:
    name: str
    reason: str  # in English
    headers_seen: list[str]
    # the reason as a template and its parameters, for a page in the reader's language
    template: str = ""
    params: dict[str, str | int | Words] = field(default_factory=dict)

    @classmethod
    def why(
        cls, name: str, headers_seen: list[str], template: str, /, **params: str | int | Words
    ) -> SkippedSheet:
        reason = template.format(**params) if params else template
        return cls(name, reason, headers_seen, template, params)


@dataclass
class Workbook:
    file_name: str
    sha256: str
    sheets: list[Sheet]
    skipped: list[SkippedSheet]
    format: str = ""  # xlsx | xlsb | xls | ods | csv
    encoding: str | None = None  # the text encoding a CSV was read with


def read_workbook(
    path: Path,
    aliases: Mapping[str, Sequence[str]],
    required: Sequence[str],
    limits: ImportPolicy,
    sheet: str | None = None,
    ignore: Collection[str] = ("seq",),
) -> Workbook:
    """Read every sheet of ``path`` whose header names all ``required`` fields.

    ``aliases`` maps each field to the header texts that name it; fields in ``ignore`` (序号)
    help find the header and footers but are not returned. ``sheet`` reads that sheet only
    (even a hidden one). Raises UserError, with one line saying what to fix, for a file that is
    not a spreadsheet, damaged, password-protected, too big, a zip bomb, empty, without a
    recognisable header, or without the named sheet.
    """
    absent = [f for f in required if f not in aliases]
    if absent:
        raise ValueError(f"required fields without aliases: {absent}")
    opened = load_file(path, limits)
    sha256 = hashlib.sha256(opened.data).hexdigest()
    matcher = HeaderMatcher(aliases)

    def parse(raw: RawSheet) -> Sheet | SkippedSheet:
        return parse_sheet(raw, matcher, required, ignore)

    if opened.format == "csv":
        raw = read_csv_sheet(opened, limits)
        if sheet is not None and sheet != raw.name:
            raise UserError(
                "{file}: a CSV file has no sheets; leave out --sheet", file=opened.file_name
            )
        met = [parse(raw)]
    else:
        met = _read_book(opened, sheet, parse, limits)
    sheets = [m for m in met if isinstance(m, Sheet)]
    skipped = [m for m in met if isinstance(m, SkippedSheet)]
    if not sheets:
        if sheet is not None and skipped and skipped[0].reason == "empty sheet":
            raise UserError(
                "{file}: sheet {sheet!r} is empty", file=opened.file_name, sheet=skipped[0].name
            )
        raise _nothing_found(opened.file_name, skipped, aliases, required)
    return Workbook(
        file_name=opened.file_name,
        sha256=sha256,
        sheets=sheets,
        skipped=skipped,
        format=opened.format,
        encoding=opened.encoding,
    )


def _read_book(
    opened: OpenedFile,
    wanted: str | None,
    parse: Callable[[RawSheet], Sheet | SkippedSheet],
    limits: ImportPolicy,
) -> list[Sheet | SkippedSheet]:
    """Each sheet parsed or passed over, in the workbook's order. Bounded, the child reads and
    parses: the columns of texts it hands back cost far less across the pipe than the raw
    cells (a lab sheet's sampling times are datetimes) and the raw rows never reach the
    importing process's memory."""

    def work() -> list[Sheet | SkippedSheet]:
        met: list[Sheet | SkippedSheet] = []
        _read_calamine(
            opened,
            wanted,
            lambda raw: met.append(parse(raw)),
            cast("list[SkippedSheet]", met),
            limits,
            bounded=bounded,
        )
        return met

    bounded = limits.isolate_reader and isolation.can_isolate()
    if not bounded:
        return work()
    try:
        return isolation.run_isolated(
            work,
            _encode_met,
            _decode_met,
            memory_mb=limits.reader_memory_mb,
            seconds=limits.reader_seconds,
        )
    except isolation.ReaderFailed as exc:
        # which sheet is over which limit, when the survey can tell: in a child of its own,
        # bounded as the read was (review: a padded-format file's survey had cost the web
        # process 1.5 GB and 16 s once the read was stopped)
        with contextlib.suppress(isolation.ReaderFailed):
            isolation.run_isolated(
                lambda: survey_failed_read(opened, wanted, limits),
                lambda _: b"",
                lambda _: None,
                memory_mb=limits.reader_memory_mb,
                seconds=limits.reader_seconds,
            )
        raise UserError(
            "{file}: reading it took more than an import may use ({memory} MB of memory, "
            "{seconds} s: import.reader_memory_mb and import.reader_seconds in policy.yaml) and "
            "it was stopped ({reason}); it may be damaged or built to exhaust the server: open "
            "it in Excel or WPS and save it again",
            file=opened.file_name,
            memory=limits.reader_memory_mb,
            seconds=limits.reader_seconds,
            reason=exc.reason,
        ) from exc


def _encode_met(met: list[Sheet | SkippedSheet]) -> bytes:
    packed: list[tuple[int, dict[str, Any]]] = []
    for m in met:
        values = {f.name: getattr(m, f.name) for f in fields(m)}
        if isinstance(m, Sheet):
            # A merged range's text is one object in every cell it covers: sent cell by cell,
            # 2,000 distinct rows then one 1,000-character department merged down 300,000
            # rows made a 290 MB answer of a 35 KB file. By value, it is sent once.
            values["data"] = {
                k: isolation.pack_texts(v, by_value=k in m.merged_fields) for k, v in m.data.items()
            }
            values["row_numbers"] = isolation.pack_ints(m.row_numbers)
        packed.append((isinstance(m, Sheet), values))
    return isolation.dumps(packed)


def _decode_met(data: bytes) -> list[Sheet | SkippedSheet]:
    met: list[Sheet | SkippedSheet] = []
    for is_sheet, values in isolation.loads(data):
        if is_sheet:
            values["data"] = {k: isolation.unpack_texts(v) for k, v in values["data"].items()}
            values["row_numbers"] = isolation.unpack_ints(values["row_numbers"])
            met.append(Sheet(**values))
        else:
            met.append(SkippedSheet(**values))
    return met


def _read_calamine(
    opened: OpenedFile,
    wanted: str | None,
    take: Callable[[RawSheet], None],
    skipped: list[SkippedSheet],
    limits: ImportPolicy,
    *,
    bounded: bool = False,
) -> None:
    book, metas = workbook_sheet_names(opened)
    try:
        if wanted is not None:
            names = [m[0] for m in metas]
            chosen = _find_sheet(wanted, names)
            if chosen is None:
                listed = ", ".join(repr(n) for n in names)
                raise UserError(
                    "{file}: no sheet named {wanted!r}; its sheets are {listed}",
                    file=opened.file_name,
                    wanted=wanted,
                    listed=listed,
                )
            metas = [m for m in metas if m[0] == chosen]
        for name, hidden, kind in metas:
            if kind != "worksheet":
                skipped.append(
                    SkippedSheet.why(name, [], "a {kind}, not a table of cells", kind=kind)
                )
            elif hidden and wanted is None:
                skipped.append(
                    SkippedSheet.why(name, [], "hidden sheet (name it with --sheet to import it)")
                )
            else:
                take(read_calamine_sheet(opened, book, name, limits, bounded=bounded))
    finally:
        book.close()


def _find_sheet(wanted: str, names: list[str]) -> str | None:
    if wanted in names:
        return wanted
    # People type sheet names by hand: forgive case, spaces and Traditional/Simplified.
    key = normalize_header(wanted)
    close = [n for n in names if normalize_header(n) == key]
    return close[0] if len(close) == 1 else None


def parse_sheet(
    raw: RawSheet,
    matcher: HeaderMatcher,
    required: Sequence[str],
    ignore: Collection[str] = ("seq",),
) -> Sheet | SkippedSheet:
    """Find the header row of one raw sheet and pull out its data rows as text columns."""
    rows = raw.rows
    if not any(_row_has_content(r) for r in rows):
        return SkippedSheet.why(raw.name, [], "empty sheet")
    width = max(len(r) for r in rows)
    for r in rows:
        if len(r) < width:
            r.extend([""] * (width - len(r)))

    header_idx, found = _find_header(rows, matcher, required)
    if header_idx is None:
        return _no_header(raw.name, rows, matcher, required)
    data_start = header_idx + 1
    if data_start < len(rows):
        merged = _sub_header(rows[data_start], found, matcher, required)
        if merged is not None:
            found = merged
            data_start += 1
    if data_start < len(rows) and _is_note_row(rows[data_start]):
        data_start += 1

    body = rows[data_start:]
    by_col = sorted(found.items(), key=lambda item: item[1][0])
    # An ignored column (序号) only helps tell data rows from the rest: its cells are spelled
    # when a row is looked at, not all 300,000 of a group's sheet.
    texts = {name: _column_text(body, col) for name, (col, _, _) in by_col if name not in ignore}
    cols: dict[str, Sequence[str]] = {
        name: texts[name] if name in texts else _CellTexts(body, col)
        for name, (col, _, _) in by_col
    }
    filled = _fill_merged(
        raw.name,
        raw.merged,
        data_start,
        len(body),
        {col: name for name, (col, _, _) in by_col},
        cols,
    )
    keep = _rows_to_keep(cols, [name for name, _ in by_col], found, required, ignore)

    columns = {name: text for name, (_, _, text) in by_col if name not in ignore}
    if keep is None:
        kept_rows = list(range(len(body)))
        data = {name: texts[name] for name in columns}
    else:
        kept_rows = keep
        data = {name: [texts[name][i] for i in keep] for name in columns}
    row_numbers = [data_start + i + 1 for i in kept_rows]
    used_cols = {col for col, _, _ in found.values()}
    unmatched = [
        text
        for col, cell in enumerate(rows[header_idx])
        if col not in used_cols and (text := cell_text(cell))
    ]
    if not row_numbers:
        return SkippedSheet.why(
            raw.name,
            [text for _, (_, _, text) in by_col],
            "a header in row {row} but no rows of data under it",
            row=header_idx + 1,
        )
    sample = [data_start + i for i in kept_rows[:UNMATCHED_SAMPLE]]
    unmatched_columns: list[tuple[str, str, list[str]]] = []
    for c in range(width):
        if c in used_cols:
            continue
        header = cell_text(rows[header_idx][c])
        cells = [cell_text(rows[r][c]) for r in sample]
        if header or any(cells):
            unmatched_columns.append((column_letter(c), header, cells))
    return Sheet(
        name=raw.name,
        header_row=header_idx + 1,
        columns=columns,
        data=data,
        row_numbers=row_numbers,
        unmatched_headers=unmatched,
        dropped_rows=len(body) - len(row_numbers),
        unmatched_columns=unmatched_columns,
        merged_fields=frozenset(filled),
    )


def column_letter(index: int) -> str:
    """The letter Excel shows over a 0-based column: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


Found = dict[str, tuple[int, int, str]]  # field -> (column, alias priority, header text)


def _match_row(row: list[Any], matcher: HeaderMatcher) -> Found:
    found: Found = {}
    for col, cell in enumerate(row):
        if type(cell) is not str:
            continue
        text = cell.strip(_STRIP)
        hit = matcher.match(text) if text else None
        if hit is None:
            continue
        name, priority = hit
        previous = found.get(name)
        if previous is None or priority < previous[1]:
            found[name] = (col, priority, text)
    return found


def _find_header(
    rows: list[list[Any]], matcher: HeaderMatcher, required: Sequence[str]
) -> tuple[int | None, Found]:
    best: tuple[int | None, Found] = (None, {})
    for idx, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        found = _match_row(row, matcher)
        if all(f in found for f in required) and len(found) > len(best[1]):
            best = (idx, found)
    return best


def _sub_header(
    row: list[Any], found: Found, matcher: HeaderMatcher, required: Sequence[str]
) -> Found | None:
    """A second header row under the header, or None when ``row`` is data.

    Two layouts are common: group headers merged over sub-headers (联系方式 over 手机 | 电话)
    and a bilingual header (工号 over Employee ID). A sub-header may name a field better than the
    group header above it ("手机" beats "联系方式").
    """
    sub = _match_row(row, matcher)
    if not sub:
        return None
    sub_cols = {col for col, _, _ in sub.values()}
    for name in required:
        col = found[name][0]
        if cell_text(row[col]) and col not in sub_cols:
            return None  # a real value in a required column: this is the first person
    merged = dict(found)
    for name, hit in sub.items():
        owner = next((f for f, h in merged.items() if h[0] == hit[0]), None)
        if owner is not None and owner != name:
            continue  # the column already names another field
        if name not in merged or hit[1] < merged[name][1]:
            merged[name] = hit
    return merged


def _is_note_row(row: list[Any]) -> bool:
    """A line of bracketed notes under the header: （必填） | （选填） | (required)."""
    texts = [cell_text(c) for c in row]
    notes = [t for t in texts if t]
    return bool(notes) and all(_NOTE_ONLY_RE.fullmatch(t) for t in notes)


def _fill_merged(
    sheet: str,
    merged: list[tuple[tuple[int, int], tuple[int, int]]],
    data_start: int,
    n_rows: int,
    field_at: dict[int, str],
    cols: dict[str, Sequence[str]],
) -> set[str]:
    """Fill each merged range's cells with its first cell's text; the fields it filled (their
    cells share one string object a range: :func:`_encode_met` sends them by value)."""
    # HR merges a department cell down over its people; each of them belongs to it. Merged
    # ranges never overlap in a sheet Excel or WPS saved, so they fill each cell once at most:
    # more than that (50,000 copies of one range) is refused, not spent minutes on.
    relevant = [
        ((r0, c0), (r1, c1))
        for (r0, c0), (r1, c1) in merged
        if field_at.get(c0) is not None and r0 >= data_start and r1 > r0
    ]
    last = data_start + n_rows - 1
    filling = sum(min(r1, last) - r0 for (r0, _), (r1, _c1) in relevant if r0 <= last)
    if filling > n_rows * len(field_at):
        raise UserError(
            "sheet {sheet!r}: its merged cells overlap ({n} ranges covering {cells} cells of "
            "{rows} rows): the sheet is damaged; unmerge them in Excel or WPS and save it again",
            sheet=sheet,
            n=len(relevant),
            cells=filling,
            rows=n_rows,
        )
    filled: set[str] = set()
    for (r0, c0), (r1, _c1) in relevant:
        name = field_at[c0]
        column = cast("list[str]", cols[name])  # a list, or a _CellTexts: both take items
        value = column[r0 - data_start]
        filled.add(name)
        for r in range(r0 + 1, min(r1, data_start + n_rows - 1) + 1):
            if not column[r - data_start]:
                column[r - data_start] = value
    return filled


def _rows_to_keep(
    cols: dict[str, Sequence[str]],
    order: list[str],
    found: Found,
    required: Sequence[str],
    ignore: Collection[str],
) -> list[int] | None:
    """Indexes of real data rows, or None when every row is one."""
    ordered = [cols[name] for name in order]
    content_pos = [i for i, name in enumerate(order) if name not in ignore]
    required_pos = [order.index(name) for name in required]
    header_texts = [found[name][2] for name in required]
    if not ordered:
        return None
    check_ignored = len(content_pos) < len(order)
    lead = ordered[0]
    complete = [all(t) for t in zip(*(cols[name] for name in required), strict=True)]
    # The usual row: a 序号 or an employee number first, every required cell filled. No
    # footer or repeated header starts with a digit, so nothing more to check; the others are
    # looked at one by one.
    digit_first = (
        lead.digit_first() if isinstance(lead, _CellTexts) else ["0" <= f[:1] <= "9" for f in lead]
    )
    kept = [c and d for c, d in zip(complete, digit_first, strict=True)]
    for i in [i for i, usual in enumerate(kept) if not usual]:
        cells = [column[i] for column in ordered]
        first_pos = next((p for p, c in enumerate(cells) if c), None)
        if first_pos is None:
            continue
        if check_ignored and not any(cells[p] for p in content_pos):
            continue  # a template's pre-numbered 序号 with nobody in the row
        if _FOOTER_RE.match(cells[first_pos]) and (
            first_pos in required_pos or not all(cells[p] for p in required_pos)
        ):
            continue
        if [cells[p] for p in required_pos] == header_texts:
            continue  # the header repeated (printed pages, pasted blocks)
        kept[i] = True
    return None if all(kept) else [i for i, k in enumerate(kept) if k]


class _CellTexts(Sequence[str]):
    """A column's cell texts, each spelled when it is asked for (and kept if it is set)."""

    def __init__(self, body: list[list[Any]], col: int) -> None:
        self._body = body
        self._col = col
        self._set: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._body)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        text = self._set.get(i)
        return cell_text(self._body[i][self._col]) if text is None else text

    def __setitem__(self, i: int, text: str) -> None:
        self._set[i] = text

    def digit_first(self) -> list[bool]:
        """Whether each cell's text starts with a digit, the usual cells without spelling them:
        a number's text (``_float_text``) does when it is at least 0 and finite."""
        inf, strip = float("inf"), _STRIP
        flags = [
            0 <= v < inf
            if v.__class__ is float
            else "0" <= v.strip(strip)[:1] <= "9"
            if v.__class__ is str
            else "0" <= cell_text(v)[:1] <= "9"
            for v in map(itemgetter(self._col), self._body)
        ]
        for i, text in self._set.items():
            flags[i] = "0" <= text[:1] <= "9"
        return flags


def _column_text(body: list[list[Any]], col: int) -> list[str]:
    strip = _STRIP
    spelled: dict[datetime, str] = {}

    def other(value: Any) -> str:
        if value.__class__ is float:
            return _float_text(value)
        if value.__class__ is datetime:
            # A lab sheet's sampling times repeat (a slot's samples share their minute):
            # each is spelled once.
            text = spelled.get(value)
            if text is None:
                text = spelled[value] = cell_text(value)
            return text
        return cell_text(value)

    # Text cells are the common case: handled inline, without a call per cell.
    texts = [v.strip(strip) if v.__class__ is str else other(v) for v in map(itemgetter(col), body)]
    return _shared(texts)


SHARE_SAMPLE = 2_000  # cells looked at to decide whether a column repeats its values


def _shared(texts: list[str]) -> list[str]:
    """``texts`` with equal values as one string, when the column mostly repeats them.

    calamine makes a new string for every cell, so a 300,000-row roster's departments, grid
    units, titles and shifts are 1.2 million strings of a few thousand values; kept once each,
    they stop weighing on the records, the comparison and the write that share them. A
    column of names or numbers is left as it is, without the cost of a look-up per cell.
    """
    if len(texts) <= SHARE_SAMPLE or len(set(texts[:SHARE_SAMPLE])) > SHARE_SAMPLE // 2:
        return texts
    once: dict[str, str] = {}
    return [once.setdefault(t, t) for t in texts]


def _row_has_content(row: list[Any]) -> bool:
    return any(cell_text(c) for c in row)


def cell_text(value: Any) -> str:
    """The text a person sees in a cell: ``10023.0`` -> ``"10023"``, a date -> ISO text."""
    if type(value) is str:
        return value.strip(_STRIP)
    if value is None:
        return ""
    if type(value) is float:
        return _float_text(value)
    if type(value) is int:
        return str(value)
    if type(value) is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip(_STRIP)


def _float_text(value: float) -> str:
    if -1e15 < value < 1e15 and value.is_integer():  # a number typed in: 序号, 工号
        return str(int(value))
    if value != value or value in (float("inf"), float("-inf")):
        return ""
    if value.is_integer():
        # Excel keeps 15 significant digits: an 18-digit ID typed as a number shows its
        # first 15 digits and zeros, and that is what the person reads.
        return str(int(Decimal(f"{value:.15g}")))
    return f"{value:.15g}"


def _no_header(
    name: str, rows: list[list[Any]], matcher: HeaderMatcher, required: Sequence[str]
) -> SkippedSheet:
    scan = rows[:HEADER_SCAN_ROWS]
    matched = [(len(m), i, m) for i, m in ((i, _match_row(r, matcher)) for i, r in enumerate(scan))]
    count, idx, found = max(matched, key=lambda t: (t[0], -t[1]))
    if count:
        missing = [f for f in required if f not in found]
        seen = [cell_text(c) for c in scan[idx] if cell_text(c)]
        named = ", ".join(text for _, _, text in found.values())
        return SkippedSheet.why(
            name,
            seen,
            "row {row} has {named} but no {missing} column",
            row=idx + 1,
            named=named,
            # the headers a clerk would write (工号或姓名), not our field codes
            missing=Words.joined(list(_header_words(matcher.aliases, missing).values()), "or"),
        )
    texts = [[cell_text(c) for c in r if type(c) is str and cell_text(c)] for r in scan]
    idx = max(range(len(texts)), key=lambda i: (len(texts[i]), -i))
    return SkippedSheet.why(
        name,
        texts[idx],
        "no header row naming {required} in its first rows",
        required=Words.joined(list(_header_words(matcher.aliases, required).values()), "and"),
    )


def _nothing_found(
    file_name: str,
    skipped: list[SkippedSheet],
    aliases: Mapping[str, Sequence[str]],
    required: Sequence[str],
) -> UserError:
    if not skipped:
        return UserError("{file}: the workbook has no sheets", file=file_name)
    if all(s.reason == "empty sheet" for s in skipped):
        if len(skipped) == 1:
            return UserError(
                "{file}: the file is empty; fill in the roster and upload it again", file=file_name
            )
        return UserError(
            "{file}: every sheet is empty; fill in the roster and upload it again", file=file_name
        )
    no_rows = [s for s in skipped if s.reason.startswith("a header in row")]
    if no_rows:
        return UserError(
            "{file}: sheet {sheet!r} has a header row but no rows of data under it",
            file=file_name,
            sheet=no_rows[0].name,
        )
    # Each part is a Phrase or Words, so the message reads in the clerk's language whole:
    # the headers seen and the aliases are the file's and the configuration's own words.
    seen = _each(
        Phrase(
            "sheet {sheet!r}: {headers}",
            sheet=s.name,
            headers=", ".join(repr(h) for h in s.headers_seen[:15]),
        )
        for s in skipped
        if s.headers_seen
    )
    words = _header_words(aliases, list(aliases))
    known = _each(
        Phrase("{field}: {names}", field=words[f], names=", ".join(aliases[f])) for f in required
    )
    others = Words.joined([words[f] for f in aliases if f not in required], "and")
    reasons = _each(
        Phrase(
            "{sheet!r}: {reason}",
            sheet=s.name,
            reason=Phrase(s.template, **s.params) if s.template else s.reason,
        )
        for s in skipped
        if s.headers_seen
    )
    needed = Words.joined([words[f] for f in required], "and")
    if others.en:
        return UserError(
            "{file}: no recognisable header row (it needs columns for {required}). {reasons}. "
            "Headers seen: {seen}. Known names: {known} (optional columns: {others})",
            file=file_name,
            required=needed,
            reasons=reasons or Phrase("no sheet has a header"),
            seen=seen or Phrase("none"),
            known=known,
            others=others,
        )
    return UserError(
        "{file}: no recognisable header row (it needs columns for {required}). {reasons}. "
        "Headers seen: {seen}. Known names: {known}",
        file=file_name,
        required=needed,
        reasons=reasons or Phrase("no sheet has a header"),
        seen=seen or Phrase("none"),
        known=known,
    )


def _header_words(aliases: Mapping[str, Sequence[str]], names: Sequence[str]) -> dict[str, Words]:
    """Each field of ``names`` as a clerk heads its column (:func:`header_words`)."""
    return {f: header_words(f, aliases.get(f, ())) for f in names}


def _each(parts: Iterable[Phrase]) -> Phrase | None:
    """Phrases one after another ("a; b; c"), each rendered in the message's language."""
    joined: Phrase | None = None
    for part in parts:
        joined = part if joined is None else Phrase("{first}; {second}", first=joined, second=part)
    return joined

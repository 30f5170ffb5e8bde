"""The record stream of a legacy .xls workbook (BIFF8, and BIFF5 from Excel 95), checked and
surveyed in one pass before calamine parses it.

The pass checks what calamine trusts: every record fits the stream, the workbook globals end
with an EOF record, every sheet's BOUNDSHEET offset points at a BOF record after the globals,
sheets do not overlap (calamine parses each sheet once per BOUNDSHEET, so overlapping sheets
multiply its work), and no sheet's cells span more than a given number of cells (calamine
allocates the rectangle from A1 to the last cell, and reserves whatever a DIMENSIONS record
claims — the copy handed to calamine has every DIMENSIONS record rewritten to the cells really
there).

It also reads what calamine does not give: the number format of each number cell (FORMAT and
XF records, then the XF index of NUMBER, RK, MULRK and FORMULA cells), so a number formatted
``000000`` comes out as the ``003002`` Excel shows.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from testrota.roster.numfmt import NumberFormat, changes_whole_numbers, parse_format
from testrota.roster.survey import SheetSurvey

_BOF, _EOF, _FILEPASS, _CODEPAGE = 0x0809, 0x000A, 0x002F, 0x0042
_FORMAT, _XF, _BOUNDSHEET, _DIMENSIONS = 0x041E, 0x00E0, 0x0085, 0x0200
_NUMBER, _RK, _MULRK, _FORMULA = 0x0203, 0x027E, 0x00BD, 0x0006
# Records calamine turns into a cell at (row, col) read from their first four bytes.
_CELLS = frozenset({_NUMBER, _RK, _FORMULA, 0x0204, 0x00D6, 0x0205, 0x00FD})

_HEAD = struct.Struct("<HH")
_RECORD = struct.Struct("<HHHHH")  # type, length, and a cell's row, column and XF index
_DOUBLE = struct.Struct("<d")


class DamagedWorkbook(ValueError):
    """The record stream is inconsistent; the message says where."""


class EncryptedWorkbook(ValueError):
    """The workbook has a FILEPASS record: it is encrypted with a password."""


@dataclass
class BiffBook:
    sheets: list[SheetSurvey]  # in BOUNDSHEET order, as calamine lists them
    stream: bytes  # the stream to hand to calamine (DIMENSIONS records made truthful)


def read_biff(stream: bytes) -> BiffBook:
    """Check ``stream`` (a Workbook stream) and survey its sheets.

    Raises :class:`DamagedWorkbook` or :class:`EncryptedWorkbook`.
    """
    try:
        return _read(stream)
    except struct.error as exc:
        raise DamagedWorkbook("a record is cut short") from exc


def _read(stream: bytes) -> BiffBook:
    end = len(stream)
    if end < 8:
        raise DamagedWorkbook("the workbook stream is empty")
    typ, length = _HEAD.unpack_from(stream, 0)
    if typ != _BOF or length < 4:
        raise DamagedWorkbook("the workbook stream does not start with a BOF record")
    version = struct.unpack_from("<H", stream, 4)[0]
    biff8 = version == 0x0600
    if version not in (0x0500, 0x0600):
        raise DamagedWorkbook(f"unsupported BIFF version {version:#06x}")

    codepage = 1200 if biff8 else 1252
    formats: dict[int, str] = {}
    xf_formats: list[int] = []
    bound: list[tuple[int, str]] = []  # offset, name
    pos = 0
    globals_end = None
    while pos + 4 <= end:
        typ, length = _HEAD.unpack_from(stream, pos)
        body, pos = pos + 4, pos + 4 + length
        if pos > end:
            raise DamagedWorkbook("a record runs past the end of the workbook stream")
        if typ == _EOF:
            globals_end = pos
            break
        if typ == _FILEPASS:
            raise EncryptedWorkbook("the workbook is encrypted")
        if typ == _CODEPAGE and length >= 2:
            codepage = struct.unpack_from("<H", stream, body)[0]
        elif typ == _FORMAT and length >= 3:
            index = struct.unpack_from("<H", stream, body)[0]
            formats[index] = _format_text(stream[body + 2 : pos], biff8, codepage)
        elif typ == _XF and length >= 4:
            xf_formats.append(struct.unpack_from("<H", stream, body + 2)[0])
        elif typ == _BOUNDSHEET:
            if length < 8:
                raise DamagedWorkbook("a sheet record is cut short")
            offset = struct.unpack_from("<I", stream, body)[0]
            bound.append((offset, _sheet_name(stream[body + 6 : pos], biff8, codepage)))
    if globals_end is None:
        raise DamagedWorkbook("the workbook globals have no EOF record")

    interesting = _interesting_formats(formats, xf_formats)
    copy: bytearray | None = None
    sheets: list[SheetSurvey] = []
    taken: list[tuple[int, int]] = []
    for offset, name in bound:
        if not globals_end <= offset < end:
            raise DamagedWorkbook(f"sheet {name!r} points outside the workbook stream")
        survey = _survey_sheet(stream, offset, interesting)
        taken.append((offset, survey.end))
        if survey.dimensions and survey.dimensions_too_big:
            if copy is None:
                copy = bytearray(stream)
            for at, size in survey.dimensions:
                _rewrite_dimensions(copy, at, size, survey.rows, survey.columns)
        sheets.append(SheetSurvey(name, survey.rows, survey.columns, survey.overrides))
    taken.sort()
    for (_, first_end), (second_start, _) in pairwise(taken):
        if second_start < first_end:
            raise DamagedWorkbook("two sheets share records")
    return BiffBook(sheets, bytes(copy) if copy is not None else stream)


@dataclass
class _Survey:
    end: int
    rows: int
    columns: int
    dimensions: list[tuple[int, int]]  # (offset of the record body, its length)
    dimensions_too_big: bool
    overrides: dict[tuple[int, int], str]


def _survey_sheet(stream: bytes, offset: int, interesting: Mapping[int, NumberFormat]) -> _Survey:
    end = len(stream)
    typ, _length = _HEAD.unpack_from(stream, offset)
    if typ != _BOF:
        raise DamagedWorkbook("a sheet does not start with a BOF record")
    head = _HEAD.unpack_from
    record = _RECORD.unpack_from
    cells = _CELLS
    max_row = max_col = -1
    depth = 0  # nested substreams (an embedded chart) hold no cells of this sheet
    dimensions: list[tuple[int, int]] = []
    declared = 0
    overrides: dict[tuple[int, int], str] = {}
    pos = offset
    seen_bof = False
    # The hot loop of reading an .xls: one unpack per record gives its type, its length and,
    # for a cell, its row, column and format.
    whole = end - _RECORD.size
    while True:
        if pos <= whole:
            typ, length, row, col, xf = record(stream, pos)
        elif pos + 4 <= end:
            typ, length = head(stream, pos)
            row = col = xf = 0
        else:
            raise DamagedWorkbook("a sheet has no EOF record")
        body = pos + 4
        pos = body + length
        if pos > end:
            raise DamagedWorkbook("a record runs past the end of the workbook stream")
        if depth:
            if typ == _BOF:
                depth += 1
            elif typ == _EOF:
                depth -= 1
            continue
        if typ in cells:
            if length < 6:
                raise DamagedWorkbook("a cell record is cut short")
            if row > max_row:
                max_row = row
            if col > max_col:
                max_col = col
            if interesting and xf in interesting:
                value = _number(stream, body, typ, length)
                if value is not None:
                    overrides[row, col] = interesting[xf].render(value)
        elif typ == _MULRK:
            if length < 6 or (length - 6) % 6:
                raise DamagedWorkbook("a MULRK record has a bad length")
            row, first = head(stream, body)
            last = first + (length - 6) // 6 - 1
            max_row = max(max_row, row)
            max_col = max(max_col, last)
            if interesting:
                for i in range(first, last + 1):
                    at = body + 4 + (i - first) * 6
                    xf, rk = struct.unpack_from("<HI", stream, at)
                    if xf in interesting:
                        overrides[row, i] = interesting[xf].render(_rk(rk))
        elif typ == _DIMENSIONS:
            dimensions.append((body, length))
            declared = max(declared, _declared_cells(stream, body, length))
        elif typ == _BOF:
            if seen_bof:
                depth = 1
            seen_bof = True
        elif typ == _EOF:
            break
    rows, columns = max_row + 1, max_col + 1
    return _Survey(pos, rows, columns, dimensions, declared > rows * columns, overrides)


def _number(stream: bytes, body: int, typ: int, length: int) -> float | None:
    if typ == _NUMBER and length >= 14:
        return float(_DOUBLE.unpack_from(stream, body + 6)[0])
    if typ == _RK and length >= 10:
        return _rk(struct.unpack_from("<I", stream, body + 6)[0])
    if typ == _FORMULA and length >= 14:
        if stream[body + 12 : body + 14] == b"\xff\xff":
            return None  # the result is text, a boolean or an error, not a number
        return float(_DOUBLE.unpack_from(stream, body + 6)[0])
    return None


def _rk(rk: int) -> float:
    """The number an RK value encodes: a 30-bit integer or the top of a double, maybe /100."""
    if rk & 0x02:
        number: float = (rk >> 2) - (1 << 30) if rk & 0x80000000 else rk >> 2
    else:
        number = _DOUBLE.unpack(struct.pack("<Q", (rk & 0xFFFFFFFC) << 32))[0]
    return number / 100 if rk & 0x01 else float(number)


def _declared_cells(stream: bytes, body: int, length: int) -> int:
    if length >= 14:
        first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", stream, body)
    elif length >= 10:
        first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", stream, body)
    else:
        return 0
    return int(max(last_row - first_row, 0) * max(last_col - first_col, 0))


def _rewrite_dimensions(copy: bytearray, body: int, length: int, rows: int, cols: int) -> None:
    # calamine reserves room for the cells a DIMENSIONS record claims; claim only what is there.
    if length >= 14:
        struct.pack_into("<IIHH", copy, body, 0, rows, 0, min(cols, 0xFFFF))
    elif length >= 10:
        struct.pack_into("<HHHH", copy, body, 0, min(rows, 0xFFFF), 0, min(cols, 0xFFFF))


def _interesting_formats(
    formats: Mapping[int, str], xf_formats: list[int]
) -> dict[int, NumberFormat]:
    """XF index -> format, for the formats that pad or decorate whole numbers."""
    padded: dict[int, NumberFormat] = {}
    for index, code in formats.items():
        fmt = parse_format(code)
        if fmt is not None and changes_whole_numbers(fmt):
            padded[index] = fmt
    if not padded:
        return {}
    return {xf: padded[f] for xf, f in enumerate(xf_formats) if f in padded}


def _codec(codepage: int) -> str:
    name = {1200: "utf-16-le", 367: "ascii", 32768: "mac-roman", 32769: "cp1252"}.get(codepage)
    name = name or f"cp{codepage}"
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name


def _format_text(raw: bytes, biff8: bool, codepage: int) -> str:
    if biff8:
        return _unicode_string(raw, count_bytes=2)
    count = raw[0] if raw else 0
    return raw[1 : 1 + count].decode(_codec(codepage), errors="replace")


def _sheet_name(raw: bytes, biff8: bool, codepage: int) -> str:
    if not raw:
        return ""
    if biff8:
        return _unicode_string(raw, count_bytes=1).replace("\0", "")
    return raw[1 : 1 + raw[0]].decode(_codec(codepage), errors="replace").replace("\0", "")


def _unicode_string(raw: bytes, count_bytes: int) -> str:
    """An XLUnicodeString: a character count, a flags byte, then Latin-1 or UTF-16 text."""
    if len(raw) < count_bytes + 1:
        return ""
    count = raw[0] if count_bytes == 1 else struct.unpack_from("<H", raw, 0)[0]
    flags = raw[count_bytes]
    text = raw[count_bytes + 1 :]
    if flags & 0x01:
        return text[: 2 * count].decode("utf-16-le", errors="replace")
    return text[:count].decode("latin-1")

"""The tables of an .ods, surveyed before calamine reads them.

calamine parses every table of ``content.xml`` when it opens the file and expands
``number-rows-repeated`` and ``number-columns-repeated`` into real cells (up to 100 million of
them), so one pass over ``content.xml`` here — inflated with its declared size enforced — places
every cell as calamine will and refuses a table whose cells would span more than the limit.
The same pass finds the number cells whose data style pads them (``number:min-integer-digits``)
or decorates them with text, and what Calc shows for them.
"""

from __future__ import annotations

import html
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from testrota.roster.numfmt import NumberFormat, changes_whole_numbers, parse_format
from testrota.roster.survey import DamagedPart, SheetSurvey, SheetTooLarge
from testrota.roster.zip_parts import check_members, member_chunks

_MAX_ROWS = 1_048_576  # calamine caps a table's repeated rows here
_MAX_COLUMNS = 16_384
_HEAD_LIMIT = 64 << 20  # styles before <office:body>; real ones are far smaller
_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_STRUCTURE = re.compile(
    rb"<table:table-row\b([^>]*?)(/?)>"
    rb"|<(/?)table:table(?=[\s/>])([^>]*)>"
    rb"|<table:table-column\b([^>]*)>"
)
_ROW_END = b"</table:table-row>"
_MIN_CELL_BYTES = len(b"<table:table-cell/>")
# The empty run Calc writes from a row's last cell to the sheet's edge.
_EDGE_RUN_START = b'<table:table-cell table:number-columns-repeated="'
_EDGE_RUN_END = re.compile(rb'-repeated="\d+"/></table:table-row>')
_CELL = re.compile(rb"<table:(?:covered-)?table-cell\b([^>]*)>")
_ATTR_CACHE: dict[bytes, re.Pattern[bytes]] = {}
_STYLE = re.compile(rb"<style:style\b([^>]*)>")
_NUMBER_STYLE = re.compile(rb"<number:number-style\b([^>]*)>(.*?)</number:number-style>", re.S)
_NUMBER_PART = re.compile(rb"<number:(number|text)\b([^>]*?)(?:/>|>(.*?)</number:text>)", re.S)
_BODY = re.compile(rb"<office:body\b")


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _ATTR.finditer(raw)
    }


def _attr(raw: bytes, name: bytes) -> bytes | None:
    """One attribute's value from a tag's attribute text, or None."""
    pattern = _ATTR_CACHE.get(name)
    if pattern is None:
        quoted = rb"\s*=\s*(?:\"([^\"]*)\"|'([^']*)')"
        pattern = re.compile(rb"(?<![\w:.-])" + re.escape(name) + quoted)
        _ATTR_CACHE[name] = pattern
    m = pattern.search(raw)
    if m is None:
        return None
    return m.group(1) if m.group(1) is not None else m.group(2)


def _trimmed(body: bytes) -> bytes:
    """A row's cells without a last, empty, self-closing cell (Calc's run to the sheet's edge)."""
    last = body.rfind(b"<table:table-cell")
    tail = body[last:].rstrip()
    if last < 0 or not tail.endswith(b"/>") or tail.count(b"<") != 1:
        return body
    if b"office:value" in tail or b"-value=" in tail or b"table:formula" in tail:
        return body
    return body[:last]


def _count(value: bytes | None, limit: int) -> int:
    if value is None:
        return 1
    if not value.isdigit():
        raise DamagedPart("a repeat count is not a number")
    return max(1, min(int(value), limit))


@dataclass
class _Table:
    name: str
    rows: int = 0  # rows from the first to the end of the last non-empty one
    columns: int = 0
    row: int = 0  # the next row
    bound: int = 0  # columns no row of the plain chunks can pass
    column_styles: list[tuple[int, bytes | None]] = field(default_factory=list)
    survey_spans: list[tuple[int, int, int, int, str]] = field(default_factory=list)


@dataclass
class OdsPackage:
    """An .ods whose content has been surveyed: one SheetSurvey per table, by name."""

    surveys: dict[str, SheetSurvey]

    @classmethod
    def open(cls, data: bytes, archive: zipfile.ZipFile, max_cells: int) -> OdsPackage:
        members = check_members(archive)
        content = members.get("content.xml")
        if content is None:
            raise DamagedPart("content.xml is missing")
        styles = members.get("styles.xml")
        if styles is not None and styles.file_size > _HEAD_LIMIT:
            raise DamagedPart("styles.xml is implausibly large")
        common = b"".join(member_chunks(data, styles)) if styles is not None else b""
        try:
            return cls(_Survey(common, max_cells, exact=False).run(member_chunks(data, content)))
        except _NeedExact:
            return cls(_Survey(common, max_cells, exact=True).run(member_chunks(data, content)))


class _NeedExact(Exception):
    """A bound of the fast pass came too close to the limit: count cell by cell instead."""


class _Survey:
    """One pass over content.xml, in chunks cut after a row.

    A chunk of plain rows (no repeats but Calc's empty run to the sheet's edge, nothing to
    format, no table boundary) is taken whole: its rows are counted and its widest row, in
    bytes, bounds every row's cells (a cell takes at least 19 bytes). Other chunks, and every
    chunk once such a bound would pass the limit, are walked row by row and cell by cell.
    """

    def __init__(self, common_styles: bytes, max_cells: int, exact: bool) -> None:
        self.max_cells = max_cells
        self.common_styles = common_styles
        self.exact = exact
        self.formats: dict[bytes, NumberFormat] = {}  # cell style name -> padded format
        self.tables: dict[str, SheetSurvey] = {}
        self.table: _Table | None = None

    def run(self, chunks: Iterator[bytes]) -> dict[str, SheetSurvey]:
        buffer = b""
        in_body = False
        for piece in chunks:
            buffer += piece
            if not in_body:
                body = _BODY.search(buffer)
                if body is None:
                    if len(buffer) > _HEAD_LIMIT:
                        raise DamagedPart("content.xml has no body where expected")
                    continue
                self.formats = _padded_cell_styles(self.common_styles + buffer[: body.start()])
                buffer = buffer[body.start() :]
                in_body = True
            cut = buffer.rfind(b"</table:table-row>")
            cut = cut + len(b"</table:table-row>") if cut >= 0 else 0
            if not cut and len(buffer) > 1 << 24:
                cut = buffer.rfind(b">") + 1  # a row of over 16 MB: cut after any tag
            if cut:
                self._walk(buffer[:cut])
                buffer = buffer[cut:]
        if not in_body:
            raise DamagedPart("content.xml has no body")
        self._walk(buffer)
        return self.tables

    def _walk(self, text: bytes) -> None:
        table = self.table
        if table is not None and not self.exact and self._plain(text):
            rows = text.count(b"<table:table-row ") + text.count(b"<table:table-row>")
            widest = max(map(len, text.split(_ROW_END))) // _MIN_CELL_BYTES + 1
            table.bound = max(table.bound, widest)
            table.rows = table.row = table.row + rows  # as if each row had a value
            if table.rows * max(table.columns, table.bound) > self.max_cells:
                raise _NeedExact
            return
        pos = 0
        while (m := _STRUCTURE.search(text, pos)) is not None:
            pos = m.end()
            table = self.table
            if m.group(3) is not None:  # <table:table> or </table:table>
                if m.group(3):
                    if table is not None:
                        self._finish(table)
                    self.table = None
                elif table is None:  # a table nested in a cell is part of its cell
                    name = (_attr(m.group(4), b"table:name") or b"").decode("utf-8", "replace")
                    self.table = _Table(html.unescape(name))
            elif table is None:
                continue
            elif m.group(5) is not None:  # <table:table-column>
                raw = m.group(5)
                repeat = _count(_attr(raw, b"table:number-columns-repeated"), _MAX_COLUMNS)
                table.column_styles.append((repeat, _attr(raw, b"table:default-cell-style-name")))
            else:  # a row, with its cells up to </table:table-row>
                raw = m.group(1)
                body = b""
                if not m.group(2):
                    end = text.find(_ROW_END, pos)
                    end = end if end >= 0 else len(text)
                    body, pos = text[pos:end], end + len(_ROW_END)
                self._row(table, raw, body)

    def _plain(self, text: bytes) -> bool:
        if b"<table:table " in text or b"</table:table>" in text or b"<table:table-column" in text:
            return False
        if b"number-rows-repeated" in text or (self.formats and b"float" in text):
            return False
        repeats = text.count(b'-repeated="')
        # Each repeat the first and last attribute of an empty cell that ends its row:
        # <table:table-cell table:number-columns-repeated="16376"/></table:table-row>
        return repeats == 0 or (
            text.count(_EDGE_RUN_START) == repeats and len(_EDGE_RUN_END.findall(text)) == repeats
        )

    def _row(self, table: _Table, raw: bytes, body: bytes) -> None:
        repeat = _count(_attr(raw, b"table:number-rows-repeated"), _MAX_ROWS)
        filled = b"office:value" in body or b"-value=" in body or b"table:formula" in body
        if not filled:
            width = 0
        elif not (self.formats and b"float" in body) and b'-repeated="' not in _trimmed(body):
            # The usual row: nothing to format and no repeated cells but the empty run Calc
            # writes to the sheet's edge. Its other cells bound its width.
            cells = _trimmed(body)
            width = cells.count(b"<table:table-cell") + cells.count(b"<table:covered-table-cell")
        else:
            width = self._cells(table, body, repeat, _attr(raw, b"table:default-cell-style-name"))
        repeat = min(repeat, _MAX_ROWS - table.row)
        if width:
            table.rows = table.row + repeat
            table.columns = max(table.columns, width)
            if table.rows * table.columns > self.max_cells:
                raise SheetTooLarge(table.name, table.rows, table.columns, "cells")
            if table.rows * table.bound > self.max_cells:
                raise _NeedExact
        table.row += repeat

    def _cells(self, table: _Table, body: bytes, row_repeat: int, row_style: bytes | None) -> int:
        """The row's width up to its last non-empty cell, noting cells whose style pads them."""
        col = width = 0
        for m in _CELL.finditer(body):
            raw = m.group(1)
            repeat = 1
            if b'-repeated="' in raw:
                repeat = _count(_attr(raw, b"table:number-columns-repeated"), _MAX_COLUMNS)
            if b"office:value" in raw or b"-value=" in raw or b"table:formula" in raw:
                if self.formats and b'"float"' in raw:
                    self._padded(table, raw, col, row_repeat, repeat, row_style)
                width = min(col + repeat, _MAX_COLUMNS)
            col = min(col + repeat, _MAX_COLUMNS)
        return width

    def _padded(
        self, table: _Table, raw: bytes, col: int, rows: int, cols: int, row_style: bytes | None
    ) -> None:
        if _attr(raw, b"office:value-type") != b"float":
            return
        style = _attr(raw, b"table:style-name") or row_style or self._column_style(table, col)
        fmt = self.formats.get(style) if style else None
        if fmt is None:
            return
        try:
            value = float(_attr(raw, b"office:value") or b"")
        except ValueError:
            return
        if math.isfinite(value):
            table.survey_spans.append((table.row, col, rows, cols, fmt.render(value)))

    def _column_style(self, table: _Table, col: int) -> bytes | None:
        at = 0
        for repeat, style in table.column_styles:
            at += repeat
            if col < at:
                return style
        return None

    def _finish(self, table: _Table) -> None:
        columns = max(table.columns, table.bound) if table.rows else 0
        survey = SheetSurvey(table.name, table.rows, columns, spans=table.survey_spans)
        self.tables[table.name] = survey


def _padded_cell_styles(styles: bytes) -> dict[bytes, NumberFormat]:
    """Cell style name -> the format of its data style, for styles that pad numbers."""
    number_formats: dict[bytes, NumberFormat] = {}
    for m in _NUMBER_STYLE.finditer(styles):
        name = _attrs(m.group(1)).get(b"style:name")
        fmt = _excel_format(m.group(2))
        if name and fmt is not None and changes_whole_numbers(fmt):
            number_formats[name] = fmt
    if not number_formats:
        return {}
    parents: dict[bytes, bytes] = {}
    data_styles: dict[bytes, bytes] = {}
    for m in _STYLE.finditer(styles):
        a = _attrs(m.group(1))
        name = a.get(b"style:name")
        if name is None:
            continue
        if b"style:data-style-name" in a:
            data_styles[name] = a[b"style:data-style-name"]
        if b"style:parent-style-name" in a:
            parents[name] = a[b"style:parent-style-name"]
    out: dict[bytes, NumberFormat] = {}
    for name in set(data_styles) | set(parents):
        current: bytes | None = name
        for _ in range(16):  # a style inherits its data style from its parents
            if current is None or current in data_styles:
                break
            current = parents.get(current)
        data_style = data_styles.get(current) if current is not None else None
        if data_style in number_formats:
            out[name] = number_formats[data_style]
    return out


def _excel_format(body: bytes) -> NumberFormat | None:
    """An ODF number style as the equivalent Excel format code."""
    code: list[str] = []
    for m in _NUMBER_PART.finditer(body):
        if m.group(1) == b"text":
            text = html.unescape((m.group(3) or b"").decode("utf-8", "replace"))
            code.append('"' + text.replace('"', "") + '"' if text else "")
            continue
        a = _attrs(m.group(2))
        digits = int(a.get(b"number:min-integer-digits", b"1") or 1)
        places = int(a.get(b"number:decimal-places", b"0") or 0)
        shown = int(a.get(b"number:min-decimal-places", str(places).encode()) or 0)
        whole = "0" * max(digits, 0) or "#"
        if a.get(b"number:grouping") == b"true":
            whole = "#,##" + whole if len(whole) < 4 else whole
        decimals = "0" * min(shown, places) + "#" * max(places - shown, 0)
        code.append(whole + ("." + decimals if places else ""))
    return parse_format("".join(code)) if code else None

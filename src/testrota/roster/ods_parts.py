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
_TAG = re.compile(
    rb"<(/?)table:(table|table-row|table-cell|covered-table-cell|table-column)(?=[\s/>])([^>]*)>"
)
_STYLE = re.compile(rb"<style:style\b([^>]*)>")
_NUMBER_STYLE = re.compile(rb"<number:number-style\b([^>]*)>(.*?)</number:number-style>", re.S)
_NUMBER_PART = re.compile(rb"<number:(number|text)\b([^>]*?)(?:/>|>(.*?)</number:text>)", re.S)
_BODY = re.compile(rb"<office:body\b")


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _ATTR.finditer(raw)}


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
    row: int = 0  # the current row
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
        common = b"".join(member_chunks(data, styles)) if styles is not None else b""
        if len(common) > _HEAD_LIMIT:
            raise DamagedPart("styles.xml is implausibly large")
        return cls(_Survey(common, max_cells).run(member_chunks(data, content)))


class _Survey:
    def __init__(self, common_styles: bytes, max_cells: int) -> None:
        self.max_cells = max_cells
        self.common_styles = common_styles
        self.formats: dict[bytes, NumberFormat] = {}  # cell style name -> padded format
        self.tables: dict[str, SheetSurvey] = {}
        self.table: _Table | None = None
        self.row_repeat = 1
        self.row_style: bytes | None = None
        self.row_end = 0  # columns up to the end of the last non-empty cell of this row
        self.col = 0

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
        for m in _TAG.finditer(text):
            closing, kind, raw = m.group(1), m.group(2), m.group(3)
            table = self.table
            if kind == b"table":
                if closing:
                    if table is not None:
                        self._finish(table)
                    self.table = None
                elif table is None:  # a table nested in a cell is part of its cell
                    name = _attrs(raw).get(b"table:name", b"").decode("utf-8", "replace")
                    self.table = _Table(html.unescape(name))
                continue
            if table is None:
                continue
            if kind == b"table-column":
                if not closing:
                    a = _attrs(raw)
                    repeat = _count(a.get(b"table:number-columns-repeated"), _MAX_COLUMNS)
                    table.column_styles.append((repeat, a.get(b"table:default-cell-style-name")))
                continue
            if kind == b"table-row":
                if closing:
                    self._end_row(table)
                else:
                    a = _attrs(raw)
                    self.row_repeat = _count(a.get(b"table:number-rows-repeated"), _MAX_ROWS)
                    self.row_style = a.get(b"table:default-cell-style-name")
                    self.row_end = self.col = 0
                    if raw.endswith(b"/"):
                        self._end_row(table)
                continue
            if closing:
                continue
            repeat = _count(_attrs(raw).get(b"table:number-columns-repeated"), _MAX_COLUMNS)
            if b"office:value" in raw or b"-value=" in raw or b"table:formula" in raw:
                self._cell(table, raw, repeat)
                self.row_end = min(self.col + repeat, _MAX_COLUMNS)
            self.col = min(self.col + repeat, _MAX_COLUMNS)

    def _cell(self, table: _Table, raw: bytes, repeat: int) -> None:
        if not self.formats or b"float" not in raw:
            return
        a = _attrs(raw)
        if a.get(b"office:value-type") != b"float":
            return
        style = a.get(b"table:style-name") or self.row_style or self._column_style(table)
        fmt = self.formats.get(style) if style else None
        if fmt is None:
            return
        try:
            value = float(a.get(b"office:value", b""))
        except ValueError:
            return
        if math.isfinite(value):
            span = (table.row, self.col, self.row_repeat, repeat, fmt.render(value))
            table.survey_spans.append(span)

    def _column_style(self, table: _Table) -> bytes | None:
        at = 0
        for repeat, style in table.column_styles:
            at += repeat
            if self.col < at:
                return style
        return None

    def _end_row(self, table: _Table) -> None:
        repeat = min(self.row_repeat, _MAX_ROWS - table.row)
        if self.row_end:
            table.rows = table.row + repeat
            table.columns = max(table.columns, self.row_end)
            if table.rows * table.columns > self.max_cells:
                raise SheetTooLarge(table.name, table.rows, table.columns, "cells")
        table.row += repeat
        self.row_repeat, self.row_end, self.col = 1, 0, 0

    def _finish(self, table: _Table) -> None:
        survey = SheetSurvey(table.name, table.rows, table.columns, spans=table.survey_spans)
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

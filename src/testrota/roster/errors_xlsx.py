"""The row errors of an import as a workbook HR can open, filter and fix from.

The first sheet lists every error (sheet, row, column, value, problem). Then, for each sheet of
the upload that had errors, the offending rows as they were read, with the bad cells filled red
and the problem in a cell comment, so HR can find the cell in their own file by its row number.

Written in the uploader's language (``lang``: ``en`` or ``zh``): our headers and each problem
from its template and parameters; the clerk's own headers and cells stay as they were written.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook as XlsxWorkbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from testrota.errors import UserError
from testrota.roster.reader import Sheet, Workbook
from testrota.roster.validate import RowError

HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
BAD_FILL = PatternFill("solid", fgColor="FFC7CE")
BAD_FONT = Font(color="9C0006")
_FORMULA_START = ("=", "+", "-", "@")
_MAX_WIDTH = 60
_SHEET_NAME_BAD = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))

ERROR_HEADERS = ("Sheet", "Row", "Column", "Value", "Problem")


def write_error_report(
    path: Path, errors: Sequence[RowError], workbook: Workbook | None = None, *, lang: str = "en"
) -> Path:
    """Write the error report to ``path`` (.xlsx) in ``lang`` (en or zh), replacing it whole or
    not at all; the rows of ``workbook`` (the file read) with errors follow the list, one sheet
    per sheet."""
    from testrota.web.i18n import render_problem, translator

    _ = translator(lang)
    messages = {id(e): render_problem(e, lang) for e in errors}
    book = XlsxWorkbook()
    summary = book.active
    assert summary is not None
    summary.title = _("Errors")
    _write_summary(summary, errors, [_(h) for h in ERROR_HEADERS], messages)
    by_sheet: dict[str, list[RowError]] = defaultdict(list)
    for error in errors:
        by_sheet[error.sheet].append(error)
    used = {summary.title}
    for sheet in workbook.sheets if workbook is not None else ():
        if sheet.name in by_sheet:
            ws = book.create_sheet(_sheet_title(sheet.name, used))
            _write_rows(ws, sheet, by_sheet[sheet.name], (_("Row"), _("Problems")), messages)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and moved into place: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(prefix=".errors-", suffix=".xlsx", dir=path.parent)
    except OSError as exc:
        raise UserError(
            "cannot write the error report {path}: {error}",
            path=str(path),
            error=exc.strerror or str(exc),
        ) from None
    os.close(fd)
    try:
        book.save(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(
            "cannot write the error report {path}: {error}",
            path=str(path),
            error=exc.strerror or str(exc),
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_summary(
    ws: Worksheet, errors: Sequence[RowError], headers: Sequence[str], messages: dict[int, str]
) -> None:
    _header(ws, headers)
    lines = [(e.sheet, e.row, e.column, e.value, messages[id(e)]) for e in errors]
    for r, values in enumerate(lines, start=2):
        for c, value in enumerate(values, start=1):
            _put(ws, r, c, value)
        value_cell = ws.cell(row=r, column=4)
        value_cell.fill = BAD_FILL
        value_cell.font = BAD_FONT
    if errors:
        ws.auto_filter.ref = f"A1:E{len(errors) + 1}"
    _fit_widths(ws, [headers, *lines])


def _write_rows(
    ws: Worksheet,
    sheet: Sheet,
    errors: list[RowError],
    words: tuple[str, str],
    messages: dict[int, str],
) -> None:
    fields = list(sheet.columns)
    headers = [words[0], *(sheet.columns[f] for f in fields), words[1]]
    _header(ws, headers)
    position = {number: i for i, number in enumerate(sheet.row_numbers)}
    column_of = {text: c for c, text in enumerate(headers[1:-1], start=2)}
    by_row: dict[int, list[RowError]] = defaultdict(list)
    for error in errors:
        by_row[error.row].append(error)
    table: list[Sequence[Any]] = [headers]
    for r, (row_number, row_errors) in enumerate(sorted(by_row.items()), start=2):
        idx = position.get(row_number)
        values = [sheet.data[f][idx] if idx is not None else "" for f in fields]
        problems = "; ".join(f"{e.column}: {messages[id(e)]}" for e in row_errors)
        line = [row_number, *values, problems]
        table.append(line)
        for c, value in enumerate(line, start=1):
            _put(ws, r, c, value)
        for error in row_errors:
            at = column_of.get(error.column)
            if at is None:
                continue
            cell = ws.cell(row=r, column=at)
            cell.fill = BAD_FILL
            cell.font = BAD_FONT
            message = messages[id(error)]
            text = f"{cell.comment.text}\n{message}" if cell.comment else message
            cell.comment = Comment(text, "testrota", width=320, height=110)
        ws.cell(row=r, column=1).fill = BAD_FILL
    _fit_widths(ws, table)


def _header(ws: Worksheet, headers: Sequence[str]) -> None:
    for c, text in enumerate(headers, start=1):
        cell = _put(ws, 1, c, text)
        cell.fill = HEADER_FILL
        cell.font = HEADER_FONT
        cell.alignment = Alignment(vertical="center")
    ws.freeze_panes = "A2"


def _put(ws: Worksheet, row: int, column: int, value: Any) -> Any:
    cell = ws.cell(row=row, column=column)
    if value == "":
        return cell
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(_FORMULA_START):
            # A roster cell "=HYPERLINK(...)" must come back as the text it was, never run.
            cell.data_type = "s"
    else:
        cell.value = value
    return cell


def _display_width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit_widths(ws: Worksheet, table: Sequence[Sequence[Any]]) -> None:
    widths: dict[int, int] = {}
    for line in table:
        for c, value in enumerate(line, start=1):
            widths[c] = max(widths.get(c, 0), _display_width(value))
    for c, width in widths.items():
        ws.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), _MAX_WIDTH)


def _sheet_title(name: str, used: set[str]) -> str:
    base = (name.translate(_SHEET_NAME_BAD).strip("'") or "Sheet")[:31]
    title, n = base, 2
    while title.lower() in {u.lower() for u in used}:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title

"""Writing lists for people to open in Excel: formatted .xlsx and CSV, both injection-safe.

Rows are mappings or objects (a use case's dataclasses) with real values: a time is written in
the zone given (the site's), as a date-time cell in .xlsx and ISO 8601 with its offset in CSV.

A cell that begins with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel. Names and roles come
from uploaded files, so such a cell could run a formula (or a DDE command) on a supervisor's
machine. In .xlsx it is written as a text cell with Excel's quote prefix, so it shows exactly as
typed and stays text when edited; in CSV it gets a leading apostrophe (OWASP's advice). Plain
numbers and E.164 phones (``+8613812345678``, ``-3``) are left alone: they are not formulas.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo
from enum import Enum
from pathlib import Path
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d ]*(\.\d+)?$")

# The missed list's columns in a file a supervisor opens (the JSON has every field).
MISSED_COLUMNS = [
    "employee_no",
    "name",
    "department",
    "grid_unit",
    "role",
    "category",
    "phone",
    "site",
    "slot_start",
    "tests_this_week",
    "required",
    "compliant_this_week",
    "last_test_date",
    "weeks_missed_in_row",
]
MISSED_HEADERS: dict[str, str] = {
    "employee_no": "工号 Employee no.",
    "name": "姓名 Name",
    "department": "部门 Department",
    "grid_unit": "网格 Grid unit",
    "role": "岗位 Role",
    "category": "风险类别 Category",
    "phone": "手机 Phone",
    "site": "采样点 Site",
    "slot_start": "漏检时段 Slot missed",
    "tests_this_week": "本周已检 Tests this week",
    "required": "应检 Required",
    "compliant_this_week": "本周达标 Compliant",
    "last_test_date": "最近检测 Last test",
    "weeks_missed_in_row": "连续漏检周数 Weeks missed in a row",
}


def is_dangerous(value: str) -> bool:
    """True for text Excel would read as a formula (and that is not just a signed number)."""
    return value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value)


Row = Mapping[str, Any] | object


def cell(row: Row, column: str) -> Any:
    """``row``'s value of ``column``: a mapping's item or an object's attribute (None if none)."""
    if isinstance(row, Mapping):
        return row.get(column)
    return getattr(row, column, None)


def csv_safe(value: Any, tz: tzinfo | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return (value.astimezone(tz) if tz is not None else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        value = value.value
    text = str(value)
    return "'" + text if is_dangerous(text) else text


def write_csv(
    out: IO[str], rows: Sequence[Row], columns: Sequence[str], *, tz: tzinfo | None = None
) -> None:
    """``columns`` of ``rows`` under a header row; times in ``tz``."""
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(cell(row, c), tz) for c in columns])


def _display_width(text: str) -> int:
    # CJK characters take two columns in Excel's default fonts.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _excel_value(value: Any, tz: tzinfo | None) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones: the wall-clock time in the zone the reader lives in.
        return (value.astimezone(tz) if tz is not None else value).replace(tzinfo=None)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


def write_xlsx(
    target: Path | IO[bytes],
    rows: Sequence[Row],
    columns: Sequence[str],
    *,
    headers: Mapping[str, str] | None = None,
    title: str = "Sheet1",
    tz: tzinfo | None = None,
) -> None:
    """A formatted workbook: bold shaded header, frozen header row, auto-filter, fitted widths;
    times as date-time cells of their wall-clock time in ``tz``."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = re.sub(r"[\\/*?:\[\]]", "-", title)[:31] or "Sheet1"
    names = [(headers or {}).get(c, c) for c in columns]
    ws.append(names)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for header in ws[1]:
        header.font, header.fill = bold, fill
        header.alignment = Alignment(vertical="center", wrap_text=True)
    widths = [_display_width(str(n)) for n in names]
    for r, row in enumerate(rows, start=2):
        for c, column in enumerate(columns, start=1):
            value = _excel_value(cell(row, column), tz)
            out = ws.cell(row=r, column=c, value=value if not isinstance(value, str) else None)
            if isinstance(value, str):
                out.value = value
                if value.startswith(FORMULA_START):
                    # openpyxl turns a leading "=" into a formula; force text, and set Excel's
                    # quote prefix so editing the cell keeps it text.
                    out.data_type = "s"
                    out.quotePrefix = True
            elif isinstance(value, datetime):
                out.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                out.number_format = "yyyy-mm-dd"
            shown = 16 if isinstance(value, datetime) else len(str(value or ""))
            if isinstance(value, str):
                shown = _display_width(value)
            widths[c - 1] = max(widths[c - 1], shown)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 50)
    ws.freeze_panes = "A2"
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A1:{last}{max(len(rows) + 1, 1)}"
    wb.save(target)

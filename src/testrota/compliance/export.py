"""Writing lists for people to open in Excel: formatted .xlsx and CSV, both injection-safe.

A cell that begins with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel. Names and roles come
from uploaded files, so such a cell could run a formula (or a DDE command) on a supervisor's
machine. In .xlsx it is written as a text cell with Excel's quote prefix, so it shows exactly as
typed and stays text when edited; in CSV it gets a leading apostrophe (OWASP's advice). Plain
numbers and E.164 phones (``+8613812345678``, ``-3``) are left alone: they are not formulas.
"""

from __future__ import annotations

import contextlib
import csv
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d ]*(\.\d+)?$")

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


def csv_safe(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if is_dangerous(text) else text


def write_csv(out: IO[str], rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(row.get(c)) for c in columns])


def _display_width(text: str) -> int:
    # CJK characters take two columns in Excel's default fonts.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _excel_value(value: Any, column: str, datetime_columns: set[str]) -> Any:
    if value is None:
        return None
    if column in datetime_columns and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        # Excel has no time zones: write the local wall-clock time the text showed.
        return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


def write_xlsx(
    target: Path | IO[bytes],
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    headers: Mapping[str, str] | None = None,
    title: str = "Sheet1",
    datetime_columns: Sequence[str] = (),
    date_columns: Sequence[str] = (),
) -> None:
    """A formatted workbook: bold shaded header, frozen header row, auto-filter, fitted widths."""
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
    for cell in ws[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    widths = [_display_width(str(n)) for n in names]
    dt_cols, d_cols = set(datetime_columns), set(date_columns)
    for r, row in enumerate(rows, start=2):
        for c, column in enumerate(columns, start=1):
            value = _excel_value(row.get(column), column, dt_cols)
            if column in d_cols and isinstance(value, str):
                with contextlib.suppress(ValueError):
                    value = date.fromisoformat(value)
            cell = ws.cell(row=r, column=c, value=value if not isinstance(value, str) else None)
            if isinstance(value, str):
                cell.value = value
                if value.startswith(FORMULA_START):
                    # openpyxl turns a leading "=" into a formula; force text, and set Excel's
                    # quote prefix so editing the cell keeps it text.
                    cell.data_type = "s"
                    cell.quotePrefix = True
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
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

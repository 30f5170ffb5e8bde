"""The daily report as the epidemic-control offices exchange it: an .xlsx with a title, two
header rows (groups merged over their columns), one line per unit indented by level with the
units above others shaded as their subtotals, a total per level at the foot, frozen panes and
A4-landscape print settings. CSV rows for the same figures.

Unit names come from rosters, so a name that Excel would read as a formula is written as text
(with the quote prefix), as :mod:`testrota.compliance.export` does for every list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, tzinfo
from pathlib import Path
from typing import IO, Any

from testrota.compliance.export import FORMULA_START
from testrota.org.daily import NONE_GIVEN, DailyRow

# (group header, [(field, header)]); the untested reasons are filled in per policy.
_UNIT = ("单位 Unit", [("level_name", "层级 Level"), ("name", "单位 Unit"), ("code", "编码 Code")])
_PEOPLE = (
    "人数 People",
    [
        ("people", "合计 Total"),
        ("employees", "职工 Employees"),
        ("co_residents", "共同居住 Co-residents"),
        ("third_party", "第三方 Third-party"),
    ],
)
_TESTING = (
    "检测 Testing",
    [
        ("required", "应检 Required"),
        ("tested", "实检 Tested"),
        ("rate", "检测率 Rate"),
        ("extra", "非应检已检 Extra"),
    ],
)
_SAMPLES = (
    "采样 Samples",
    [
        ("pooled", "混采 Pooled"),
        ("single", "单采 Single"),
        ("pool_positive", "混阳 Pool positive"),
        ("positive", "阳性 Positive"),
    ],
)
_VACCINE = ("疫苗 Vaccination", [("booster_share", "加强针 Booster share")])
_MODE = (
    "模式 Mode",
    [
        ("mode", "应急模式 Emergency mode"),
        ("key_posts", "关键岗位 Key posts"),
        ("key_posts_covered", "已检 Tested"),
    ],
)
_CONFIRM = (
    "确认 Confirmation",
    [
        ("confirmed_by", "确认人 By"),
        ("confirmed_at", "时间 At"),
        ("confirmed_changed", "确认后变更 Changed since"),
        ("confirmed_note", "备注 Note"),
    ],
)
_PERCENT = frozenset({"rate", "booster_share"})


def groups(reasons: Mapping[str, str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The report's column groups; the untested group has one column per reason code."""
    untested = (
        "未检 Untested",
        [("untested", "合计 Total"), (f"untested_{NONE_GIVEN}", "未说明 None given")]
        + [(f"untested_{code}", label) for code, label in reasons.items()],
    )
    return [_UNIT, _PEOPLE, _TESTING, untested, _SAMPLES, _VACCINE, _MODE, _CONFIRM]


def flat(row: DailyRow, tz: tzinfo | None = None) -> dict[str, Any]:
    """One row's figures as flat cells: untested reasons and the confirmation spread out."""
    out: dict[str, Any] = {
        k: getattr(row, k)
        for k in (
            "path",
            "name",
            "level",
            "level_name",
            "kind",
            "code",
            "people",
            "employees",
            "co_residents",
            "third_party",
            "required",
            "tested",
            "untested",
            "rate",
            "extra",
            "pooled",
            "single",
            "pool_positive",
            "positive",
            "booster_share",
            "mode",
            "key_posts",
            "key_posts_covered",
        )
    }
    for code, n in row.untested_by_reason.items():
        out[f"untested_{code}"] = n
    conf = row.confirmed or {}
    at = conf.get("at")
    out["confirmed_by"] = conf.get("by")
    out["confirmed_at"] = at.astimezone(tz) if at is not None and tz is not None else at
    out["confirmed_note"] = conf.get("note")
    out["confirmed_changed"] = conf.get("changed") if conf else None
    return out


def csv_columns(reasons: Mapping[str, str]) -> list[str]:
    cols = ["path", "name", "level", "level_name", "kind", "code"]
    for _, fields in groups(reasons)[1:]:
        cols += [f for f, _ in fields]
    return cols


def write_daily_xlsx(
    target: Path | IO[bytes],
    rows: Sequence[DailyRow],
    *,
    reasons: Mapping[str, str],
    day: date,
    unit: str,
    tz: tzinfo | None = None,
) -> None:
    """The daily report workbook of ``rows`` (parents before children, as ``roll_up`` gives)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.page import PageMargins

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"日报 {day.isoformat()}"
    cols = groups(reasons)
    fields = [f for _, fs in cols for f, _ in fs]
    width = len(fields)
    last = get_column_letter(width)
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    bold = Font(bold=True)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)

    title = ws.cell(row=1, column=1)
    _put(title, f"{unit} 核酸检测日报 Daily testing report {day}", "title")
    title.font = Font(bold=True, size=14)
    ws.merge_cells(f"A1:{last}1")
    # Two header rows: the group over its columns (merged), each column's own header below; a
    # group of one column is merged downwards instead.
    c = 1
    for group, fs in cols:
        top = ws.cell(row=2, column=c, value=group)
        if len(fs) > 1:
            ws.merge_cells(start_row=2, start_column=c, end_row=2, end_column=c + len(fs) - 1)
        for i, (_, header) in enumerate(fs):
            ws.cell(row=3, column=c + i, value=header)
        if len(fs) == 1:
            ws.cell(row=3, column=c, value=None)
            ws.merge_cells(start_row=2, start_column=c, end_row=3, end_column=c)
            top.value = f"{group}\n{fs[0][1]}"
        c += len(fs)
    for r in (2, 3):
        for col in range(1, width + 1):
            cell = ws.cell(row=r, column=col)
            cell.font, cell.fill, cell.alignment, cell.border = bold, head_fill, centre, box

    has_children = {r.parent_path for r in rows if r.parent_path is not None}
    base = min((r.level for r in rows), default=0)
    shades = ["FCE4D6", "FFF2CC", "E2EFDA", "EDEDED"]
    r = 4
    for row in rows:
        values = flat(row, tz)
        subtotal = row.path in has_children
        for col, name in enumerate(fields, start=1):
            cell = ws.cell(row=r, column=col)
            _put(cell, values.get(name), name)
            cell.border = box
            if subtotal:
                cell.font = bold
                cell.fill = PatternFill("solid", fgColor=shades[min(row.level - base, 3)])
        ws.cell(row=r, column=2).alignment = Alignment(indent=min(row.level - base, 15))
        r += 1

    # A total per level: the units of one depth together (each already includes its own
    # descendants, so every level that is complete adds up to the whole).
    r += 1
    ws.cell(row=r, column=1, value="按层级合计 Totals by level").font = bold
    ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=3)
    r += 1
    for level in sorted({x.level for x in rows}):
        at_level = [x for x in rows if x.level == level and x.kind == "unit"]
        if not at_level:
            continue
        total = _sum(at_level)
        total["level_name"] = at_level[0].level_name
        total["name"] = f"{len(at_level)} 个单位 units"
        for col, name in enumerate(fields, start=1):
            cell = ws.cell(row=r, column=col)
            _put(cell, total.get(name), name)
            cell.border, cell.font = box, bold
        r += 1

    for col, name in enumerate(fields, start=1):
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = 24 if name in ("name", "confirmed_note") else 11
    ws.row_dimensions[3].height = 42
    ws.freeze_panes = "C4"  # the unit's level and name stay in view, with both header rows
    ws.print_title_rows = "2:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.print_options.horizontalCentered = True
    wb.save(target)


def _sum(rows: Sequence[DailyRow]) -> dict[str, Any]:
    keys = [
        "people",
        "employees",
        "co_residents",
        "third_party",
        "required",
        "tested",
        "untested",
        "extra",
        "pooled",
        "single",
        "pool_positive",
        "positive",
    ]
    out: dict[str, Any] = {k: sum(getattr(x, k) for x in rows) for k in keys}
    for x in rows:
        for code, n in x.untested_by_reason.items():
            out[f"untested_{code}"] = out.get(f"untested_{code}", 0) + n
    out["rate"] = round(out["tested"] / out["required"], 4) if out["required"] else None
    boosted = sum((x.booster_share or 0) * x.people for x in rows)
    out["booster_share"] = round(boosted / out["people"], 4) if out["people"] else None
    return out


def _put(cell: Any, value: Any, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        cell.value = "是 yes" if value else "否 no"
        return
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        cell.value = value.replace(tzinfo=None)  # Excel has no zones: the local wall clock
        cell.number_format = "yyyy-mm-dd hh:mm"
        return
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_START):
        # openpyxl would write a leading "=" as a formula: keep it text, as typed.
        cell.data_type = "s"
        cell.quotePrefix = True
    elif name in _PERCENT:
        cell.number_format = "0.0%"

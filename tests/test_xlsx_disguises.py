"""A sheet's cells laid out as no common writer lays them out, but as calamine still reads
them: the survey must see the same cells calamine will, or a 2 KB file makes calamine build a
grid of half a terabyte (found in review: a newline before ``r``, a prefix on the cells only,
self-closing rows and cells, a second ``r``, a twin part in another case, a sheet hidden in a
comment). Each attack is read in a child whose memory is capped; then what the clerk sees in
the same layouts, and files that are valid though unusual."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest

from testrota.errors import UserError
from testrota.policy import ImportPolicy
from testrota.roster.reader import column_letter, read_workbook
from testrota.roster.survey import DamagedPart
from testrota.roster.xlsx_parts import XlsxPackage
from tests.damaged_files import _xlsx, people_rows, sheet_xml
from tests.test_damaged_files import ALIASES, REQUIRED_FIELDS, read_capped

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADER = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
FAR = "XFD1048576"


def _sheet(body: str, root: str = "", cells: str = "") -> str:
    """A sheet whose root (and sheetData) carry the prefix ``root`` ("" or "x:")."""
    xmlns = f'xmlns:{root[:-1]}="{NS}"' if root else f'xmlns="{NS}"'
    if cells and cells != root:
        xmlns += f' xmlns:{cells[:-1]}="{NS}"'
    return f"<{root}worksheet {xmlns}><{root}sheetData>{body}</{root}sheetData></{root}worksheet>"


def _people(prefix: str = "") -> str:
    return "".join(
        f'<{prefix}row r="{r}"><{prefix}c r="A{r}"><{prefix}v>{10000 + r}</{prefix}v></{prefix}c>'
        f'<{prefix}c r="B{r}" t="inlineStr"><{prefix}is><{prefix}t>张</{prefix}t></{prefix}is>'
        f"</{prefix}c></{prefix}row>"
        for r in range(2, 4)
    )


DISGUISES: dict[str, bytes] = {
    "newline-before-r.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="4"><c\nr="{FAR}"><v>1</v></c></row>'
            )
        }
    ),
    "tab-before-r.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="4"><c\tr="{FAR}" s="0"><v>1</v></c></row>'
            )
        }
    ),
    "prefixed-cell.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": _sheet(
                HEADER + _people() + f'<row r="4"><x:c r="{FAR}"><x:v>1</x:v></x:c></row>',
                cells="x:",
            )
        }
    ),
    "unprefixed-cell-under-prefixed-root.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": _sheet(
                HEADER.replace("<row", "<x:row")
                .replace("</row", "</x:row")
                .replace("<c ", "<x:c ")
                .replace("</c>", "</x:c>")
                .replace("<v>", "<x:v>")
                .replace("</v>", "</x:v>")
                + _people("x:")
                + f'<x:row r="4"><c xmlns="{NS}" r="{FAR}"><v>1</v></c></x:row>',
                root="x:",
            )
        }
    ),
    "self-closing-rows-and-cells.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3)
                + '<row r="1048575"/><row>'
                + "<c/>" * 16383
                + "<c><v>1</v></c></row>"
            )
        }
    ),
    "second-r.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="4"><c r="A4" r="{FAR}"><v>1</v></c></row>'
            )
        }
    ),
    "twin-part-in-another-case.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 3)),
            "xl/worksheets/SHEET1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="1048576"><c r="{FAR}"><v>1</v></c></row>'
            ),
        }
    ),
    # found in review of stop 41: the exact walk read a tag to its first ">", took the last r,
    # and knew prefixes of letters and digits only; calamine's XML reader reads quotes, takes
    # an r once, and calls anything before a name's first colon its prefix
    "quoted-slash-gt-looks-self-closing.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="4"><c r="{FAR}" x="/>"><v>1</v></c></row>'
            )
        }
    ),
    "quoted-gt-before-r.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="4"><c x=">" r="{FAR}"><v>1</v></c></row>'
            )
        }
    ),
    "r-again-after-s-and-t.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="4"><c r="{FAR}" s="0" t="n" r="B4"><v>1</v></c></row>'
            )
        }
    ),
    "r-inside-a-non-ascii-attribute.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="4"><c r="{FAR}" é="r=\'B4\'"><v>1</v></c></row>'
            )
        }
    ),
    "empty-prefix-cell.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="4"><:c r="{FAR}"><v>1</v></:c></row>'
            )
        }
    ),
    "non-ascii-prefix-cell.xlsx": _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="4"><é:c r="{FAR}"><v>1</v></é:c></row>'
            )
        }
    ),
    "sheet-in-a-comment.xlsx": _xlsx(
        {
            "xl/workbook.xml": f'<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets><sheet '
            'name="花名册" sheetId="1" r:id="rId1"/><!-- <sheet name="花名册" sheetId="2" '
            'r:id="rId9"/> --></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId9" '
            f'Type="{REL}/worksheet" Target="worksheets/sheet2.xml"/></Relationships>',
            "xl/worksheets/sheet1.xml": sheet_xml(
                people_rows(2, 3) + f'<row r="1048576"><c r="{FAR}"><v>1</v></c></row>'
            ),
            "xl/worksheets/sheet2.xml": sheet_xml(people_rows(2, 3)),
        }
    ),
}


# A tag no office software writes, which a reader could take two ways: refused as damaged.
DAMAGED = {
    "twin-part-in-another-case.xlsx": "twice",
    "second-r.xlsx": "r twice",
    "r-again-after-s-and-t.xlsx": "r twice",
    "quoted-slash-gt-looks-self-closing.xlsx": "tag that XML cannot read",
    "quoted-gt-before-r.xlsx": "tag that XML cannot read",
}


@pytest.mark.parametrize("isolate", [True, False], ids=["bounded", "in-process"])
def test_far_cells_in_disguise_are_refused_and_named(tmp_path: Path, isolate: bool) -> None:
    """In process the survey refuses them before calamine reads; bounded, calamine's read
    ends at the child's limits and the survey then names what is wrong."""
    results = read_capped(DISGUISES, tmp_path, isolate=isolate)
    for name, r in results.items():
        assert r["outcome"] == "refused", (name, r)
        if name in DAMAGED:
            assert "damaged" in r["message"] and DAMAGED[name] in r["message"], r
        else:
            assert "1,048,576 rows" in r["message"], (name, r)
            assert "import.max_rows" in r["message"], (name, r)


def _read(tmp_path: Path, name: str, data: bytes) -> dict[str, list[str]]:
    path = tmp_path / name
    path.write_bytes(data)
    book = read_workbook(path, ALIASES, REQUIRED_FIELDS, ImportPolicy())
    return book.sheets[0].data


STYLES = (
    f'<styleSheet xmlns="{NS}"><numFmts count="1"><numFmt numFmtId="164" formatCode="000000"/>'
    '</numFmts><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders '
    'count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs>'
    "</styleSheet>"
)
RELS_WITH_STYLES = (
    f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/worksheet" '
    f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL}/sharedStrings" '
    f'Target="sharedStrings.xml"/><Relationship Id="rId3" Type="{REL}/styles" '
    'Target="Styles.xml"/></Relationships>'
)


def _padded(body: str, **parts: str) -> bytes:
    return _xlsx(
        {
            "xl/_rels/workbook.xml.rels": RELS_WITH_STYLES,
            "xl/Styles.xml": STYLES,
            "xl/worksheets/sheet1.xml": body,
            **parts,
        }
    )


def _padded_row(prefix: str = "", before: str = "") -> str:
    return (
        f'<{prefix}row r="2">{before}<{prefix}c r="A2" s="1"><{prefix}v>3002</{prefix}v>'
        f'</{prefix}c><{prefix}c r="B2" t="inlineStr"><{prefix}is><{prefix}t>张</{prefix}t>'
        f"</{prefix}is></{prefix}c></{prefix}row>"
    )


@pytest.mark.parametrize(
    "body",
    [
        sheet_xml(_padded_row()),
        _sheet(HEADER + _padded_row("x:"), cells="x:"),  # prefixed cells, plain root
        sheet_xml(_padded_row(before='<c r="C2"/>')),  # an empty cell before it
        sheet_xml(_padded_row().replace('<c r="A2"', '<c\nr="A2"')),
        sheet_xml(_padded_row().replace('r="A2"', 'r="a2"').replace('r="B2"', 'r="b2"')),
    ],
    ids=["plain", "prefixed-cells", "empty-cell-first", "newline", "lower-case-refs"],
)
def test_a_padded_employee_number_reads_as_shown_in_every_layout(tmp_path: Path, body: str) -> None:
    """The styles part named by the workbook's relationships (``Styles.xml`` here), and the
    number formatted 000000 as the clerk sees it, whatever the layout."""
    data = _read(tmp_path, "padded.xlsx", _padded(body))
    assert data["employee_no"] == ["003002"]


def test_a_part_named_in_another_case_than_its_relationship_is_found(tmp_path: Path) -> None:
    rels = RELS_WITH_STYLES.replace("worksheets/sheet1.xml", "Worksheets/Sheet1.xml")
    data = _read(
        tmp_path,
        "case.xlsx",
        _padded(sheet_xml(_padded_row()), **{"xl/_rels/workbook.xml.rels": rels}),
    )
    assert data["employee_no"] == ["003002"]


def test_a_sheet_named_twice_is_refused_as_damaged(tmp_path: Path) -> None:
    twice = _xlsx(
        {
            "xl/workbook.xml": f'<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets><sheet '
            'name="花名册" sheetId="1" r:id="rId1"/><sheet name="花名册" sheetId="2" r:id="rId1"/>'
            "</sheets></workbook>",
            "xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 3)),
        }
    )
    path = tmp_path / "twice.xlsx"
    path.write_bytes(twice)
    with pytest.raises(UserError, match="damaged"):
        read_workbook(path, ALIASES, REQUIRED_FIELDS, ImportPolicy())


def test_a_conditional_formats_number_format_does_not_replace_the_cells_own(
    tmp_path: Path,
) -> None:
    """``<dxfs>`` (conditional formatting) lists number formats too, and may reuse an id: the
    cells' format is the one in ``<numFmts>``."""
    styles = STYLES.replace(
        "</styleSheet>",
        '<dxfs count="1"><dxf><numFmt numFmtId="164" formatCode="00000000"/></dxf></dxfs>'
        "</styleSheet>",
    )
    data = _read(
        tmp_path, "dxf.xlsx", _padded(sheet_xml(_padded_row()), **{"xl/Styles.xml": styles})
    )
    assert data["employee_no"] == ["003002"]


def _irregular_sheet(rng: random.Random) -> str:
    """Rows and cells under mixed prefixes, with and without r (in any quotes, after a
    newline, twice), self-closing or not."""
    root = rng.choice(["", "x:"])

    def ref() -> str:
        at = f"{column_letter(rng.randint(0, 30))}{rng.randint(1, 40)}"
        written = rng.choice(["", f' r="{at}"', f'\nr="{at}"', f" r='{at}'"])
        if rng.random() < 0.1:
            written += f' r="{column_letter(rng.randint(0, 30))}{rng.randint(1, 40)}"'
        return written

    rows = []
    for _ in range(rng.randint(1, 6)):
        pre = rng.choice([root, root, "", "y:"])
        row_r = rng.choice(["", f' r="{rng.randint(1, 40)}"'])
        if rng.random() < 0.15:
            rows.append(f"<{pre}row{row_r}/>")
            continue
        cells = []
        for _ in range(rng.randint(0, 5)):
            cp = rng.choice([pre, pre, root, "", "y:"])
            if rng.random() < 0.25:
                cells.append(f"<{cp}c{ref()}/>")
            else:
                cells.append(f"<{cp}c{ref()}><{cp}v>{rng.randint(0, 9)}</{cp}v></{cp}c>")
        rows.append(f"<{pre}row{row_r}>{''.join(cells)}</{pre}row>")
    ns = f'xmlns:x="{NS}" xmlns:y="{NS}" xmlns="{NS}"'
    body = "".join(rows)
    return f"<{root}worksheet {ns}><{root}sheetData>{body}</{root}sheetData></{root}worksheet>"


def test_the_survey_reaches_as_far_as_calamine_on_irregular_sheets() -> None:
    """Small sheets laid out every odd way (calamine's grid for them is tiny): the survey's
    extent is never short of calamine's own. The code before fell short on 1,385 of 3,000."""
    from python_calamine import CalamineWorkbook

    rng = random.Random(40)
    compared = 0
    for _ in range(600):
        data = _xlsx({"xl/worksheets/sheet1.xml": _irregular_sheet(rng)})
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            end = book.get_sheet_by_name(book.sheet_names[0]).end
        except BaseException:  # calamine refuses some (a Rust panic): nothing to compare
            continue
        if end is None:
            continue
        package = XlsxPackage.open(data, zipfile.ZipFile(io.BytesIO(data)))
        try:
            survey = package.survey(book.sheet_names[0], 300_000, 10_000_000)
        except DamagedPart:
            continue  # a tag read two ways (r twice): refused, which is never short
        assert survey.rows >= end[0] + 1 and survey.columns >= end[1] + 1
        compared += 1
    assert compared > 300


# --- formatted empty cells ---------------------------------------------------------------------


def test_a_roster_formatted_down_to_the_last_row_and_column_is_read(tmp_path: Path) -> None:
    """A clerk's borders or bold down to row 1,048,576 and across to XFD (as Excel, WPS and
    openpyxl write them: self-closing styled cells, the <dimension> spanning them) hold no
    cell: calamine reads two people, and so must the import. It was refused as 1,048,576 rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Border, Font, Side

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["工号", "姓名", "部门", "岗位", "手机号"])
    ws.append(["001002", "张三", "炼钢厂", "司机", "13800138000"])
    ws.append(["001003", "李四", "炼钢厂", "食堂", "13800138001"])
    line = Side(style="thin")
    for col in "ABCDE":
        ws[f"{col}1048576"].border = Border(bottom=line)
    ws["XFD1"].font = Font(bold=True)
    path = tmp_path / "formatted.xlsx"
    wb.save(path)
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:XFD1048576"' in sheet and b'r="E1048576"' in sheet
    data = read_workbook(path, ALIASES, REQUIRED_FIELDS, ImportPolicy()).sheets[0].data
    assert data["employee_no"] == ["001002", "001003"] and data["name"] == ["张三", "李四"]


def _canonical_sheet(rng: random.Random) -> str:
    """Cells laid out as office software writes them (r first, then s and t), some with a
    value, some formatted and empty (self-closing) anywhere up to XFD1048576."""
    taken: dict[int, dict[int, str]] = {}

    def put(row: int, col: int, xml: str) -> None:
        taken.setdefault(row, {}).setdefault(col, xml)

    for _ in range(rng.randint(0, 12)):
        row, col = rng.randint(1, 60), rng.randint(0, 39)
        put(row, col, f'<c r="{column_letter(col)}{row}"><v>{rng.randint(0, 9)}</v></c>')
    for _ in range(rng.randint(0, 6)):
        row = rng.choice([rng.randint(1, 60), 1_048_576, rng.randint(61, 1_048_576)])
        col = rng.choice([rng.randint(0, 39), 16_383, rng.randint(40, 16_383)])
        attrs = rng.choice([' s="1"', ' s="1" t="n"', "", ' t="s"']) + rng.choice(["", " "])
        put(row, col, f'<c r="{column_letter(col)}{row}"{attrs}/>')
    body = "".join(
        f'<row r="{row}">' + "".join(xml for _, xml in sorted(cells.items())) + "</row>"
        for row, cells in sorted(taken.items())
    )
    return f'<worksheet xmlns="{NS}"><sheetData>{body}</sheetData></worksheet>'


def test_the_survey_refuses_a_sheet_exactly_when_calamines_grid_is_over_the_limits() -> None:
    """No false refusal for formatted empty cells, and none missed for cells with a value:
    with limits of 50 rows and 1,500 cells, the survey refuses a sheet if and only if
    calamine's own extent is over them, and otherwise reaches at least as far."""
    from python_calamine import CalamineWorkbook

    from testrota.roster.survey import SheetTooLarge

    rng = random.Random(41)
    outcomes = {"refused": 0, "read": 0}
    for _ in range(800):
        data = _xlsx({"xl/worksheets/sheet1.xml": _canonical_sheet(rng)})
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        name = book.sheet_names[0]
        end = book.get_sheet_by_name(name).end
        rows, columns = (end[0] + 1, end[1] + 1) if end is not None else (0, 0)
        over = rows > 50 or rows * columns > 1_500
        package = XlsxPackage.open(data, zipfile.ZipFile(io.BytesIO(data)))
        try:
            survey = package.survey(name, 50, 1_500)
        except SheetTooLarge:
            assert over, (rows, columns)
            outcomes["refused"] += 1
            continue
        assert not over, (rows, columns)
        assert survey.rows >= rows and survey.columns >= columns
        outcomes["read"] += 1
    assert min(outcomes.values()) > 150, outcomes

"""Writes the office fixtures in this folder from one sheet, through LibreOffice.

    python tests/data/office/make_office_files.py      (needs `soffice`, e.g. Debian's
                                                       libreoffice-calc-nogui)

``roster.fods`` is the sheet, as flat OpenDocument XML: a roster whose 工号 and
共同居住职工工号 columns hold numbers formatted ``000000`` (Calc shows 3002 as 003002). LibreOffice
Calc then saves it as .xlsx, Excel 97 .xls, .ods and a GB18030 CSV of the text as shown, the way a
clerk's "Save as" does. The tests read the committed files, so they do not need LibreOffice.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
HEADER = ["序号", "工号", "姓名", "部门", "网格", "岗位", "手机号", "人员类别", "共同居住职工工号"]
# (employee number, name, department, grid, role, phone, person type, host employee number)
PEOPLE: list[tuple[int | str, str, str, str, str, int, str, int | None]] = [
    (3002, "张伟", "炼钢厂", "甲班", "炼钢工", 13812345678, "职工", None),
    (8002, "王芳", "后勤中心", "食堂网格", "食堂厨师", 13812345601, "职工", None),
    (117, "李强", "运输部", "汽运网格", "叉车司机", 13812345603, "第三方", None),
    (123456, "赵敏", "炼钢厂", "乙班", "天车工", 13812345604, "职工", None),
    (1234567, "刘洋", "冷轧厂", "丙班", "酸洗工", 13812345605, "职工", None),
    ("000999", "孙丽", "质检计量中心", "化验网格", "化验员", 13812345606, "职工", None),
    (4005, "陈静", "炼钢厂", "甲班", "家属", 13812345607, "共同居住人", 3002),
]
# What Calc shows in the 工号 column, row by row: the tests compare against this.
SHOWN = ["003002", "008002", "000117", "123456", "1234567", "000999", "004005"]

CONVERSIONS = {
    "roster.xlsx": "xlsx:Calc MS Excel 2007 XML",
    "roster.xls": "xls:MS Excel 97",
    "roster.ods": "ods:calc8",
    # separator ",", quote '"', character set 85 (GB18030 in LibreOffice's numbering), first line 1,
    # no column types, language default, quote all text off, special numbers, cells as shown.
    "roster-gb18030.csv": "csv:Text - txt - csv (StarCalc):44,34,85,1,,0,false,true,true",
}


def cell(value: int | str | None, padded: bool = False) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, int):
        style = ' table:style-name="ce_padded"' if padded else ""
        shown = f"{value:06d}" if padded else str(value)
        return (
            f'<table:table-cell{style} office:value-type="float" office:value="{value}">'
            f"<text:p>{shown}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p>'
        "</table:table-cell>"
    )


def fods() -> str:
    rows = ["<table:table-row>" + "".join(cell(h) for h in HEADER) + "</table:table-row>"]
    for i, (no, name, dept, grid, role, phone, kind, host) in enumerate(PEOPLE, start=1):
        cells = [
            cell(i),
            cell(no, padded=True),
            cell(name),
            cell(dept),
            cell(grid),
            cell(role),
            cell(phone),
            cell(kind),
            cell(host, padded=True),
        ]
        rows.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
 <office:automatic-styles>
  <number:number-style style:name="N_padded">
   <number:number number:decimal-places="0" number:min-decimal-places="0"
    number:min-integer-digits="6"/>
  </number:number-style>
  <style:style style:name="ce_padded" style:family="table-cell"
   style:parent-style-name="Default" style:data-style-name="N_padded"/>
 </office:automatic-styles>
 <office:body>
  <office:spreadsheet>
   <table:table table:name="花名册">
    <table:table-column table:number-columns-repeated="9"/>
    {"".join(rows)}
   </table:table>
  </office:spreadsheet>
 </office:body>
</office:document>
"""


def main() -> int:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        print("soffice not found: apt-get install libreoffice-calc-nogui", file=sys.stderr)
        return 1
    source = HERE / "roster.fods"
    source.write_text(fods(), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile, tempfile.TemporaryDirectory() as out:
        for target, filter_name in CONVERSIONS.items():
            subprocess.run(
                [
                    soffice,
                    f"-env:UserInstallation=file://{profile}",
                    "--headless",
                    "--convert-to",
                    filter_name,
                    "--outdir",
                    out,
                    str(source),
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
            produced = Path(out) / f"roster.{filter_name.split(':')[0]}"
            shutil.move(produced, HERE / target)
            print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

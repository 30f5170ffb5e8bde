"""A synthetic roster of N people for the import benchmark.

    python benchmarks/generate_roster.py 100000 /tmp/roster-100k.xlsx [--seed 42] [--padded]

or ``generate_roster(n, path)`` from Python. The workbook looks like a group's HR export: a
merged title row, then 工号 (half number cells, half zero-padded text), 姓名, 部门 (about 40),
网格 (about 400), 岗位 (about 2,000 distinct titles, a few very common, most rare, the seed's
high-risk jobs among them), 手机号 (number cells and the spellings people type), 人员类别
(职工 / 第三方 / 外包 / 劳务派遣) and 班次.

The sheet XML is written directly, as Excel lays it out (shared strings, styles), because
openpyxl even in write-only mode takes about 7 s for 100,000 rows; this takes about one.
"""

from __future__ import annotations

import argparse
import random
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

HEADER = ["工号", "姓名", "部门", "网格", "岗位", "手机号", "人员类别", "班次"]
TITLE = "本钢集团职工花名册（2022年5月）"

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志斌鹏飞宇浩然子轩欣"
    "怡佳琪俊峰海燕晓东春梅秋菊振华德胜永庆立新淑珍凤兰宏亮文博"
)
PLANTS = [
    "炼铁厂",
    "炼钢厂",
    "热连轧厂",
    "冷轧厂",
    "特殊钢厂",
    "能源总厂",
    "运输部",
    "物流中心",
    "设备检修中心",
    "质检计量中心",
    "后勤服务中心",
    "矿业公司",
    "焦化厂",
    "动力厂",
]
UNITS = ["一车间", "二车间", "三车间", "综合办公室"]
BASE_TITLES = [
    # ordinary steelworks work
    "炼钢工",
    "转炉炼钢工",
    "炉前工",
    "连铸工",
    "浇钢工",
    "轧钢工",
    "天车工",
    "行车工",
    "司磅员",
    "冷轧操作工",
    "酸洗工",
    "镀锌工",
    "烧结工",
    "高炉工",
    "焦炉调温工",
    "点检员",
    "电工",
    "钳工",
    "焊工",
    "管道工",
    "质检员",
    "化验员",
    "计量员",
    "安全员",
    "调度员",
    "统计员",
    "核算员",
    "材料员",
    "设备工程师",
    "工艺技术员",
    "车间主任",
    "班长",
    "仓库保管员",
    "起重工",
    "维修工",
    "仪表工",
    "水处理工",
    "空压机工",
    "风机工",
    "皮带工",
    "配料工",
    "精整工",
    "剪切工",
    "包装工",
    # the seed's high-risk work
    "进口矿石接卸工",
    "进口物资检验员",
    "冷链仓库管理员",
    "冷库保管员",
    "外卖配送员",
    "后勤服务员",
    "建筑工地施工员",
    "架子工",
    "食堂厨师",
    "食堂帮厨",
    "酒店服务员",
    "超市收银员",
    "学校教师",
    "公寓管理员",
    "通勤车司机",
    "货物接送员",
    "铁路调车员",
    "机车司机",
    "保洁员",
    "门卫",
    "叉车司机",
    "汽车司机",
]
QUALIFIERS = [
    "",
    "（A班）",
    "（B班）",
    "（C班）",
    "（D班）",
    "一级",
    "二级",
    "三级",
    "高级",
    "助理",
    "主管",
    "组长",
    "副班长",
    "（见习）",
    "（临时）",
    "（白班）",
    "（倒班）",
    "技师",
    "高级技师",
    "首席",
    "(外委)",
    "（兼职）",
    "领班",
    "带班",
    "（专职）",
    "（区域）",
    "（一线）",
    "（二线）",
    "（备岗）",
]
PERSON_TYPES = ["职工"] * 17 + ["第三方", "外包", "劳务派遣"]
SHIFTS = ["白班", "白班", "倒班", "三班倒", "夜班", "常白班", ""]
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
]

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
COLUMNS = "ABCDEFGH"


def distinct_titles(count: int = 2000) -> list[str]:
    """About ``count`` job titles: every base title with qualifiers and workplace prefixes."""
    titles: list[str] = []
    seen: set[str] = set()
    prefixes = ["", *(p.removesuffix("厂").removesuffix("中心") for p in PLANTS)]
    for prefix in prefixes:
        for qualifier in QUALIFIERS:
            for base in BASE_TITLES:
                title = f"{prefix}{base}{qualifier}"
                if title not in seen:
                    seen.add(title)
                    titles.append(title)
                if len(titles) >= count:
                    return titles
    return titles


def spelled_phone(rng: random.Random) -> str | int:
    number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    style = rng.randrange(8)
    if style < 3:
        return int(number)
    if style == 3:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if style == 4:
        return f"+86-{number[:3]}-{number[3:7]}-{number[7:]}"
    if style == 5:
        return "86" + number
    if style == 6:
        return f"+86 {number}"
    return number


def people(n: int, seed: int = 42) -> Iterator[list[str | int]]:
    """The rows of the roster, one list of cell values per person."""
    rng = random.Random(seed)
    titles = distinct_titles()
    # A few titles are very common (炼钢工 in every workshop), most are rare: Zipf-like weights.
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(titles))]
    departments = [f"{plant}{unit}" for plant in PLANTS for unit in UNITS][:40]
    grids = {d: [f"{d}网格{k:02d}" for k in range(1, 11)] for d in departments}
    picked_titles = rng.choices(titles, weights=weights, k=n)
    for i in range(n):
        dept = rng.choice(departments)
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        employee_no: str | int = 10_000_000 + i if i % 2 == 0 else f"{i:09d}"
        yield [
            employee_no,
            rng.choice(SURNAMES) + given,
            dept,
            rng.choice(grids[dept]),
            picked_titles[i],
            spelled_phone(rng),
            rng.choice(PERSON_TYPES),
            rng.choice(SHIFTS),
        ]


def generate_roster(n: int, out: Path, seed: int = 42, padded: bool = False) -> Path:
    """Write a roster of ``n`` people to ``out`` (.xlsx) and return the path.

    ``padded``: every employee number is a number cell formatted ``000000000``, as a clerk
    keeps leading zeros in Excel, instead of half numbers and half zero-padded text.
    """
    strings: dict[str, int] = {}

    def sid(text: str) -> int:
        index = strings.get(text)
        if index is None:
            index = strings[text] = len(strings)
        return index

    def cell(ref: str, value: str | int, header: bool = False, style: str = "") -> str:
        if isinstance(value, int):
            return f'<c r="{ref}"{style}><v>{value}</v></c>'
        if not value:
            return ""
        style = ' s="1"' if header else (' s="2"' if value.isdigit() else "")
        return f'<c r="{ref}" t="s"{style}><v>{sid(value)}</v></c>'

    out.parent.mkdir(parents=True, exist_ok=True)
    last_row = n + 2
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        book.writestr("xl/styles.xml", _STYLES)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_sheet_head(last_row).encode())
            sheet.write(f'<row r="1">{cell("A1", TITLE, header=True)}</row>'.encode())
            head = "".join(
                cell(f"{c}2", h, header=True) for c, h in zip(COLUMNS, HEADER, strict=True)
            )
            sheet.write(f'<row r="2">{head}</row>'.encode())
            chunk: list[str] = []
            for r, row in enumerate(people(n, seed), start=3):
                if padded:
                    row[0] = int(row[0])
                cells = "".join(
                    cell(f"{c}{r}", v, style=' s="3"' if padded and c == "A" else "")
                    for c, v in zip(COLUMNS, row, strict=True)
                )
                chunk.append(f'<row r="{r}">{cells}</row>')
                if len(chunk) == 5000:
                    sheet.write("".join(chunk).encode())
                    chunk = []
            sheet.write("".join(chunk).encode())
            sheet.write(
                b'</sheetData><mergeCells count="1"><mergeCell ref="A1:H1"/></mergeCells>'
                b"</worksheet>"
            )
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as sst:
            sst.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{NS}" '
                f'count="{len(strings)}" uniqueCount="{len(strings)}">'.encode()
            )
            items = [f"<si><t>{escape(text)}</t></si>" for text in strings]
            for start in range(0, len(items), 10000):
                sst.write("".join(items[start : start + 10000]).encode())
            sst.write(b"</sst>")
    return out


def _sheet_head(last_row: int) -> str:
    widths = [12, 10, 22, 26, 24, 20, 10, 8]
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS}" '
        f'xmlns:r="{REL_NS}"><dimension ref="A1:H{last_row}"/><sheetViews><sheetView '
        'workbookViewId="0"><pane ySplit="2" topLeftCell="A3" activePane="bottomLeft" '
        'state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{cols}</cols><sheetData>"
    )


_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/sharedStrings.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"""
_ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" \
Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"""
_WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{NS}" xmlns:r="{REL_NS}"><sheets>\
<sheet name="花名册" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG_REL_NS}">\
<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>\
<Relationship Id="rId3" Type="{REL_NS}/styles" Target="styles.xml"/></Relationships>"""
_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{NS}"><numFmts count="1"><numFmt numFmtId="164" formatCode="000000000"/>\
</numFmts><fonts count="2"><font><sz val="11"/><name val="等线"/></font>\
<font><b/><sz val="11"/><name val="等线"/></font></fonts><fills count="2"><fill>\
<patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic roster of N people (.xlsx).")
    parser.add_argument("n", type=int, help="number of people")
    parser.add_argument("out", type=Path, help="the .xlsx file to write")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--padded", action="store_true", help="employee numbers as number cells formatted 000000000"
    )
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("N must be at least 1")
    generate_roster(args.n, args.out, args.seed, padded=args.padded)
    print(f"wrote {args.n:,} people to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

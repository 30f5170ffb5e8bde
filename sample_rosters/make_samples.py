"""Write the sample rosters in this folder: ``python sample_rosters/make_samples.py``.

Three workbooks as HR departments really send them, seeded with ``Random(42)`` so the files are
the same byte for byte on every run (the tests regenerate them and compare):

* ``steelmaking_plant_zh_hans.xlsx``: a Simplified-Chinese plant roster, one sheet per
  department under a merged title row, 序号 column, 合计/制表人 footers, an instructions sheet
  and a summary sheet, and six deliberate row errors (see README.md);
* ``cold_rolling_mill_zh_hant.xlsx``: the same kind of roster in Traditional Chinese;
* ``logistics_centre_en.xlsx``: an English roster with a language column.

Each mixes the seed's sixteen high-risk kinds of work with ordinary steelworks jobs, third-party
staff and co-residents, and writes phone numbers in the spellings people type.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import phonenumbers
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

HERE = Path(__file__).resolve().parent
FIXED_TIME = (2022, 5, 9, 8, 0, 0)

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志斌鹏飞宇浩然子轩欣"
    "怡佳琪俊峰海燕晓东春梅秋菊振华德胜永庆立新淑珍凤兰宏亮文博"
)
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "155", "156", "157", "158", "159", "176", "177", "186", "187", "188",
                   "189", "198", "199"]

# The seed's sixteen high-risk kinds of work, as steelworks rosters title them.
HIGH_RISK_ROLES_ZH = [
    "进口矿石接卸工", "进口物资检验员", "冷链仓库管理员", "冷库保管员", "外卖配送员",
    "后勤服务员", "建筑工地施工员", "基建工地架子工", "食堂厨师", "食堂帮厨", "酒店服务员",
    "职工超市收银员", "子弟学校教师", "职工公寓管理员", "通勤车司机", "货物接送员",
    "铁路调车员", "铁路机车司机", "保洁员", "门卫", "叉车司机", "汽车司机",
]
ORDINARY_ROLES_ZH = [
    "炼钢工", "转炉炼钢工", "炉前工", "连铸工", "浇钢工", "轧钢工", "天车工", "司磅员",
    "冷轧操作工", "点检员", "电工", "钳工", "质检员", "化验员", "安全员", "调度员", "统计员",
    "设备工程师", "工艺技术员", "车间主任", "班长", "核算员", "材料员",
]
# High-risk jobs a production workshop itself has.
WORKSHOP_HIGH_RISK_ZH = ["保洁员", "门卫", "叉车司机", "汽车司机", "进口物资检验员", "后勤服务员",
                         "铁路调车员", "通勤车司机", "食堂帮厨"]
THIRD_PARTY_ROLES_ZH = ["保洁员", "门卫", "食堂帮厨", "装卸工", "叉车司机", "建筑工地施工员",
                        "通勤车司机", "设备检修工", "冷链仓库管理员"]
CO_RESIDENT_ROLES_ZH = ["", "", "子弟学校教师", "超市收银员", "外卖配送员", "酒店服务员", "退休",
                        "个体经营", "学生", "医院护士"]
SHIFTS_ZH = ["白班", "白班", "倒班", "三班倒", "夜班", "常白班", ""]
VACCINATION_ZH = ["已接种3针（含加强针）", "已接种加强针", "已接种2针", "已接种2针",
                  "未接种（禁忌症）", "已接种1针", ""]

ENGLISH_GIVEN = ["John", "Anna", "Peter", "Maria", "David", "Laura", "Michael", "Sarah", "Thomas",
                 "Julia", "Daniel", "Emma", "Robert", "Olga", "Ivan", "Hiroshi", "Min-jun", "Priya"]
ENGLISH_SURNAMES = ["Miller", "Schmidt", "Johnson", "Brown", "Novak", "Petrov", "Tanaka", "Kim",
                    "Sharma", "Rossi", "Dubois", "Wilson", "Hughes", "Larsen", "Costa", "Weber"]
PINYIN_SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
                   "Xu", "Sun", "Gao", "Lin", "Guo", "Ma"]
PINYIN_GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Tao",
                "Ming", "Chao", "Xia", "Hua", "Yu", "Hao", "Jie", "Lan", "Ping"]
HIGH_RISK_ROLES_EN = [
    "Imported ore unloader", "Customs declarant", "Cold-chain warehouse keeper",
    "Cold storage clerk", "Food delivery rider", "Logistics support officer",
    "Construction site foreman", "Canteen cook", "Canteen assistant", "Hotel receptionist",
    "Supermarket cashier", "School teacher", "Dormitory manager", "Commuter bus driver",
    "Cargo pick-up and delivery clerk", "Railway shunter", "Locomotive driver", "Cleaner",
    "Gate guard", "Forklift driver", "Truck driver",
]
ORDINARY_ROLES_EN = [
    "Overhead crane operator", "Weighbridge clerk", "Logistics planner", "Warehouse planner",
    "Accountant", "Procurement officer", "IT support engineer", "Maintenance electrician",
    "Safety officer", "Dispatcher", "Quality inspector", "Cold rolling operator",
    "Process engineer", "Interpreter",
]


@dataclass
class Person:
    employee_no: Any
    name: str
    department: str
    grid: str
    role: str
    phone: Any
    person_type: str
    host: str = ""
    shift: str = ""
    vaccination: str = ""
    id_number: str = ""
    language: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Samples:
    def __init__(self, seed: int = 42) -> None:
        self.rng = random.Random(seed)
        self.used_names: set[str] = set()
        self.used_phones: set[str] = set()

    # --- values ------------------------------------------------------------------------

    def chinese_name(self) -> str:
        rng = self.rng
        while True:
            given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
            name = rng.choice(SURNAMES) + given
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            parsed = phonenumbers.parse(number, "CN")
            if number not in self.used_phones and phonenumbers.is_valid_number(parsed):
                self.used_phones.add(number)
                return number

    def spelled(self, number: str) -> Any:
        """The number as some HR clerk typed it."""
        style = self.rng.randrange(9)
        if style == 0:
            return int(number)  # a number cell: must never come back as 1.38E10
        if style == 1:
            return f"{number[:3]} {number[3:7]} {number[7:]}"
        if style == 2:
            return f"+86-{number[:3]}-{number[3:7]}-{number[7:]}"
        if style == 3:
            return "86" + number
        if style == 4:
            return number.translate({ord(str(d)): chr(0xFF10 + d) for d in range(10)})
        if style == 5:
            return f"{number[:3]}-{number[3:7]}-{number[7:]}"
        if style == 6:
            return f"+86 {number}"
        if style == 7:
            return f"(+86){number}"
        return number

    def hong_kong_mobile(self) -> str:
        while True:
            number = f"+852 {self.rng.choice('569')}{self.rng.randrange(10**7):07d}"
            parsed = phonenumbers.parse(number)
            if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
                return number

    def id_number(self, birth_year: int) -> str:
        rng = self.rng
        body = f"2105{rng.randrange(2, 6):02d}{birth_year}{rng.randrange(1, 13):02d}"
        body += f"{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
        return body + "10X98765432"[total % 11]


# --- workbook writing ----------------------------------------------------------------------

THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def write_roster_sheet(
    ws: Any,
    *,
    title: str,
    subtitle: str | None,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    footer: Sequence[Sequence[Any]],
    text_columns: Sequence[int] = (),
    merge_column_down: int | None = None,
) -> None:
    """A department sheet as HR lays it out: merged title, header, people, footer."""
    width = len(header)
    last = get_column_letter(width)
    ws.append([title])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center")
    if subtitle:
        ws.append([subtitle])
        ws.merge_cells(f"A2:{last}2")
    ws.append(list(header))
    header_row = ws.max_row
    for c in range(1, width + 1):
        cell = ws.cell(row=header_row, column=c)
        cell.font = Font(bold=True)
        cell.fill = HEAD_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    first_data = header_row + 1
    for row in rows:
        ws.append(list(row))
        r = ws.max_row
        for c in range(1, width + 1):
            ws.cell(row=r, column=c).border = BORDER
        for c in text_columns:
            cell = ws.cell(row=r, column=c)
            if isinstance(cell.value, str):
                cell.number_format = "@"  # Excel's Text format, as HR sets it for 工号
    if merge_column_down is not None and len(rows) > 1:
        col = get_column_letter(merge_column_down)
        ws.merge_cells(f"{col}{first_data}:{col}{first_data + len(rows) - 1}")
        ws[f"{col}{first_data}"].alignment = Alignment(vertical="center")
    ws.append([])
    for line in footer:
        ws.append(list(line))
    ws.freeze_panes = f"A{first_data}"
    for c, text in enumerate(header, start=1):
        longest = max([_display_width(str(text))] + [
            _display_width(str(r[c - 1])) for r in rows if c - 1 < len(r) and r[c - 1] is not None
        ])
        ws.column_dimensions[get_column_letter(c)].width = min(max(longest + 2, 6), 40)


def write_text_sheet(ws: Any, lines: Sequence[str]) -> None:
    for line in lines:
        ws.append([line])
    ws.column_dimensions["A"].width = 90


def save_reproducibly(book: Any, path: Path) -> None:
    """Save with fixed timestamps so regenerating gives the same bytes."""
    book.properties.creator = "testrota sample generator"
    buffer = io.BytesIO()
    book.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fixed_dates(data)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, data)
    path.write_bytes(out.getvalue())


def _fixed_dates(core: bytes) -> bytes:
    import re

    stamp = b"2022-05-09T00:00:00Z"
    return re.sub(
        rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp + rb"\g<2>",
        core,
    )


# --- the Simplified-Chinese steelmaking plant ------------------------------------------------

ZH_HANS_HEADER = ["序号", "工号", "姓名", "性别", "部门", "网格", "岗位", "手机号", "身份证号",
                  "人员类别", "共同居住职工工号", "班次", "疫苗接种情况", "备注"]


def steelmaking_plant(s: Samples) -> Any:
    rng = s.rng
    book = openpyxl.Workbook()
    assert book.active is not None
    book.remove(book.active)
    write_text_sheet(
        book.create_sheet("填表说明"),
        [
            "填表说明",
            "1. 每个部门一个工作表，请勿修改表头；工号、姓名为必填项。",
            "2. 手机号填写本人常用手机号码，用于核酸检测提醒短信。",
            "3. 人员类别填写：职工 / 第三方（外包、劳务派遣、承包商）/ 共同居住人（家属）。",
            "4. 共同居住人须填写与其共同居住的职工工号。",
            "5. 高风险岗位人员每周至少检测两次（进口货物、冷链、外卖、后勤服务、建筑工地、食堂、"
            "酒店、商超、学校、公寓、通勤车、接送货物、铁路、保洁、门卫、司机）。",
            "联系人：人力资源部 王丽  电话：024-45678901",
        ],
    )
    departments = [
        ("炼钢车间", 10001, 48, "number", ["转炉甲班", "转炉乙班", "转炉丙班", "炉前网格"]),
        ("连铸车间", 10201, 40, "number", ["连铸一网格", "连铸二网格", "连铸三网格"]),
        ("运输部", 10401, 30, "text", ["铁运网格", "汽运网格", "装卸网格"]),
        ("后勤服务中心", 10601, 34, "text", ["食堂网格", "公寓网格", "保洁网格", "门岗网格"]),
    ]
    employees: list[Person] = []
    sheets: dict[str, list[Person]] = {}
    for dept, start, count, style, grids in departments:
        people = []
        for i in range(count):
            no = start + i
            if dept == "后勤服务中心":
                role = rng.choice(HIGH_RISK_ROLES_ZH[:20])
            elif dept == "运输部":
                role = rng.choice(["铁路调车员", "铁路机车司机", "叉车司机", "汽车司机", "司磅员",
                                   "通勤车司机", "货物接送员", "进口矿石接卸工", "调度员"])
            else:
                role = rng.choice(ORDINARY_ROLES_ZH * 2 + WORKSHOP_HIGH_RISK_ZH)
            people.append(
                Person(
                    employee_no=no if style == "number" else f"{no:06d}",
                    name=s.chinese_name(),
                    department=dept,
                    grid=rng.choice(grids),
                    role=role,
                    phone=s.spelled(s.mobile()),
                    person_type=rng.choice(["职工", "职工", "职工", "正式工", "员工"]),
                    shift=rng.choice(SHIFTS_ZH),
                    vaccination=rng.choice(VACCINATION_ZH),
                    id_number=s.id_number(rng.randrange(1965, 2003)),
                    extra={"性别": rng.choice("男男男女")},
                )
            )
        sheets[dept] = people
        employees.extend(people)

    contractors = []
    companies = ["本溪市洁美物业公司", "辽宁安达劳务派遣有限公司", "本溪众诚保安服务公司",
                 "沈阳顺通物流有限公司", "本溪建工集团"]
    for i in range(26):
        contractors.append(
            Person(
                employee_no=f"WB{i + 1:04d}",
                name=s.chinese_name(),
                department=rng.choice(companies),
                grid=rng.choice(["外包一网格", "外包二网格"]),
                role=rng.choice(THIRD_PARTY_ROLES_ZH),
                phone=s.spelled(s.mobile()),
                person_type=rng.choice(["第三方", "外包", "劳务派遣", "承包商", "第三方人员"]),
                shift=rng.choice(SHIFTS_ZH),
                vaccination=rng.choice(VACCINATION_ZH),
                extra={"性别": rng.choice("男男女")},
            )
        )
    sheets["外包及第三方"] = contractors

    # The deliberate mistakes HR makes; README.md lists them with their rows.
    nameless = sheets["连铸车间"][12]
    numberless = sheets["运输部"][5]
    co_residents = []
    hosts = rng.sample([p for p in employees if p not in (nameless, numberless)], 22)
    for i, host in enumerate(hosts):
        co_residents.append(
            Person(
                employee_no=f"JS{i + 1:04d}",
                name=s.chinese_name(),
                department=host.department,
                grid=host.grid,
                role=rng.choice(CO_RESIDENT_ROLES_ZH),
                phone=s.spelled(s.mobile()),
                person_type=rng.choice(["共同居住人", "家属", "共同居住人员"]),
                host=str(host.employee_no),
                vaccination=rng.choice(VACCINATION_ZH),
                extra={"性别": rng.choice("男女女")},
            )
        )
    sheets["共同居住人员"] = co_residents

    sheets["炼钢车间"][7].phone = "138 1234 567"  # one digit short: kept, without a phone
    nameless.name = ""
    numberless.employee_no = ""
    duplicate = Person(**{**sheets["炼钢车间"][3].__dict__, "name": s.chinese_name()})
    duplicate.department = "后勤服务中心"
    duplicate.role = "食堂厨师"
    sheets["后勤服务中心"].insert(9, duplicate)  # an employee number already on 炼钢车间
    contractors[4].person_type = "访客"  # not a person type this roster knows
    co_residents[6].host = "109999"  # no such employee

    for dept, people in sheets.items():
        rows = [
            [
                n, p.employee_no, p.name, p.extra.get("性别", ""), p.department, p.grid, p.role,
                p.phone, p.id_number, p.person_type, p.host, p.shift, p.vaccination,
                "" if rng.random() < 0.9 else "新入职",
            ]
            for n, p in enumerate(people, start=1)
        ]
        write_roster_sheet(
            book.create_sheet(dept),
            title="本钢板材炼钢厂职工花名册（2022年5月）",
            subtitle=f"填报单位：{dept}　　　　填报日期：2022年5月9日",
            header=ZH_HANS_HEADER,
            rows=rows,
            footer=[
                ["合计", None, f"{len(rows)}人"],
                ["制表人：王丽", None, None, None, "审核人：张国华", None, None,
                 "日期：2022年5月9日"],
            ],
            text_columns=(2, 9, 11),
            merge_column_down=5 if dept == "连铸车间" else None,
        )
    summary = book.create_sheet("汇总")
    summary.append(["本钢板材炼钢厂人员汇总"])
    summary.append(["部门", "人数", "其中高风险岗位"])
    for dept, people in sheets.items():
        summary.append([dept, len(people), None])
    summary.append(["合计", sum(len(p) for p in sheets.values())])
    return book


# --- the Traditional-Chinese cold rolling mill -------------------------------------------------

ZH_HANT_HEADER = ["序號", "工號", "姓名", "部門", "網格", "崗位", "手機號碼", "人員類別",
                  "共同居住職工工號", "班別", "疫苗接種"]


def cold_rolling_mill(s: Samples) -> Any:
    import opencc

    t = opencc.OpenCC("s2t").convert
    rng = s.rng
    book = openpyxl.Workbook()
    assert book.active is not None
    book.remove(book.active)
    mill_roles = ["冷轧操作工", "酸洗工", "镀锌工", "天车工", "司磅员", "点检员", "质检员",
                  "轧钢工", "电工", "钳工", "班长", "工艺技术员"]
    high = ["食堂厨师", "食堂帮厨", "保洁员", "门卫", "通勤车司机", "叉车司机", "冷链仓库管理员",
            "职工公寓管理员", "汽车司机", "后勤服务员"]
    sheets: dict[str, list[Person]] = {}
    employees: list[Person] = []
    layout = [
        ("冷轧一车间", 20001, 34, ["一網格", "二網格", "三網格"]),
        ("冷轧二车间", 20101, 30, ["四網格", "五網格"]),
        ("后勤及外包", 20201, 28, ["後勤網格"]),
    ]
    for dept, start, count, grids in layout:
        people = []
        for i in range(count):
            contractor = dept == "后勤及外包" and i % 3 == 0
            role = rng.choice(high) if dept == "后勤及外包" else rng.choice(mill_roles * 2 + high)
            phone = s.spelled(s.mobile()) if rng.random() > 0.05 else s.hong_kong_mobile()
            people.append(
                Person(
                    employee_no=f"{start + i:06d}",
                    name=t(s.chinese_name()),
                    department=t(dept if not contractor else "本溪潔美物業公司"),
                    grid=rng.choice(grids),
                    role=t(role),
                    phone=phone,
                    person_type=t(rng.choice(["第三方", "外包"]) if contractor else "职工"),
                    shift=t(rng.choice(["白班", "倒班", "三班倒", "夜班"])),
                    vaccination=t(rng.choice(VACCINATION_ZH)),
                )
            )
        sheets[t(dept)] = people
        employees.extend(p for p in people if p.person_type == "職工")
    co = []
    for i, host in enumerate(rng.sample(employees, 18)):
        co.append(
            Person(
                employee_no=f"{20301 + i:06d}",
                name=t(s.chinese_name()),
                department=host.department,
                grid=host.grid,
                role=t(rng.choice(CO_RESIDENT_ROLES_ZH)),
                phone=s.spelled(s.mobile()),
                person_type=t(rng.choice(["共同居住人", "家属"])),
                host=str(host.employee_no),
                vaccination=t(rng.choice(VACCINATION_ZH)),
            )
        )
    sheets["共同居住人"] = co
    write_text_sheet(
        book.create_sheet("說明"),
        [t(line) for line in (
            "填表说明：工号请按六位数字填写（如 020001），勿删除前导零。",
            "人员类别：职工 / 第三方 / 外包 / 共同居住人 / 家属。",
        )],
    )
    for dept, people in sheets.items():
        rows = [
            [n, p.employee_no, p.name, p.department, p.grid, p.role, p.phone, p.person_type,
             p.host, p.shift, p.vaccination]
            for n, p in enumerate(people, start=1)
        ]
        write_roster_sheet(
            book.create_sheet(dept),
            title="本鋼冷軋廠員工名冊（2022年5月）",
            subtitle=None,
            header=ZH_HANT_HEADER,
            rows=rows,
            footer=[["合計", f"{len(rows)}人"], ["製表人：陳美玲　　審核人：林志明"]],
            text_columns=(2, 9),
        )
    return book


# --- the English logistics centre ----------------------------------------------------------

EN_HEADER = ["No.", "Employee ID", "Name", "Department", "Job title", "Grid unit", "Mobile",
             "Person type", "Host employee ID", "Shift", "Vaccination", "Language"]


def logistics_centre(s: Samples) -> Any:
    rng = s.rng
    book = openpyxl.Workbook()
    assert book.active is not None
    book.remove(book.active)
    used: set[str] = set()

    def english_name(expat: bool) -> str:
        while True:
            if expat:
                name = f"{rng.choice(ENGLISH_GIVEN)} {rng.choice(ENGLISH_SURNAMES)}"
            else:
                name = f"{rng.choice(PINYIN_SURNAMES)} {rng.choice(PINYIN_GIVEN)}"
                if rng.random() < 0.4:
                    name += rng.choice(PINYIN_GIVEN).lower()
            if name not in used:
                used.add(name)
                return name

    vaccination = ["3 doses (booster)", "Booster received", "2 doses", "2 doses", "Not vaccinated",
                   ""]
    departments = ["Port & Rail Logistics", "Cold Chain Warehouse", "Support Services",
                   "Technical Centre"]
    staff = []
    for i in range(52):
        expat = rng.random() < 0.3
        dept = rng.choice(departments)
        if dept == "Technical Centre":
            role = rng.choice(ORDINARY_ROLES_EN)
        else:
            role = rng.choice(HIGH_RISK_ROLES_EN + ORDINARY_ROLES_EN[:4])
        staff.append(
            Person(
                employee_no=f"LC-{3001 + i}",
                name=english_name(expat),
                department=dept,
                grid=f"Grid {rng.choice('ABCD')}{rng.randrange(1, 4)}",
                role=role,
                phone=s.spelled(s.mobile()),
                person_type=rng.choice(["Employee", "Employee", "Staff"]),
                shift=rng.choice(["Day", "Day", "Night", "Rotating", ""]),
                vaccination=rng.choice(vaccination),
                language="English" if expat else rng.choice(["Chinese", "zh", ""]),
            )
        )
    contractors = []
    for i in range(20):
        contractors.append(
            Person(
                employee_no=f"CT-{501 + i}",
                name=english_name(rng.random() < 0.2),
                department=rng.choice(["CleanPro Services Ltd", "SafeGuard Security Co",
                                       "Northeast Freight Ltd"]),
                grid="Contractor grid",
                role=rng.choice(["Cleaner", "Gate guard", "Truck driver", "Forklift driver",
                                 "Canteen assistant", "Cargo pick-up and delivery clerk"]),
                phone=s.spelled(s.mobile()),
                person_type=rng.choice(["Contractor", "Third party", "Outsourced"]),
                shift=rng.choice(["Day", "Night", "Rotating"]),
                vaccination=rng.choice(vaccination),
                language=rng.choice(["", "Chinese"]),
            )
        )
    co = []
    for i, host in enumerate(rng.sample(staff, 14)):
        co.append(
            Person(
                employee_no=f"CR-{101 + i}",
                name=english_name(host.language == "English"),
                department=host.department,
                grid=host.grid,
                role=rng.choice(["", "", "School teacher", "Supermarket cashier",
                                 "Hotel receptionist", "Student"]),
                phone=s.spelled(s.mobile()),
                person_type=rng.choice(["Co-resident", "Family member"]),
                host=str(host.employee_no),
                vaccination=rng.choice(vaccination),
                language=host.language,
            )
        )
    write_text_sheet(
        book.create_sheet("Read me"),
        [
            "How to fill in this roster",
            "One row per person. Employee ID and Name are required.",
            "Person type: Employee, Contractor / Third party, or Co-resident (family living with "
            "an employee: give the employee's ID under Host employee ID).",
            "Language: the language for reminder texts (English or Chinese).",
        ],
    )
    for title, people in (("Staff", staff), ("Contractors", contractors), ("Co-residents", co)):
        rows = [
            [n, p.employee_no, p.name, p.department, p.role, p.grid, p.phone, p.person_type,
             p.host, p.shift, p.vaccination, p.language]
            for n, p in enumerate(people, start=1)
        ]
        write_roster_sheet(
            book.create_sheet(title),
            title="Benxi Steel Group - Logistics & Support Centre staff roster (May 2022)",
            subtitle=None,
            header=EN_HEADER,
            rows=rows,
            footer=[["Total", len(rows)], ["Prepared by: Li Na", None, None,
                                           "Approved by: Wang Jun"]],
        )
    return book


SAMPLES = {
    "steelmaking_plant_zh_hans.xlsx": steelmaking_plant,
    "cold_rolling_mill_zh_hant.xlsx": cold_rolling_mill,
    "logistics_centre_en.xlsx": logistics_centre,
}


def make_samples(out_dir: Path = HERE, seed: int = 42) -> list[Path]:
    """Write every sample roster into ``out_dir``; one ``Random(seed)`` drives them all."""
    samples = Samples(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, build in SAMPLES.items():
        path = out_dir / file_name
        save_reproducibly(build(samples), path)
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in make_samples():
        print(written_path.relative_to(HERE.parent))

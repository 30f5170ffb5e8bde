"""Columns of cell texts in, person records and row errors out. Pure: no files, no database.

Every problem becomes a :class:`RowError` that names the sheet, the row number Excel shows,
the column as written in the file, the value and a plain message. A row without an employee
number or a name, a repeated employee number, an unknown person type or a co-resident without
a known host is skipped; a bad phone, shift or ID number is reported but the person is kept, so
HR sees who cannot get reminder texts.

Written column by column with small caches for the few distinct values of a column (person
types, shifts, departments), because a group's roster has 100,000 rows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from testrota.collector import collector_paused
from testrota.policy import Policy
from testrota.roster.columns import normalize_header, to_simplified
from testrota.roster.numbers import loose_key
from testrota.roster.phones import explain_phones
from testrota.roster.reader import Sheet, Workbook

EMPLOYEE, THIRD_PARTY, CO_RESIDENT = "employee", "third_party", "co_resident"
PERSON_TYPES = (EMPLOYEE, THIRD_PARTY, CO_RESIDENT)
SHIFTS = ("day", "night", "rotating")

# The database's column sizes (db/models.py Person); a test keeps the two in step.
MAX_LENGTHS = {
    "employee_no": 64,
    "name": 200,
    "department": 200,
    "grid_unit": 200,
    "role": 200,
    "phone_raw": 64,
    "id_number": 32,
    "host_employee_no": 64,
    "vaccination": 100,
    "category": 100,
    "unit_path": 400,
    "wecom_userid": 64,
}

# Readable names for a column the file does not have.
LABELS = {
    "employee_no": "employee number",
    "name": "name",
    "phone": "phone",
    "person_type": "person type",
    "host_employee_no": "host employee number",
    "shift": "shift",
}


def _vocabulary(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {normalize_header(w): value for value, ws in words.items() for w in ws}


PERSON_TYPE_WORDS = _vocabulary(
    {
        EMPLOYEE: (
            "职工",
            "员工",
            "正式工",
            "正式职工",
            "正式员工",
            "在职职工",
            "在岗职工",
            "本厂职工",
            "本单位职工",
            "企业职工",
            "合同工",
            "合同制",
            "劳动合同制",
            "在编",
            "在编人员",
            "职员",
            "干部",
            "工人",
            "临时工",
            "自有员工",
            "本企业",
            "employee",
            "staff",
            "own staff",
            "regular",
            "permanent",
            "full time",
        ),
        THIRD_PARTY: (
            "第三方",
            "第三方人员",
            "外包",
            "外包人员",
            "外包单位",
            "承包商",
            "承包商人员",
            "劳务派遣",
            "派遣",
            "派遣工",
            "劳务",
            "劳务工",
            "外协",
            "外协人员",
            "外委",
            "外委人员",
            "外来施工人员",
            "相关方",
            "相关方人员",
            "协力",
            "协力单位人员",
            "contractor",
            "third party",
            "third-party",
            "outsourced",
            "subcontractor",
            "agency",
            "agency worker",
            "dispatched worker",
            "vendor",
        ),
        CO_RESIDENT: (
            "共同居住人",
            "共同居住",
            "共同居住人员",
            "共同居住者",
            "同住人",
            "同住人员",
            "同住家属",
            "家属",
            "职工家属",
            "家庭成员",
            "亲属",
            "配偶",
            "子女",
            "父母",
            "co-resident",
            "coresident",
            "co resident",
            "household member",
            "family member",
            "family",
            "lives with employee",
        ),
    }
)
SHIFT_WORDS = _vocabulary(
    {
        "day": (
            "白班",
            "常白班",
            "长白班",
            "日班",
            "正常班",
            "行政班",
            "常日班",
            "白",
            "早班",
            "day",
            "days",
            "day shift",
            "office hours",
            "regular hours",
        ),
        "night": (
            "夜班",
            "夜",
            "大夜班",
            "晚班",
            "中班",
            "night",
            "nights",
            "night shift",
            "evening",
        ),
        "rotating": (
            "倒班",
            "三班倒",
            "四班三倒",
            "四班三运转",
            "四班两运转",
            "四班两倒",
            "两班倒",
            "轮班",
            "运转",
            "运转班",
            "倒班制",
            "三班",
            "四班",
            "三班两运转",
            "rotating",
            "rotation",
            "rotating shift",
            "shift work",
            "shifts",
            "24/7",
        ),
    }
)
CHANNEL_WORDS = _vocabulary(
    {
        "sms": ("短信", "手机短信", "简讯", "sms", "text", "text message"),
        "wecom": ("企业微信", "企业微信消息", "企微", "wecom", "work wechat", "wxwork"),
    }
)

LANGUAGE_WORDS = _vocabulary(
    {
        "zh": (
            "中文",
            "汉语",
            "普通话",
            "国语",
            "粤语",
            "简体中文",
            "繁体中文",
            "简体",
            "繁体",
            "chinese",
            "mandarin",
            "cantonese",
            "zh",
            "zh-cn",
            "zh-hans",
            "zh-hant",
            "zh-tw",
            "zh-hk",
            "cn",
        ),
        "en": ("英文", "英语", "english", "en", "en-us", "en-gb"),
    }
)
_YES = {
    normalize_header(w)
    for w in (
        "是",
        "已接种",
        "已打",
        "已完成",
        "有",
        "已",
        "yes",
        "y",
        "true",
        "1",
        "done",
        "received",
    )
}
_NO = {
    normalize_header(w)
    for w in (
        "否",
        "未接种",
        "未打",
        "无",
        "没有",
        "未",
        "不",
        "no",
        "n",
        "false",
        "0",
        "none",
        "not yet",
    )
}
# Tick and cross are symbols, which normalize_header drops; they are looked up as written.
_MARKS = {
    "√": True,
    "✓": True,
    "✔": True,
    "×": False,
    "✗": False,
    "✘": False,
    "x": False,
    "X": False,
}
_BOOSTER_RE = re.compile(
    r"加强|第三针|第3针|三针|3针|第四针|四针|4针|booster|third dose|3 doses|three doses|"
    r"3rd dose|4 doses|4th dose"
)
_NEGATION_RE = re.compile(r"未|没|无|否|不|待|\bnot\b|\bno\b|\bnone\b|pending|\bwithout\b")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_ID18_RE = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


class PersonRecord(NamedTuple):
    """One person as a roster row gives them. A tuple: a group's roster makes 300,000, and a
    frozen dataclass cost four times as much to build (a third of the validation)."""

    employee_no: str
    name: str
    department: str
    grid_unit: str
    role: str
    phone: str | None  # E.164 that can receive texts, or None
    phone_raw: str  # as written in the file
    phone_valid: bool
    id_number: str | None
    person_type: str  # employee | third_party | co_resident
    host_employee_no: str | None
    language: str  # "zh" | "en"
    shift: str  # day | night | rotating
    vaccination: str
    booster: bool | None
    category_column: str | None  # an explicit risk-category column, as written
    sheet: str
    row: int
    # the unit below the group's root, "/"-joined (testrota.org.paths.roster_unit)
    unit_path: str = ""
    notify_channel: str | None = None  # sms | wecom (通知方式); None: by the phone's region
    wecom_userid: str | None = None  # the WeCom member (企业微信账号)
    on_site: bool = False  # lives on site (驻厂)
    key_post: bool = False  # holds a key post (关键岗位)


@dataclass(frozen=True, slots=True)
class RowError:
    sheet: str
    row: int  # as Excel shows it
    column: str  # the header as written in the file
    value: str
    message: str  # in English
    # The message as a template and its parameters (texts and numbers), so a page can show it
    # in the reader's language; "" for a message that has none.
    template: str = field(default="", compare=False)
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    # several reasons, each {"template", "params"} (a results row that matches nobody)
    parts: list[dict[str, Any]] = field(default_factory=list, compare=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


@dataclass
class ValidationResult:
    records: list[PersonRecord]
    errors: list[RowError]
    skipped: int  # data rows that did not become a person
    rows: int  # data rows seen (blank and footer rows already dropped)
    missing_columns: list[str] = field(default_factory=list)  # useful fields absent everywhere
    # sheet -> the fields it has a column for; a field without one says nothing about anybody
    present: dict[str, frozenset[str]] = field(default_factory=dict)
    # a refused number -> the active people's numbers it is written differently from
    # (:func:`lookalike_rows`): they are on the roster still
    lookalikes: dict[str, list[str]] = field(default_factory=dict)


def person_type_of(text: str) -> str | None:
    """``employee``/``third_party``/``co_resident`` for 职工, 外包, 家属, contractor ...

    An empty cell means employee; an unknown word gives None.
    """
    if not text:
        return EMPLOYEE
    return PERSON_TYPE_WORDS.get(normalize_header(text))


def shift_of(text: str) -> str | None:
    """``day``/``night``/``rotating`` for 白班, 夜班, 三班倒, Night ...; "" -> day; else None."""
    if not text:
        return "day"
    return SHIFT_WORDS.get(normalize_header(text))


def booster_of(vaccination: str) -> bool | None:
    """Whether a vaccination note says a booster was taken (加强针, 第三针, booster, 3 doses).

    None when the note is empty; a negated note (未打加强针, no booster) is False.
    """
    if not vaccination:
        return None
    text = unicodedata.normalize("NFKC", vaccination).casefold()
    if not text.isascii():
        text = to_simplified(text)
    if _BOOSTER_RE.search(text):
        return not _NEGATION_RE.search(text)
    return False


def _is_yes(text: str) -> bool:
    """A yes/no cell (是, √, Y, yes, 1) read as yes; anything else, blank included, is no."""
    if not text:
        return False
    if text in _MARKS:
        return bool(_MARKS[text])
    return normalize_header(text) in _YES


def _booster_cell(text: str) -> bool | None:
    if not text:
        return None
    if text in _MARKS:
        return _MARKS[text]
    key = normalize_header(text)
    if key in _YES:
        return True
    if key in _NO:
        return False
    if _DATE_RE.match(text):
        return True  # the date the booster was taken
    folded = unicodedata.normalize("NFKC", text).casefold()
    if _BOOSTER_RE.search(to_simplified(folded)):
        return booster_of(text)
    return None  # "—", "待定": this column does not say; the vaccination note may


def id_number_problem(value: str) -> str | None:
    """Why an 18-character mainland ID number cannot be right, or None."""
    if len(value) != 18 or not _ID18_RE.match(value):
        return None
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    if "10X98765432"[total % 11] == value[17]:
        return None
    if value.endswith("000"):
        return (
            "ID number check digit does not match; Excel keeps only 15 digits of a number, "
            "so format the column as text and type it again"
        )
    return "ID number check digit does not match"


def _tidy_name(name: str) -> str:
    if " " not in name and "\u3000" not in name and "\t" not in name:
        return name
    if _CJK_RE.search(name) and name.replace(" ", "").replace("\u3000", "").isalpha():
        # 张　三: HR pads two-character names to line them up with three-character ones.
        return "".join(name.split())
    return " ".join(name.split())


def _fold_key(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFKC", text).strip()


def validate_workbook(
    workbook: Workbook,
    policy: Policy,
    known_employee_nos: Collection[str] = (),
    former: Mapping[str, str] | None = None,
) -> ValidationResult:
    """Turn a read workbook into person records and row errors.

    ``known_employee_nos`` are the active people already in the database (a mapping of their
    numbers to their names names them in a message): a co-resident's host may be one of them
    instead of a row in this file, and a new number that is one of theirs written differently
    (:func:`lookalike_rows`) is refused. ``former``: the people who left (number -> name), whose
    number written differently is refused too: a leaver coming back under ``101`` for
    ``000101`` would be a second person with none of their history. Phone numbers are read in
    ``policy.phone_region``.
    """
    known = (
        known_employee_nos
        if isinstance(known_employee_nos, set | frozenset | Mapping)
        else set(known_employee_nos)
    )
    state = _State(policy.phone_region)
    with collector_paused():
        for sheet_index, sheet in enumerate(workbook.sheets):
            state.sheet(sheet_index, sheet)
    meant = _refuse_lookalikes(state, known, former or {})
    accepted = {r.employee_no for r in state.records}
    records: list[PersonRecord] = []
    for rec in state.records:
        if rec.person_type == CO_RESIDENT:
            assert rec.host_employee_no is not None
            if rec.host_employee_no not in accepted and rec.host_employee_no not in known:
                state.error_at(
                    rec.sheet,
                    rec.row,
                    "host_employee_no",
                    rec.host_employee_no,
                    "host employee {host} is not in this file or among the "
                    "active people; a co-resident must name the employee they live with",
                    host=rec.host_employee_no,
                )
                state.skipped += 1
                continue
        records.append(rec)
    state.errors.sort(key=lambda e: (state.sheet_order[e.sheet], e.row))
    rows = sum(len(s.row_numbers) for s in workbook.sheets)
    present = {s.name: frozenset(s.columns) for s in workbook.sheets}
    anywhere = frozenset().union(*present.values())
    missing = [f for f in ("phone", "department", "role") if f not in anywhere]
    return ValidationResult(records, state.errors, state.skipped, rows, missing, present, meant)


def lookalike_rows(
    records: Sequence[PersonRecord], known: Collection[str]
) -> list[tuple[PersonRecord, list[str]]]:
    """The rows that would add a person whose number is an active person's written differently,
    each with the numbers it matches (sorted).

    A number not in ``known`` whose :func:`~testrota.roster.numbers.loose_key` (case,
    full-width forms, spaces and leading zeros aside) is a ``known`` number's is almost always
    that person's with its zeros lost to Excel; added, the one person would be two, booked and
    texted twice, and check-in could no longer tell which ``101`` is meant. Two new rows of one
    file are left alone: a group may number people ``00123`` and ``123``, and nothing in the
    file says which is wrong.

    Args:
        records: the file's accepted rows, in file order.
        known: the active people's employee numbers.
    """
    if not known:
        return []
    new = [r for r in records if r.employee_no not in known]
    if not new:
        return []
    # A stored number the file writes as it is kept its zeros: the other row is someone else.
    in_file = {r.employee_no for r in records}
    keys = list(map(_loose, (r.employee_no for r in new)))
    wanted = set(keys)
    wanted.discard("")  # "000": no number left to compare, taken as typed
    # Every known number's key is worked out (300,000 at a group's roster, ~0.1 s), but only
    # those a new row shares are kept.
    stored: dict[str, list[str]] = {}
    for no in known:
        key = _loose(no)
        if key in wanted and no not in in_file:
            stored.setdefault(key, []).append(no)
    return [
        (record, sorted(stored[key]))
        for record, key in zip(new, keys, strict=True)
        if key in stored
    ]


def _loose(no: str) -> str:
    # Most numbers are plain letters and digits, already folded by the reader: the fast path
    # gives what loose_key gives them.
    if no.isascii() and no.isalnum():
        return no.upper().lstrip("0")
    return loose_key(no)


def _refuse_lookalikes(
    state: _State, known: Collection[str], former: Mapping[str, str]
) -> dict[str, list[str]]:
    """Drop :func:`lookalike_rows` from ``state.records`` with an error each; returns each
    refused number -> the stored numbers it matches (a full import keeps those people)."""
    found = lookalike_rows(state.records, {*known, *former} if former else known)
    if not found:
        return {}
    names = {**former, **known} if isinstance(known, Mapping) else dict(former)
    refused: set[int] = set()
    meant: dict[str, list[str]] = {}
    for record, matches in found:
        no, sheet = record.employee_no, record.sheet
        column = state.headers.get(sheet, {}).get("employee_no") or LABELS["employee_no"]
        refused.add(id(record))
        meant[no] = matches
        existing = " / ".join(matches)
        who = " / ".join(str(names.get(m, "?")) for m in matches)
        zeros_lost = len(matches) == 1 and _without_zeros(no, matches[0])
        left = all(m in former and m not in known for m in matches)
        state.error_at(
            sheet,
            record.row,
            "employee_no",
            no,
            _LOOKALIKE[zeros_lost, left],
            no=no,
            existing=existing,
            name=who,
            column=column,
        )
    state.records = [r for r in state.records if id(r) not in refused]
    state.skipped += len(refused)
    return meant


# (the zeros lost, everyone it matches has left) -> the row's message
_LOOKALIKE = {
    (True, False): "employee number {no} is {existing} ({name}, already on the roster) without "
    "its leading zeros, as Excel keeps a number; format the {column} column as text, type the "
    "full number {existing} and import again; the row is skipped",
    (False, False): "employee number {no} differs from {existing} ({name}, already on the "
    "roster) only in leading zeros, capitals or full-width characters; write it as stored, "
    "{existing} (format the {column} column as text so that Excel keeps the zeros), and "
    "import again; the row is skipped",
    (True, True): "employee number {no} is {existing} ({name}, who left the roster) without "
    "its leading zeros, as Excel keeps a number; to bring them back with their history, "
    "format the {column} column as text, type the full number {existing} and import again; "
    "the row is skipped",
    (False, True): "employee number {no} differs from {existing} ({name}, who left the "
    "roster) only in leading zeros, capitals or full-width characters; to bring them back "
    "with their history, write it as stored, {existing} (format the {column} column as text "
    "so that Excel keeps the zeros), and import again; the row is skipped",
}


def _without_zeros(typed: str, stored: str) -> bool:
    """``typed`` is ``stored`` with some or all of its leading zeros dropped."""
    return (
        len(typed) < len(stored) and stored.endswith(typed) and not stored[: -len(typed)].strip("0")
    )


class _State:
    def __init__(self, region: str) -> None:
        self.region = region
        self.records: list[PersonRecord] = []
        self.errors: list[RowError] = []
        self.skipped = 0
        self.first_row: dict[str, tuple[str, int]] = {}
        self.sheet_order: dict[str, int] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.tidy: dict[str, str] = {}
        self.types: dict[str, str | None] = {}
        self.shifts: dict[str, str | None] = {}
        self.languages: dict[str, str | None] = {}
        self.channels: dict[str, str | None] = {}
        self.boosters: dict[str, bool | None] = {}
        self.booster_cells: dict[str, bool | None] = {}
        self.yes_no: dict[str, bool] = {}

    def error_at(
        self, sheet: str, row: int, field_: str, value: str, template: str, /, **params: str | int
    ) -> None:
        column = self.headers.get(sheet, {}).get(field_) or LABELS.get(field_, field_)
        message = template.format(**params) if params else template
        self.errors.append(RowError(sheet, row, column, value, message, template, params))

    def sheet(self, index: int, sheet: Sheet) -> None:
        name = sheet.name
        self.sheet_order.setdefault(name, index)
        self.headers[name] = sheet.columns
        data = sheet.data
        blank = [""] * len(sheet.row_numbers)

        def col(f: str) -> list[str]:
            return data.get(f, blank)

        # Whole columns first: most have a handful of distinct values, each worked out once.
        kinds = _mapped(col("person_type"), self.types, person_type_of)
        shifts = _mapped(col("shift"), self.shifts, shift_of)
        langs = _mapped(col("language"), self.languages, _language_of)
        channel_raw = col("notify_channel")
        channels = _mapped(channel_raw, self.channels, _channel_of)
        wecom_ids = _mapped(col("wecom_userid"), self.tidy, _tidy)
        vaccs = _mapped(col("vaccination"), self.tidy, _tidy)
        boosters = _mapped(vaccs, self.boosters, booster_of)
        if "booster" in data:
            cells = _mapped(data["booster"], self.booster_cells, _booster_cell)
            boosters = [b if c is None else c for b, c in zip(boosters, cells, strict=True)]
        depts = _mapped(col("department"), self.tidy, _tidy)
        units, unit_problems = self._units(data, depts, blank)
        falses = [False] * len(blank)
        on_site = _mapped(data["on_site"], self.yes_no, _is_yes) if "on_site" in data else falses
        key_post = _mapped(data["key_post"], self.yes_no, _is_yes) if "key_post" in data else falses
        if "department" not in data and "unit_path" in data:
            # A path column alone still gives each person the department supervisors know.
            depts = [u.rsplit("/", 1)[-1] for u in units]
        grids = _mapped(col("grid_unit"), self.tidy, _tidy)
        roles = _mapped(col("role"), self.tidy, _tidy)
        cats = _mapped(col("category"), self.tidy, _tidy)
        region = self.region
        explained = explain_phones(col("phone"), region)
        phone_checks = [(phone, why) for phone, why, _params in explained]
        phone_params = [params for _phone, _why, params in explained]
        has_phone = "phone" in data
        shift_raw, type_raw, ids, hosts = (
            col("shift"),
            col("person_type"),
            col("id_number"),
            col("host_employee_no"),
        )

        error = self.error_at
        first_row = self.first_row
        append, make = self.records.append, PersonRecord
        no_max, name_max = MAX_LENGTHS["employee_no"], MAX_LENGTHS["name"]
        phone_raw_max = MAX_LENGTHS["phone_raw"]
        names = [
            _tidy_name(x) if " " in x or "\u3000" in x or "\t" in x else x for x in col("name")
        ]
        cjk = _CJK_RE.search
        langs = [lang or ("zh" if cjk(x) else "en") for lang, x in zip(langs, names, strict=True)]
        # Length checks per row only when some cell of the column is too long.
        check_ids = "id_number" in data
        check_long_names = _longest(col("employee_no")) > no_max or _longest(names) > name_max
        check_long_texts = any(
            _longest(c) > MAX_LENGTHS[f]
            for f, c in zip(_CUT_FIELDS, (depts, grids, roles, vaccs, cats), strict=True)
        )
        for i, (row, no, person, kind, shift, language, raw_phone, (phone, problem)) in enumerate(
            zip(
                sheet.row_numbers,
                col("employee_no"),
                names,
                kinds,
                shifts,
                langs,
                col("phone"),
                phone_checks,
                strict=True,
            )
        ):
            if no and not no.isascii():
                no = _fold_key(no)
            if not no or not person:
                if not no:
                    error(name, row, "employee_no", "", "missing employee number")
                if not person:
                    error(name, row, "name", "", "missing name")
                self.skipped += 1
                continue
            first = first_row.get(no)
            if first is not None:
                if first[0] == name:
                    error(
                        name,
                        row,
                        "employee_no",
                        no,
                        "duplicate employee number {no}: rows {first} and {row}; "
                        "the later row is skipped",
                        no=no,
                        first=first[1],
                        row=row,
                    )
                else:
                    error(
                        name,
                        row,
                        "employee_no",
                        no,
                        "duplicate employee number {no}: sheet {first_sheet!r} row {first} and "
                        "sheet {sheet!r} row {row}; the later row is skipped",
                        no=no,
                        first_sheet=first[0],
                        first=first[1],
                        sheet=name,
                        row=row,
                    )
                self.skipped += 1
                continue
            first_row[no] = (name, row)
            if check_long_names and (len(no) > no_max or len(person) > name_max):
                too_long = "employee_no" if len(no) > no_max else "name"
                error(
                    name,
                    row,
                    too_long,
                    no if too_long == "employee_no" else person,
                    "longer than {limit} characters",
                    limit=MAX_LENGTHS[too_long],
                )
                self.skipped += 1
                continue
            if kind is None:
                error(
                    name,
                    row,
                    "person_type",
                    type_raw[i],
                    "unknown person type {value!r}; use 职工/employee, "
                    "第三方/contractor or 共同居住人/co-resident",
                    value=type_raw[i],
                )
                self.skipped += 1
                continue
            host: str | None = None
            if kind == CO_RESIDENT:
                host = _fold_key(hosts[i])
                if not host or host == no:
                    error(
                        name,
                        row,
                        "host_employee_no",
                        host,
                        "a co-resident cannot be their own host employee"
                        if host
                        else "co-resident without a host employee number",
                    )
                    self.skipped += 1
                    continue

            if problem is not None and (raw_phone or has_phone):
                if raw_phone:
                    error(
                        name,
                        row,
                        "phone",
                        raw_phone,
                        problem + KEPT_WITHOUT_PHONE,
                        **phone_params[i],
                    )
                else:
                    error(
                        name,
                        row,
                        "phone",
                        raw_phone,
                        "no phone number: this person cannot get reminder texts",
                    )
            id_number = self._id_number(name, row, ids[i]) if check_ids and ids[i] else None
            if unit_problems and unit_problems[i] is not None:
                field_ = "unit_path" if "unit_path" in data else "department"
                error(name, row, field_, col(field_)[i], str(unit_problems[i]))
            if shift is None:
                error(
                    name,
                    row,
                    "shift",
                    shift_raw[i],
                    "unknown shift {value!r}; use 白班/day, 夜班/night or "
                    "倒班/rotating (day is assumed)",
                    value=shift_raw[i],
                )
                shift = "day"
            channel = channels[i]
            if channel is None and channel_raw[i].strip():
                error(
                    name,
                    row,
                    "notify_channel",
                    channel_raw[i],
                    f"unknown way to notify {channel_raw[i]!r}; use 短信/SMS or 企业微信/WeCom "
                    "(left empty: by the phone's region)",
                )
            wecom_id: str | None = wecom_ids[i] or None
            if wecom_id is not None and len(wecom_id) > MAX_LENGTHS["wecom_userid"]:
                error(
                    name,
                    row,
                    "wecom_userid",
                    wecom_id,
                    f"longer than {MAX_LENGTHS['wecom_userid']} characters; left empty",
                )
                wecom_id = None
            if check_long_texts:
                dept, grid, role, vacc, cat = self._cut(
                    name, row, (depts[i], grids[i], roles[i], vaccs[i], cats[i])
                )
            else:
                dept, grid, role, vacc, cat = depts[i], grids[i], roles[i], vaccs[i], cats[i]
            append(
                make(
                    no,
                    person,
                    dept,
                    grid,
                    role,
                    phone,
                    raw_phone[:phone_raw_max],
                    phone is not None,
                    id_number,
                    kind,
                    host,
                    language,
                    shift,
                    vacc,
                    boosters[i],
                    cat or None,
                    name,
                    row,
                    units[i],
                    channel,
                    wecom_id,
                    on_site[i],
                    key_post[i],
                )
            )

    def _units(
        self, data: dict[str, list[str]], depts: list[str], blank: list[str]
    ) -> tuple[list[str], list[str | None]]:
        """Each row's unit below the root, and the rows' problems (empty: none at all).

        "" when the unit is just the department (a flat roster), so that a roster written
        before units existed reads as unchanged.
        """
        if not ({"unit_path", "company", "plant"} & data.keys()):
            return blank, []
        from testrota.org.paths import clean_name, roster_unit

        paths, companies, plants = (
            data.get("unit_path", blank),
            data.get("company", blank),
            data.get("plant", blank),
        )
        memo: dict[tuple[str, str, str, str], tuple[str, str | None]] = {}
        units: list[str] = []
        problems: list[str | None] = []
        for key in zip(paths, companies, plants, depts, strict=True):
            hit = memo.get(key)
            if hit is None:
                path, problem = roster_unit(key[0], list(key[1:]))
                hit = memo[key] = ("" if path == clean_name(key[3]) else path, problem)
            units.append(hit[0])
            problems.append(hit[1])
        return units, problems if any(p is not None for p in problems) else []

    def _id_number(self, sheet: str, row: int, raw: str) -> str | None:
        value = _fold_key(raw).upper().replace(" ", "")
        problem = id_number_problem(value)
        if problem is not None:
            self.error_at(sheet, row, "id_number", raw, problem)
            return None
        if len(value) > MAX_LENGTHS["id_number"]:
            self.error_at(
                sheet,
                row,
                "id_number",
                raw,
                "longer than {limit} characters",
                limit=MAX_LENGTHS["id_number"],
            )
            return None
        return value

    def _cut(
        self, sheet: str, row: int, texts: tuple[str, str, str, str, str]
    ) -> tuple[str, str, str, str, str]:
        out: list[str] = []
        for f, value in zip(_CUT_FIELDS, texts, strict=True):
            limit = MAX_LENGTHS[f]
            if len(value) > limit:
                self.error_at(
                    sheet, row, f, value, "longer than {limit} characters; cut to it", limit=limit
                )
                value = value[:limit]
            out.append(value)
        dept, grid, role, vacc, cat = out
        return dept, grid, role, vacc, cat


_CUT_FIELDS = ("department", "grid_unit", "role", "vaccination", "category")
KEPT_WITHOUT_PHONE = "; the person is kept without a phone"


def _mapped(values: list[str], memo: dict[str, Any], convert: Callable[[str], Any]) -> list[Any]:
    """``[convert(v) for v in values]``, converting each distinct value once."""
    for value in set(values).difference(memo):
        memo[value] = convert(value)
    return [memo[v] for v in values]


def _tidy(text: str) -> str:
    return " ".join(text.split()) if text else ""


def _channel_of(text: str) -> str | None:
    return CHANNEL_WORDS.get(normalize_header(text)) if text else None


def _language_of(text: str) -> str | None:
    return LANGUAGE_WORDS.get(normalize_header(text)) if text else None


def _longest(values: list[str]) -> int:
    return max(map(len, values), default=0)

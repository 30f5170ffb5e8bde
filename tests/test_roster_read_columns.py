"""Header names: normalisation, the alias file, and the aliases the issue promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from testrota.errors import UserError
from testrota.roster.columns import (
    REQUIRED_FIELDS,
    ROSTER_FIELDS,
    HeaderMatcher,
    load_roster_columns,
    normalize_header,
    strip_note,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("工号", "工号"),
        ("工號", "工号"),  # Traditional read as Simplified
        ("工 号", "工号"),
        ("工\u3000号：", "工号"),  # ideographic space, full-width colon
        ("＊工号", "工号"),
        ("Employee ID", "employeeid"),
        ("EMPLOYEE-ID", "employeeid"),
        ("ＥＭＰＬＯＹＥＥ　ＩＤ", "employeeid"),  # full-width Latin
        ("  Job title\n", "jobtitle"),
        ("手機號碼", "手机号码"),
        ("No.", "no"),
        ("#", ""),
    ],
)
def test_normalize_header(text: str, key: str) -> None:
    assert normalize_header(text) == key


def test_strip_note() -> None:
    assert strip_note("手机号（必填）") == "手机号"
    assert strip_note("Phone (mobile)") == "Phone "
    assert strip_note("工号【8位】") == "工号"


def test_the_shipped_file_loads_every_field() -> None:
    aliases = load_roster_columns(CONFIG_DIR)
    assert set(aliases) == set(ROSTER_FIELDS)
    assert all(aliases[f] for f in REQUIRED_FIELDS)


ISSUE_ALIASES = {
    "employee_no": ["工号", "工號", "员工编号", "职工编号", "Employee ID"],
    "name": ["姓名", "Name"],
    "department": ["部门", "部門", "单位", "所属单位", "Department"],
    "role": ["岗位", "崗位", "职务", "工种", "Position", "Role", "Job title"],
    "phone": ["手机号", "手機號碼", "联系电话", "Mobile", "Phone"],
    "grid_unit": ["网格", "網格", "网格单元", "班组", "Grid unit"],
    "person_type": ["人员类别", "Person type"],
    "vaccination": ["加强针", "疫苗接种", "Vaccination"],
    "host_employee_no": ["共同居住", "Host employee"],
    "shift": ["班次", "Shift"],
    "seq": ["序号", "序號", "No."],
    "category": ["风险类别", "Risk category"],
    "booster": ["是否接种加强针", "Booster"],
    "language": ["语言", "Language"],
    "id_number": ["身份证号", "ID number"],
}


@pytest.mark.parametrize(
    ("field", "header"), [(f, h) for f, hs in ISSUE_ALIASES.items() for h in hs]
)
def test_issue_aliases_match_their_field(field: str, header: str) -> None:
    matcher = HeaderMatcher(load_roster_columns(CONFIG_DIR))
    hit = matcher.match(header)
    assert hit is not None and hit[0] == field


def test_matcher_ignores_notes_and_prefers_earlier_aliases() -> None:
    matcher = HeaderMatcher({"phone": ["手机号", "电话"], "name": ["姓名"]})
    assert matcher.match("手机号（必填）") == ("phone", 0)
    assert matcher.match("电话") == ("phone", 1)
    assert matcher.match("姓 名：") == ("name", 0)
    assert matcher.match("备注") is None
    assert matcher.match("") is None


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "roster_columns.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_minimal_file_is_enough(tmp_path: Path) -> None:
    aliases = load_roster_columns(_write(tmp_path, "employee_no: [工号]\nname: 姓名\n"))
    assert aliases == {"employee_no": ("工号",), "name": ("姓名",)}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("- 工号\n- 姓名\n", "expected 'field: [alias, ...]'"),
        ("employee_no: [工号]\nname: [姓名]\nmobile: [手机]\n", "unknown field 'mobile'"),
        ("employee_no: [工号]\nname: [姓名]\nphone: []\n", "phone needs a list"),
        ("employee_no: [工号]\nname: [姓名]\nseq: [No]\n", 'put words such as "No"'),
        ("employee_no: [工号]\nname: [姓名]\nseq: ['#']\n", "no letters or digits"),
        ("employee_no: [工号]\nname: [姓名, 工 號]\n", "are the same header"),
        ("employee_no: [工号]\n", "no aliases for name"),
        ("employee_no: [工号\n", "not valid YAML"),
    ],
)
def test_a_bad_file_is_refused_with_the_reason(tmp_path: Path, text: str, complaint: str) -> None:
    with pytest.raises(UserError, match=complaint.replace("(", r"\(").replace("[", r"\[")):
        load_roster_columns(_write(tmp_path, text))


def test_a_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="file not found"):
        load_roster_columns(tmp_path)

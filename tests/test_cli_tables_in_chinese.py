"""The tables of ``report daily``, ``missed`` and ``units`` read in Chinese with ``--lang zh``:
no English word and no stored code in a cell or a header (found in review: 模式 showed
``normal``, 已确认 ``late`` and ``changed: cli:root``, 时段 ``Tue 05-10``, the unit's name was
headed 姓名 and its 类型 ``unit``/``grid``). English tables and every ``--json`` keep the codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from tests.compliance_fixtures import SH, add_appt, add_person, add_site, local
from tests.missed_world import NOW_ENV, build

# After 10:00 the next day (report.confirm_by): a unit not confirmed is late.
REPORT_ENV = {"TESTROTA_NOW": "2022-05-11T11:00:00+08:00"}


def _report_world(session: Session, cli: Any) -> None:
    """炼钢厂 confirmed in time, then a missed test excused (its figures changed since);
    运输部 never confirmed (late)."""
    add_site(session)
    person = add_person(session, "1", department="炼钢厂", grid_unit="")
    add_person(session, "3", department="运输部", grid_unit="")
    appt = add_appt(session, person, local(SH, 2022, 5, 10, 9, 0), status="missed")
    session.commit()
    env = {"TESTROTA_NOW": "2022-05-11T08:00:00+08:00"}
    done = cli("report", "confirm", "--date", "2022-05-10", "--unit", "炼钢厂", env=env)
    assert done.exit_code == 0, done.output
    appt.status, appt.excused_code = "excused", "quarantine"
    session.add(appt)
    session.commit()


def _cells(output: str, first: str) -> list[str]:
    """The cells of the table row (or the header) whose first cell is ``first``."""
    for line in output.splitlines():
        cells = [c.strip() for c in re.split("[│┃]", line.strip())[1:-1]]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in\n{output}")


def test_report_daily_in_chinese_names_modes_and_confirmations_in_words(
    cli: Any, session: Session
) -> None:
    _report_world(session, cli)
    args = ("report", "daily", "--date", "2022-05-10")
    zh = cli("--lang", "zh", *args, env=REPORT_ENV)
    assert zh.exit_code == 0, zh.output
    steel, transport = _cells(zh.output, "炼钢厂"), _cells(zh.output, "运输部")
    assert steel[-2] == "常态" and steel[-1].startswith("cli:"), steel
    assert steel[-1].endswith(" 确认后有变更"), steel
    assert transport[-2:] == ["常态", "逾期未确认"]
    for english in ("normal", "late", "changed"):
        assert english not in zh.output, zh.output
    # English keeps what scripts read, and JSON keeps the codes in any language
    en = cli("--lang", "en", *args, env=REPORT_ENV)
    assert _cells(en.output, "运输部")[-2:] == ["normal", "late"]
    assert _cells(en.output, "炼钢厂")[-1].startswith("changed: cli:")
    for lang in ("zh", "en"):
        doc = json.loads(cli("--lang", lang, *args, "--json", env=REPORT_ENV).stdout)
        rows = {r["path"]: r for r in doc}
        assert rows["本钢集团/运输部"]["confirmation"] == "late"
        assert rows["本钢集团/运输部"]["mode"] == "normal"
        assert rows["本钢集团/炼钢厂"]["confirmed"]["changed"] is True


def test_missed_in_chinese_names_the_weekday_and_a_compliant_week_in_words(
    cli: Any, engine: Engine
) -> None:
    build(engine)
    zh = cli("--lang", "zh", "missed", env=NOW_ENV)
    assert zh.exit_code == 0, zh.output
    zhang = _cells(zh.output, "1001")
    assert zhang[5] == "周一 05-09 08:00" and zhang[6] == "2/2 已达标", zhang
    assert "周二 05-10 08:00" in zh.output
    for english in ("Mon", "Tue", "Thu", " ok"):
        assert english not in zh.output, zh.output
    en = _cells(cli("--lang", "en", "missed", env=NOW_ENV).output, "1001")
    assert en[5] == "Mon 05-09 08:00" and en[6] == "2/2 ok", en


def test_units_in_chinese_head_the_units_name_名称_and_say_its_kind(
    cli: Any, engine: Engine
) -> None:
    build(engine)
    zh = cli("--lang", "zh", "units")
    assert zh.exit_code == 0, zh.output
    heads = _cells(zh.output, "路径")
    assert heads[:2] == ["路径", "名称"] and heads[4] == "类型", heads
    kinds = {_cells(zh.output, path)[4] for path in ("本钢集团", "本钢集团/炼钢厂/一号网格")}
    assert kinds == {"单位", "网格"}
    assert "姓名" not in zh.output and "grid" not in zh.output and "unit" not in zh.output
    # a person's name is still 姓名 (the same field, another table)
    assert "姓名" in cli("--lang", "zh", "missed", env=NOW_ENV).output
    en = cli("--lang", "en", "units")
    assert _cells(en.output, "path")[:2] == ["path", "name"]
    assert _cells(en.output, "本钢集团/炼钢厂/一号网格")[4] == "grid"
    listed = json.loads(cli("--lang", "zh", "units", "--json").stdout)
    assert {u["kind"] for u in listed} == {"unit", "grid"}


def test_a_skipped_sheet_names_the_missing_columns_as_a_clerk_heads_them(cli: Any) -> None:
    """Found in review: 没有包含 employee_no, name 的表头 and 没有 employee_no or name 列."""
    from tests.conftest import SAMPLE_ROSTERS

    roster = str(SAMPLE_ROSTERS / "steelmaking_plant_zh_hans.xlsx")
    zh = cli("--lang", "zh", "import", roster, "--dry-run")
    assert zh.exit_code == 0, zh.output
    assert "已跳过工作表 '填表说明'：前几行中没有包含 工号和姓名 的表头" in zh.output
    assert "已跳过工作表 '汇总'：第 2 行有 部门，但没有 工号或姓名 列" in zh.output
    en = cli("--lang", "en", "import", roster, "--dry-run")
    assert "row 2 has 部门 but no Employee ID or Name column" in en.output
    for out in (zh.output, en.output):
        assert "employee_no" not in out and " or name" not in out, out
    # JSON keeps its keys; each reason follows the language, the words kept in both
    for lang, reason in (("zh", "第 2 行有 部门，但没有 工号或姓名 列"), ("en", "row 2 has")):
        doc = json.loads(cli("--lang", lang, "import", roster, "--dry-run", "--json").stdout)
        summary = next(s for s in doc["skipped_sheets"] if s["name"] == "汇总")
        assert summary["reason"].startswith(reason), summary
        assert summary["params"]["missing"] == {"en": "Employee ID or Name", "zh": "工号或姓名"}


def test_a_file_without_a_header_is_refused_in_the_clerks_language(
    cli: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "名单.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    zh = cli("--lang", "zh", "import", str(bad), "--dry-run")
    assert zh.exit_code == 2
    assert "找不到可识别的表头行（需要 工号和姓名 列）" in zh.output
    assert "'名单.csv'：前几行中没有包含 工号和姓名 的表头" in zh.output
    assert "看到的表头：工作表 '名单.csv'：'a', 'b'" in zh.output
    assert "可识别的列名：工号：工号, 工號" in zh.output and "；姓名：姓名" in zh.output
    assert "可选列：部门、网格、岗位、手机号" in zh.output
    for code in ("employee_no", "grid_unit", "no header row", "sheet '"):
        assert code not in zh.output, zh.output
    en = cli("--lang", "en", "import", str(bad), "--dry-run")
    assert "it needs columns for Employee ID and Name" in en.output
    assert "Known names: Employee ID: 工号" in en.output and "employee_no" not in en.output

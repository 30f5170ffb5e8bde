"""Switching a unit's emergency mode re-plans its people at once and texts "your plan changed"
to each person whose coming appointments changed, and to nobody else, through the outbox (one
text per change and person, after quiet hours); onsite mode is refused where the people living
on site could not be tested."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import UTC, date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, select

from testrota.db import tables
from testrota.notify.outbox import in_quiet_hours
from testrota.notify.plan_changes import ChangedPlan, plan_change_texts
from testrota.notify.templates import load_templates
from testrota.policy import ReminderPolicy
from tests.compliance_fixtures import NY, SH, local, write_xlsx
from tests.conftest import CONFIG_DIR
from tests.web_support import SECRET

HEADER = ["工号", "姓名", "部门路径", "网格", "岗位", "手机号", "是否驻厂", "语言"]
FRIDAY = {"TESTROTA_NOW": "2022-05-06T12:00:00+08:00", "TESTROTA_SECRET_KEY": SECRET}
FRIDAY_NIGHT = {**FRIDAY, "TESTROTA_NOW": "2022-05-06T23:10:00+08:00"}
ROWS = [
    ["1001", "张一", "板材公司/炼钢厂", "甲班", "司机", "13800000001", "否", "中文"],
    ["1002", "张二", "板材公司/炼钢厂", "乙班", "文员", "13800000002", "否", "English"],
    ["2001", "李一", "运输部", "", "司机", "13800000003", "否", "中文"],
    ["3001", "王一", "板材公司/冷轧厂", "丙班", "司机", "13800000004", "是", "中文"],
]


def _ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _schedule(cli: Any, env: dict[str, str]) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in _ok(cli("schedule", "--week", "2022-W19", "--format", "json", env=env)):
        out[r["employee_no"]].add((r["site"], r["starts_at"]))
    return out


def _set(cli: Any, mode: str, unit: str, env: dict[str, str], **extra: str) -> Any:
    args = ["mode", "set", mode, "--unit", unit, "--from", "2022-05-09", "--reason", "防控通知"]
    return cli(*args, "--json", env={**env, **extra})


def _texts(engine: Engine) -> list[Any]:
    m, p = tables.MESSAGE, tables.PERSON
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(p.c.employee_no, m.c.body, m.c.due_at, m.c.dedupe_key, m.c.tz, m.c.language)
                .join(p, p.c.id == m.c.person_id)
                .where(m.c.kind == "plan_changed")
                .order_by(p.c.employee_no)
            )
        )


def test_a_mode_switch_texts_exactly_the_people_whose_plan_changed(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    _ok(cli("import", str(write_xlsx(tmp_path / "r.xlsx", HEADER, ROWS)), "--json", env=FRIDAY))
    _ok(cli("plan", "--week", "2022-W19", "--json", env=FRIDAY))
    before = _schedule(cli, FRIDAY)
    done = _ok(_set(cli, "static", "板材公司/炼钢厂", FRIDAY_NIGHT))
    after = _schedule(cli, FRIDAY)
    changed = {no for no in before.keys() | after.keys() if before[no] != after[no]}
    assert changed == {"1001", "1002"}  # the static unit's people, 1002 not high-risk
    texts = _texts(engine)
    assert [t.employee_no for t in texts] == ["1001", "1002"] and done["texted"] == 2
    for t in texts:
        # set at 23:10, in quiet hours: due at 07:00 the next morning, Shanghai time
        assert t.due_at.astimezone(SH) == local(SH, 2022, 5, 7, 7, 0)
        assert (
            t.dedupe_key
            == f"plan_changed:mode:{done['id']}:person:" + t.dedupe_key.rsplit(":", 1)[1]
        )
    zh, en = texts
    assert "采样安排已变更" in zh.body and "5月9日周一" in zh.body
    assert en.language == "en" and "plan changed" in en.body and "Mon 9 May" in en.body
    # The same mode set again changes nobody's appointments: no new text.
    again = _ok(_set(cli, "static", "板材公司/炼钢厂", FRIDAY_NIGHT))
    assert again["replanned"] == ["2022-W19"] and again["texted"] == 0
    assert len(_texts(engine)) == 2
    # Working from home takes 2001's tests away: told there is no test at a site for now.
    home = _ok(_set(cli, "wfh", "运输部", FRIDAY))
    assert home["texted"] == 1 and _schedule(cli, FRIDAY)["2001"] == set()
    [told] = [t for t in _texts(engine) if t.employee_no == "2001"]
    assert "暂无" in told.body and "/me/" in told.body
    assert told.due_at.astimezone(SH) == local(SH, 2022, 5, 6, 12, 0)
    # Without a key to sign the personal link the mode is still set and planned; the JSON says
    # how many people could not be told.
    no_key = {"TESTROTA_NOW": FRIDAY["TESTROTA_NOW"], "TESTROTA_SECRET_KEY": ""}
    back = _ok(_set(cli, "normal", "运输部", no_key))
    assert (back["texted"], back["not_texted"]) == (0, 1)
    assert len(_schedule(cli, FRIDAY)["2001"]) == 2


def test_onsite_mode_is_refused_without_an_on_site_site(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    sites = yaml.safe_load((config / "sites.yaml").read_text(encoding="utf-8"))
    for s in sites["sites"]:
        s.pop("onsite", None)
    (config / "sites.yaml").write_text(yaml.safe_dump(sites, allow_unicode=True), "utf-8")
    env = {**FRIDAY, "TESTROTA_CONFIG_DIR": str(config)}
    _ok(cli("import", str(write_xlsx(tmp_path / "r.xlsx", HEADER, ROWS)), "--json", env=env))
    refused = _set(cli, "onsite", "板材公司/冷轧厂", env)
    assert refused.exit_code == 2
    assert "onsite: true" in refused.output and "冷轧厂" in refused.output
    # an on-site site that serves only another department's residents is no better
    sites["sites"][-1].update(onsite=True, serves={"departments": ["炼钢厂"]})
    (config / "sites.yaml").write_text(yaml.safe_dump(sites, allow_unicode=True), "utf-8")
    refused = _set(cli, "onsite", "板材公司/冷轧厂", env)
    assert refused.exit_code == 2 and "3001" in refused.output
    with engine.connect() as conn:
        assert conn.execute(select(tables.UNIT_MODE_CHANGE.c.id)).first() is None
    # with the shipped sites (the dormitory's site is on site) it is accepted
    assert _set(cli, "onsite", "板材公司/冷轧厂", FRIDAY).exit_code == 0


def test_the_text_in_new_york_waits_for_the_morning_after_the_clocks_change() -> None:
    templates = load_templates(CONFIG_DIR)
    now = local(NY, 2022, 11, 5, 23, 30)  # the fall-back night
    nxt = local(NY, 2022, 11, 7, 9, 0).astimezone(UTC)
    change = ChangedPlan(5, "Ann", "+12125550100", "en", "America/New_York", NY, nxt, "Gate 1")
    [row] = plan_change_texts([change], "mode:3", now, ReminderPolicy(), templates, str)
    assert row.due_at.astimezone(NY) == local(NY, 2022, 11, 6, 7, 0)
    assert row.due_at.astimezone(NY).utcoffset() is not None
    assert not in_quiet_hours(row.due_at, NY, ReminderPolicy())
    assert "Mon 7 Nov 09:00, Gate 1" in row.body and row.segments <= 2
    assert row.dedupe_key == "plan_changed:mode:3:person:5"
    assert date(2022, 11, 6) == row.due_at.astimezone(NY).date()

"""Words for unit supervisors' finishing touches (issue 15, second round): ``users set``, the
week's modes on the dashboard, the trend in the API and the plan's reasons on the mode form."""

from __future__ import annotations

ZH_UNITS15B: dict[str, str] = {
    # testrota users set
    "nothing to change: give --unit, --no-units, --department, --no-departments, --role or "
    "--language": "没有要修改的内容：请给出 --unit、--no-units、--department、--no-departments、"
    "--role 或 --language",
    "--unit and --no-units cannot be used together": "--unit 与 --no-units 不能同时使用",
    "--department and --no-departments cannot be used together": (
        "--department 与 --no-departments 不能同时使用"
    ),
    "changed {name}": "已修改 {name}",
    # the dashboard's modes over the week viewed
    "Emergency modes in week {week} ({first} – {last})": "{week} 周的应急模式（{first} – {last}）",
    "All your units were in normal mode that week: the weekly plan as usual.": (
        "该周您的各单位均为常态：按每周计划检测。"
    ),
    # the planner's reasons for people left unplaced (after a re-plan or a mode switch)
    "{n} people left unplaced: {reason}": "{n} 人未排上：{reason}",
    "no testing site serves this department or grid unit": "没有为该部门或网格服务的采样点",
    "no slot left this week in the hours this person's shift can be tested": (
        "本周在此人班次可检测的时间内已没有时段"
    ),
    "not enough days left this week to keep the minimum gap between tests": (
        "本周剩余天数不足，无法保持两次检测的最短间隔"
    ),
    "the slots this person can use are full": "此人可用的时段均已约满",
    "Re-planned {weeks}: {texted} people texted that their plan changed.": (
        "已重新排程 {weeks}：已向 {texted} 人发送排程变更短信。"
    ),
    "{n} people whose plan changed were not texted: TESTROTA_SECRET_KEY is not set.": (
        "{n} 名排程有变的人未收到短信：未设置 TESTROTA_SECRET_KEY。"
    ),
}

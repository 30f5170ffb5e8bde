"""Chinese of the words added for supervisors by unit (users page, dashboard modes, the daily
report's trend), kept apart from the main catalogue so parallel work merges cleanly;
:mod:`testrota.web.i18n` adds these to :data:`~testrota.web.i18n.ZH`."""

from __future__ import annotations

ZH_UNITS: dict[str, str] = {
    # the users page
    "Units": "单位",
    "Units of {name}": "{name} 的单位",
    "a unit and everything below it: its path or code": "单位及其下属单位：填写路径或代码",
    "Find a unit": "查找单位",
    "A supervisor given a unit sees it and every unit below it. Type part of its path, "
    "then copy the path into the user's units.": (
        "主管被指定某单位后，可查看该单位及其全部下属单位。"
        "输入路径的一部分进行查找，再把路径填入用户的单位。"
    ),
    "Path contains": "路径包含",
    "No unit's path contains {text}.": "没有路径包含 {text} 的单位。",
    # the dashboard's emergency modes
    "Your units": "您的单位",
    "Emergency modes on {day}": "{day} 的应急模式",
    "Period": "期间",
    "What it means": "含义",
    "set on {unit}": "由 {unit} 设定",
    "and {n} unit(s) below it": "及其下属 {n} 个单位",
    "until changed": "直至更改",
    "All your units are in normal mode today: the weekly plan as usual.": (
        "您的各单位今天均为常态：按每周计划检测。"
    ),
    "Normal: the weekly plan as usual.": "常态：按每周计划检测。",
    "Static control: everyone in the unit is tested every day, each grid unit in slots of "
    "its own.": "静态管控：单位内所有人每天检测，每个网格单独安排时段。",
    "Closed-loop production on site: people living on site are tested every day; the "
    "others are not booked at a site.": "驻厂封闭生产：驻厂人员每天检测；其他人员不安排到检测点。",
    "Working from home: nobody is booked at a site, and results from community testing "
    "count.": "居家办公：不安排到检测点，社区检测结果同样有效。",
    "Keeping production going: every key post needs a tested person each day; the daily "
    "report shows whether it had one.": (
        "保产保供：每个关键岗位每天都须有已检测人员；日报显示是否做到。"
    ),
    # the daily report's trend
    "Weekly rate over the last {n} weeks": "近 {n} 周的周检测率",
    "Each week's tested / required, summed over its days up to {day}; a week nobody was due "
    "has no data.": "每周的实检 / 应检，按日累计至 {day}；无人应检的周显示为无数据。",
    "Days": "日期",
    "Bar": "条形图",
    "no data": "无数据",
    "weeks {weeks}: give 1 to {most}": "周数 {weeks}：请填写 1 到 {most}",
    # messages of the users use cases (UserError templates)
    "at most {n} units per user": "每个用户最多 {n} 个单位",
    "a unit path has at most {n} characters": "单位路径最多 {n} 个字符",
    # users set, the week's modes on the dashboard, the trend in the API, the plan's reasons
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

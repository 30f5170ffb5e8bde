"""Chinese of the words added for supervisors by unit (users page, dashboard modes, the daily
report's trend), kept apart from the main catalogue so parallel work merges cleanly;
:mod:`testrota.web.i18n` adds these to :data:`~testrota.web.i18n.ZH`."""

from __future__ import annotations

ZH_UNITS15: dict[str, str] = {
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
    # messages of the users use cases (UserError templates)
    "at most {n} units per user": "每个用户最多 {n} 个单位",
    "a unit path has at most {n} characters": "单位路径最多 {n} 个字符",
}

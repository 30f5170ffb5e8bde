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
}

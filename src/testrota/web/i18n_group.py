"""Chinese of the group's pages (the daily report) and of their messages, kept apart from the
main catalogue so the two grow without stepping on each other; :mod:`testrota.web.i18n` adds
these to :data:`~testrota.web.i18n.ZH`."""

from __future__ import annotations

ZH_GROUP: dict[str, str] = {
    "Daily report": "日报",
    "Units above": "上级单位",
    "Date": "日期",
    "Show": "查看",
    "Rate = tested / required; each unit includes the units below it.": "检测率 = 实检 / 应检；各单位含其下属单位。",
    "Unit": "单位",
    "Employees": "职工",
    "Co-residents": "共同居住人员",
    "Third-party": "第三方人员",
    "Required": "应检",
    "Tested": "实检",
    "Untested": "未检",
    "Rate": "检测率",
    "Extra": "非应检已检",
    "Positive": "阳性",
    "Booster": "加强针",
    "Confirmation": "确认",
    "None given": "未说明",
    "confirmed": "已确认",
    "confirmed_late": "逾期确认",
    "late": "逾期未确认",
    "waiting": "待确认",
    "changed since": "确认后有变更",
    "Note": "备注",
    "Confirm these figures": "确认上报",
    "Lowest rates": "检测率最低的单位",
    "{n} untested": "未检 {n} 人",
    "Confirmed {unit} for {day}.": "已确认 {unit} {day} 的日报。",
    "Confirmed {unit} for {day}, after the deadline.": "已确认 {unit} {day} 的日报（已逾期）。",
    # messages of the group's use cases (UserError templates)
    "--date {text!r}: write it like 2022-05-09": "日期 {text!r}：请写成 2022-05-09 的格式",
    "no unit {path}{hint}; testrota units lists them": "没有单位 {path}{hint}；testrota units 可列出全部单位",
    "{unit} is not one of your units": "{unit} 不是您负责的单位",
    "choose one of your units: {units}": "请选择您负责的单位之一：{units}",
    "--levels {levels}: give 0 to {most}": "--levels {levels}：请给出 0 到 {most}",
    "the note is {length} characters; keep it under {limit}": "备注有 {length} 个字，请不超过 {limit} 个",
    "{day} has not happened yet; confirm a day's figures once it is over": "{day} 尚未结束，请在当天结束后再确认",
    "unknown excuse reason code {code!r}; use one of {known}": "未知的请假原因代码 {code!r}，请使用：{known}",
}

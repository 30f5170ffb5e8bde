"""Chinese of the exemptions page (``/exemptions``), kept apart from the main catalogue;
:mod:`testrota.web.i18n` adds these to :data:`~testrota.web.i18n.ZH`."""

from __future__ import annotations

ZH_EXEMPTIONS: dict[str, str] = {
    # the list
    "{n} exemptions": "共 {n} 条",
    "Only the first {n} exemptions are shown; choose a day or a department to see the others.": (
        "仅显示前 {n} 条豁免；请选择日期或部门查看其余记录。"
    ),
    "An exempt person is not planned on those days, and their appointments then that are not "
    "done are excused. A positive result adds one by itself.": (
        "豁免期间不为此人排班，期间尚未完成的预约一律免检。检测结果为阳性时系统会自动添加豁免。"
    ),
    "Exempt on": "豁免日期",
    "Ended ones too": "包括已结束的",
    "First day": "开始日期",
    "Last day": "结束日期",
    "Added by": "登记人",
    "End": "结束",
    "End…": "结束…",
    "positive result": "阳性结果",
    "added by hand": "人工登记",
    "current": "进行中",
    "upcoming": "未开始",
    "over": "已结束",
    "No exemptions for this selection.": "没有符合条件的豁免。",
    # adding one
    "Add an exemption": "添加豁免",
    "Add the exemption": "添加豁免",
    "Both days are included; at most {days} days. Appointments on those days that are not "
    "done are excused, and their reminders cancelled.": (
        "含开始和结束两天，最长 {days} 天。期间尚未完成的预约将免检，其提醒短信也将取消。"
    ),
    "Give the person's employee number.": "请填写工号。",
    "Give the first day.": "请填写开始日期。",
    "Give the last day.": "请填写结束日期。",
    "Say why the person is exempt (e.g. sick leave, business trip).": (
        "请填写豁免原因（如：病假、出差）。"
    ),
    "Exempted {name} ({employee_no}) from {start} to {end}: {n} appointment(s) excused.": (
        "已豁免 {name}（{employee_no}），{start} 至 {end}：{n} 个预约已免检。"
    ),
    # ending one
    "End the exemption": "结束豁免",
    "End this exemption?": "确定结束此豁免？",
    "{name} is tested again from the day below: the coming appointments this exemption "
    "excused are scheduled again, with their reminders. If it has not begun by then, it is "
    "removed.": (
        "{name} 从下面的日期起恢复检测：此豁免免检的后续预约将重新排上，并恢复提醒短信。"
        "如果届时豁免尚未开始，则将其删除。"
    ),
    "First day back": "恢复检测日期",
    "The exemption of {name} ({employee_no}) is removed: it had not begun.": (
        "{name}（{employee_no}）的豁免尚未开始，已删除。"
    ),
    "The exemption of {name} ({employee_no}) now ends on {end}.": (
        "{name}（{employee_no}）的豁免现于 {end} 结束。"
    ),
    "{n} coming appointment(s) scheduled again.": "{n} 个后续预约已重新排上。",
}

"""Chinese of the warnings about supervisors whose department or unit has nobody on the
roster any more (testrota.auth.stale): the import's summary, the users list and page."""

from __future__ import annotations

ZH_SCOPES: dict[str, str] = {
    "supervisor {user}'s department {entry} no longer has anyone on the roster: they see no one there and get no texts about it": "主管 {user} 的部门「{entry}」在花名册上已经没有人了：他们在这里看不到任何人，也收不到相关短信",
    "supervisor {user}'s department {entry} no longer has anyone on the roster (its {n} people are now in {to})": "主管 {user} 的部门「{entry}」在花名册上已经没有人了（原有的 {n} 人现在在「{to}」）",
    "supervisor {user}'s unit {entry} no longer has anyone on the roster: they see no one there and get no texts about it": "主管 {user} 的单位「{entry}」在花名册上已经没有人了：他们在这里看不到任何人，也收不到相关短信",
    "supervisor {user}'s unit {entry} no longer has anyone on the roster (its {n} people are now in {to})": "主管 {user} 的单位「{entry}」在花名册上已经没有人了（原有的 {n} 人现在在「{to}」）",
    "change it with {command} or on the users page": "可用 {command} 或在用户页面修改",
    "change a supervisor who sees no one with:": "修改看不到任何人的主管：",
    "{entry}: no one on the roster (its {n} people are now in {to})": "{entry}：花名册上已无人（原有的 {n} 人现在在「{to}」）",
    "{entry}: no one on the roster": "{entry}：花名册上已无人",
    "Supervisors who now see no one": "现在看不到任何人的主管",
    "These supervisors' departments or units have nobody on the roster after this import, so their lists and daily report are empty and their texts stop. Their access is not changed for them: change it on the users page.": "本次导入后，以下主管的部门或单位在花名册上已经没有人，他们的名单和日报将为空，也收不到短信。系统不会自动修改他们的权限：请在用户页面修改。",
    "Change on the users page": "在用户页面修改",
    "no one on the roster": "花名册上已无人",
    "its {n} people are now in {to}": "原有的 {n} 人现在在「{to}」",
    "Some supervisors see no one: a department or unit of theirs has nobody on the roster any more (renamed by HR's roster?). Change it in their row below.": "部分主管看不到任何人：他们的部门或单位在花名册上已经没有人（花名册改名了？）。请在下方该用户的行中修改。",
}

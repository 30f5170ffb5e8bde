"""Interface text in Simplified Chinese and English.

Templates and handlers write English and call ``_("...")``; :data:`ZH` holds the Chinese. A test
walks the templates and fails when a string has no Chinese, so the catalogue cannot fall behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "imported_goods": ("进口货物", "imported goods"),
    "cold_chain": ("冷链", "cold chain"),
    "food_delivery": ("外卖", "food delivery"),
    "logistics_services": ("后勤服务", "logistics / support services"),
    "construction_site": ("建筑工地", "construction site"),
    "canteen": ("食堂", "canteen"),
    "hotel": ("酒店", "hotel"),
    "supermarket": ("商超", "supermarket / mall"),
    "school": ("学校", "school"),
    "apartment": ("公寓", "apartment / dormitory"),
    "commuter_bus": ("通勤车", "commuter bus"),
    "cargo_transfer": ("接送货物", "cargo pick-up and delivery"),
    "railway": ("铁路", "railway"),
    "cleaning": ("保洁", "cleaning"),
    "gate_guard": ("门卫", "gate guard"),
    "driver": ("司机", "driver"),
}

ZH: dict[str, str] = {
    "testrota": "检测排班",
    "Skip to content": "跳到正文",
    "Dashboard": "概览",
    "People": "人员",
    "Roles": "岗位",
    "Schedule": "排班",
    "Check-in": "签到",
    "Status lookup": "状态查询",
    "Missed tests": "漏检",
    "Roster upload": "花名册上传",
    "Results upload": "结果上传",
    "Outbox": "短信",
    "Users": "用户",
    "API": "接口",
    "Sign in": "登录",
    "Sign out": "退出",
    "User name": "用户名",
    "Password": "密码",
    "Wrong user name or password.": "用户名或密码错误。",
    "Too many failed sign-ins. Try again in {minutes} min.": "登录失败次数过多，请 {minutes} 分钟后再试。",
    "Your sign-in has expired. Please sign in again.": "登录已过期，请重新登录。",
    "You have been signed out. Please sign in again.": "您已退出登录，请重新登录。",
    "The form has expired or was sent from another page. Reload the page and try again.": "表单已过期或来源不明，请刷新页面后重试。",
    "You do not have access to this page.": "您无权访问此页面。",
    "Not found.": "未找到。",
    "The input contains characters that cannot be stored.": "输入中含有无法保存的字符。",
    "A number in the request is out of range.": "请求中的数字超出范围。",
    "The change refers to something that has changed or no longer exists. Reload the page "
    "and try again.": "此修改涉及的内容已变化或已不存在，请刷新页面后重试。",
    "The upload is too large: at most {mb} MB.": "上传的文件太大：最多 {mb} MB。",
    "The request is too large: at most {kb} KB.": "请求太大：最多 {kb} KB。",
    "Something went wrong": "出错了",
    "Back to the start": "返回首页",
    "Language": "语言",
    "中文": "中文",
    "English": "English",
    "Signed in as {name} ({role})": "当前用户 {name}（{role}）",
    "admin": "管理员",
    "hr": "人事",
    "supervisor": "主管",
    "site": "检测点",
    "Search": "搜索",
    "Filter": "筛选",
    "Reset": "重置",
    "Save": "保存",
    "Cancel": "取消",
    "Apply": "应用",
    "Week": "周",
    "Department": "部门",
    "All departments": "全部部门",
    "Grid unit": "网格",
    "All grid units": "全部网格",
    "Category": "类别",
    "All categories": "全部类别",
    "Role": "岗位",
    "Name": "姓名",
    "Employee no.": "工号",
    "Phone": "手机号",
    "Site": "检测点",
    "Slot": "时段",
    "Status": "状态",
    "Active": "在职",
    "Inactive": "已停用",
    "High-risk": "高风险",
    "Not high-risk": "非高风险",
    "Any": "不限",
    "Yes": "是",
    "No": "否",
    "Reason": "原因",
    "Previous": "上一页",
    "Next": "下一页",
    "Page {page} of {pages}": "第 {page} / {pages} 页",
    "{n} people": "{n} 人",
    "{n} rows": "{n} 行",
    "Nothing to show.": "暂无数据。",
    "Download .xlsx": "下载 .xlsx",
    "Download .csv": "下载 .csv",
    "Matched by": "匹配依据",
    "matched text": "匹配文本",
    "Person type": "人员类别",
    "employee": "员工",
    "third_party": "第三方人员",
    "co_resident": "共同居住人",
    "Shift": "班次",
    "day": "白班",
    "night": "夜班",
    "rotating": "倒班",
    "Vaccination": "疫苗接种",
    "Opted out of texts": "已退订短信",
    "No valid phone": "手机号无效",
    "scheduled": "已排",
    "done": "已检",
    "missed": "漏检",
    "excused": "已免检",
    "cancelled": "已取消",
    "pending": "待发送",
    "sending": "发送中",
    "queued": "排队中",
    "sent": "已发送",
    "delivered": "已送达",
    "undelivered": "未送达",
    "failed": "失败",
    "unknown": "未知",
    "expired": "已过期",
    "negative": "阴性",
    "positive": "阳性",
    "invalid": "无效",
    "title": "岗位名称",
    "synonym": "同义词",
    "department": "部门",
    "column": "类别列",
    "override": "人工指定",
    ".xlsx, .xls, .ods or .csv, up to {mb} MB. Nothing is written until you apply the preview.": ".xlsx、.xls、.ods 或 .csv，最大 {mb} MB。确认预览前不会写入任何数据。",
    "Add": "添加",
    "Add a user": "添加用户",
    "Already checked in at {at}: nothing recorded.": "已于 {at} 签到，本次未重复记录。",
    "Applied": "已导入",
    "Apply these results now?": "现在导入这些结果？",
    "Apply this roster now?": "现在导入这份花名册？",
    (
        "Applying this full roster would deactivate {n} of {active} active people ({share}), "
        "more than the limit of {limit}. Was the file complete? Tick the box below "
        "only if it was."
    ): (
        "按完整花名册导入将停用 {active} 名在职人员中的 {n} 人（{share}），超过上限 "
        "{limit}。文件是否完整？只有确认完整时才勾选下面的选项。"
    ),
    "Attempts": "尝试次数",
    "Book a make-up test": "预约补检",
    "Book this slot": "预约这个时段",
    "Booked: {when} at {site}.": "已预约：{when}，{site}。",
    "By": "操作人",
    "Cancelled: nothing was written.": "已取消，未写入任何数据。",
    "Check these columns": "请检查以下各列",
    "{n} coming appointments released.": "已释放 {n} 个待检预约。",
    "Applying releases {n} coming appointments of leavers and of people no longer high-risk; "
    "their pending reminders are cancelled.": "应用后将释放离职人员和不再属于高风险人员的 {n} 个待检预约，并取消其待发提醒短信。",
    "Sheet {sheet}: the column {column} (column {letter}) was not imported, but {share} of its "
    "values look like {what}. If that is what it holds, rename its header and upload again.": "工作表 {sheet}：“{column}”列（第 {letter} 列）未导入，但其中 {share} 的内容像是{what}。"
    "如果确实如此，请修改该列的表头后重新上传。",
    "Sheet {sheet} has no phone column: {n} of its {total} people cannot get reminder texts.": "工作表 {sheet} 没有手机号列：其中 {total} 人中有 {n} 人收不到提醒短信。",
    "mobile phone numbers": "手机号",
    "ID numbers": "身份证号",
    "employee numbers already on the roster": "花名册中已有的工号",
    "clears the {field} of {n} people": "将清空 {n} 人的{field}",
    "clears the {field} of 1 person": "将清空 1 人的{field}",
    "grid unit": "网格",
    "role": "岗位",
    "phone number": "手机号",
    "ID number": "身份证号",
    "vaccination note": "疫苗接种情况",
    "booster record": "加强针记录",
    "risk category": "风险类别",
    "Category saved.": "类别已保存。",
    "Change": "改约",
    "Changes": "变更",
    "Check in": "签到",
    "Checked in at {at}, but not expected now.": "已于 {at} 签到，但此时段不在排班中。",
    "Checked in at {at}. Expected in this slot ({slot}).": "已于 {at} 签到，排班时段 {slot}。",
    "Choose a category.": "请选择类别。",
    "Choose your site": "选择检测点",
    "Choose…": "请选择…",
    "Column": "列",
    "Compliance": "达标率",
    "Compliance by department": "各部门达标率",
    "Compliance over recent weeks": "近几周达标率",
    "Compliant this week": "本周已达标",
    "Dashed line: target {t}": "虚线：目标 {t}",
    "Departments": "部门",
    "Done": "已检",
    "Download the error report (.xlsx)": "下载错误报告（.xlsx）",
    "Drop a spreadsheet here": "把表格文件拖到这里",
    "Due": "计划发送",
    "Employee no. or phone": "工号或手机号",
    "Errors": "错误",
    "Excuse": "免检",
    "Excused": "已免检",
    "Excused {name}: {n} appointment(s).": "已为 {name} 免检 {n} 次。",
    "Figures as of {at}": "数据截至 {at}",
    "File": "文件",
    "Free slots at {site} this week:": "{site} 本周可选时段：",
    "Hello, {name}": "{name}，您好",
    "High-risk by category": "各类别高风险人数",
    "High-risk people": "高风险人员",
    "Highlighted: missed two weeks or more in a row.": "高亮：连续两周或以上漏检。",
    "Kind": "类型",
    "Last test": "最近检测",
    "Look up": "查询",
    "Map": "映射",
    "Map titles to categories": "把岗位映射到类别",
    "Map to": "映射为",
    "Mapped on the roles page": "在岗位页面设置",
    "Missed": "漏检",
    "Name, employee no., phone or ID number": "姓名、工号、手机号或身份证号",
    "New password": "新密码",
    "Next slot": "下次时段",
    "No missed tests for this selection.": "所选范围内没有漏检。",
    (
        "No other slot fits the rules this week (capacity, two days between tests, "
        "your shift). Please keep your slot or ask your supervisor."
    ): "本周没有其他符合规则的时段（容量、两次检测间隔、班次）。请保留原时段或联系主管。",
    "No person with employee number {number}.": "没有工号为 {number} 的人员。",
    "{number} could be {n} people: type the whole number.": "{number} 可能是 {n} 个人：请输入完整工号。",
    "People with this number": "工号相近的人员",
    "No tests planned for you right now.": "目前没有为您安排检测。",
    "Nothing has been written yet. Check the changes, then apply or cancel.": "尚未写入任何数据。请核对变更，然后确认导入或取消。",
    "Nothing planned for this week yet.": "本周尚未排班。",
    "Only an admin can add an admin.": "只有管理员可以添加管理员。",
    "Only an admin can change an admin.": "只有管理员可以修改管理员。",
    "No such user.": "没有此用户。",
    "That slot does not exist. Choose one of the slots offered.": "没有这个时段，请从列出的时段中选择。",
    "Signed in": "登录中",
    "Sign out everywhere": "全部退出",
    "{name} was signed out of {n} sign-in(s).": "已结束 {name} 的 {n} 个登录。",
    "Only titles no rule matched": "只看未匹配的岗位",
    "Overdue: missed a test this week": "逾期：本周有漏检",
    "Override reason": "人工指定原因",
    "Positive result": "阳性结果",
    "Positive alerts": "阳性预警",
    "a positive case in another department": "其他部门的一例阳性",
    "Open alerts only": "只看未关闭的预警",
    "Closed alerts too": "含已关闭的预警",
    "No open alerts.": "没有未关闭的预警。",
    "Extra test": "加检",
    "same grid unit": "同网格",
    "same slot": "同一采样时段",
    "open": "未关闭",
    "closed": "已关闭",
    "Preview": "预览",
    "Problem": "问题",
    "Re-plan this week": "重新排本周",
    "Re-plan {week}? Appointments already done, missed or started are kept.": "重新排 {week}？已完成、已漏检或已开始的预约保持不变。",
    "Reading and checking the file…": "正在读取并检查文件…",
    "Recent check-ins": "最近签到",
    "Recent imports": "最近导入",
    "Remove the mapping (match automatically)": "取消映射（自动匹配）",
    "Remove the override (match automatically)": "取消人工指定（自动匹配）",
    "Required": "应检",
    "Result": "结果",
    "Results applied: {recorded} recorded, {unchanged} unchanged.": "结果已导入：记录 {recorded} 条，未变 {unchanged} 条。",
    "Retry": "重发",
    "Retry all {n} failed": "重发全部 {n} 条失败短信",
    "Role or department": "岗位或部门",
    "Roster applied: {added} added, {updated} updated, {deactivated} deactivated.": "花名册已导入：新增 {added} 人，更新 {updated} 人，停用 {deactivated} 人。",
    "Row": "行",
    "Sampled at": "采样时间",
    "Scheduled tests": "已排检测",
    "Send every failed text again?": "重新发送所有失败的短信？",
    "Sender capacity": "短信发送能力",
    "Set category": "设置类别",
    "Sheet": "工作表",
    "Sheet (optional)": "工作表（可选）",
    "Sheets skipped": "跳过的工作表",
    "Show": "显示",
    "Slot missed": "漏检时段",
    "Source": "来源",
    "Stop texting me": "不再给我发短信",
    "Test due this week": "本周仍需检测",
    "Tests": "检测记录",
    "Tests / required": "已检 / 应检",
    "Text": "短信内容",
    "Texts": "短信",
    "Texts are on again.": "已恢复短信提醒。",
    "The first {n} are shown.": "只显示前 {n} 条。",
    "Their next slot: {when} at {site}.": "下次时段：{when}，{site}。",
    "This file is the whole roster: deactivate people missing from it": "这是完整花名册：停用文件中没有的人员",
    "This person is not in your departments.": "此人不在您管理的部门。",
    "To": "收件人",
    "Turn texts back on": "恢复短信提醒",
    "Type or scan an employee number.": "请输入或扫描工号。",
    "Unmatched role titles": "未匹配的岗位",
    "Upload and preview": "上传并预览",
    "User {name} added.": "已添加用户 {name}。",
    "User {name} saved.": "已保存用户 {name}。",
    "Value": "值",
    "We text you the evening before and an hour before each test.": "每次检测前一晚和提前一小时会给您发短信提醒。",
    "Week {week} planned.": "{week} 已排班。",
    "Weeks in a row": "连续周数",
    "When": "时间",
    "Yes, deactivate them": "是的，停用这些人员",
    "You cannot disable yourself or change your own role.": "不能停用自己或修改自己的角色。",
    "You have opted out of texts. You still need to be tested.": "您已退订短信，但仍需按时检测。",
    "You will get no more texts from us.": "我们不会再给您发短信。",
    "Your departments": "您的部门",
    "Your tests": "您的检测",
    "added": "新增",
    "all": "全部",
    "automatic": "自动匹配",
    "classified differently": "分类不同",
    "compliant": "已达标",
    "deactivated": "停用",
    "errors": "错误",
    "for supervisors, comma separated": "主管适用，用逗号分隔",
    "high_risk": "高风险",
    "not expected": "不在排班",
    "or": "或",
    "recorded": "记录",
    "rows": "行数",
    "sampled": "采样于",
    "skipped": "跳过",
    "this department only": "仅此部门",
    "unchanged": "未变",
    "unmatched": "未匹配",
    "updated": "更新",
    "{booked} booked of {capacity} places": "已约 {booked} / 共 {capacity} 个名额",
    "{name} is no longer on the active roster; ask HR.": "{name} 已不在在职名单中，请联系人事。",
    "{n} contacts to test": "{n} 名密接待检",
    "{n} missed slots, {p} people": "漏检 {n} 次，共 {p} 人",
    "{n} people unscheduled": "{n} 人未排上",
    "{n} places left": "剩余 {n} 个名额",
    "{n} texts queued again.": "已重新排队 {n} 条短信。",
    "{n} titles, {p} people": "{n} 个岗位，{p} 人",
    "{role} → {category}: {n} people reclassified.": "{role} → {category}：{n} 人已重新分类。",
    "{scheduled} of {required} tests scheduled": "已排 {scheduled} / 应排 {required} 次检测",
    "{tests} of {required} tests this week": "本周已检 {tests} / 应检 {required} 次",
    "Mon": "周一",
    "Tue": "周二",
    "Wed": "周三",
    "Thu": "周四",
    "Fri": "周五",
    "Sat": "周六",
    "Sun": "周日",
    "reminder_eve": "前一晚提醒",
    "reminder_before": "检测前提醒",
    "positive_alert": "阳性警报",
    "digest": "每日汇总",
    "booster": "加强针提醒",
    "checkin": "现场签到",
    "lab": "实验室",
    "outside": "外部检测点",
    "positives": "阳性",
    "This link is not valid or has expired. Use the link in your latest text.": "链接无效或已过期，请使用最新短信中的链接。",
    "This upload is gone: upload the file again.": "此上传已失效，请重新上传文件。",
    # Messages of the use cases (testrota.actions) that the pages show: UserError templates.
    "unknown risk category {category!r}: use one of {codes}, or 'none' for not high-risk": "未知的高风险类别 {category!r}：请使用 {codes} 之一，或 'none' 表示非高风险",
    "no risk category given: use one of {codes}, or 'none' for not high-risk": "未选择高风险类别：请使用 {codes} 之一，或 'none' 表示非高风险",
    "a reason is required: say why, it is kept in the audit log": "请填写原因，将记入审计记录",
    "the reason is longer than {n} characters; shorten it": "原因超过 {n} 个字符，请缩短",
    "employee {employee_no} has no override to clear": "员工 {employee_no} 没有可清除的人工指定类别",
    "no mapping of the role {role!r} for every department; `testrota roles` lists them": "岗位 {role!r} 没有适用于所有部门的映射；`testrota roles` 可列出全部映射",
    "no mapping of the role {role!r} in department {department!r}; `testrota roles` lists them": "岗位 {role!r} 在部门 {department!r} 没有映射；`testrota roles` 可列出全部映射",
    "{file}: not a spreadsheet this app reads; upload .xlsx, .xls, .ods or .csv": "{file}：不是本系统可读取的表格，请上传 .xlsx、.xls、.ods 或 .csv 文件",
    "{file} is larger than the limit of {mb} MB (import.max_file_mb in config/policy.yaml)": "{file} 超过 {mb} MB 的上限（config/policy.yaml 中的 import.max_file_mb）",
    "{file} is empty": "{file} 是空文件",
    "this import would deactivate {n} of {active} active people ({share}), more than the "
    "{limit} allowed by policy import.max_deactivate_share; if the file really is the whole "
    "roster, run again with --force, otherwise import it without --full": "本次导入将停用 {active} 名在册人员中的 {n} 名（{share}），超过策略 "
    "import.max_deactivate_share 允许的 {limit}；如文件确为完整花名册，请勾选确认后再应用，"
    "否则请不要选择“完整花名册”",
}


def negotiate(accept_language: str | None) -> str:
    """The first of our languages the browser asks for (``Accept-Language``), else Chinese."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    for _q, _i, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LANGUAGES and _q < 0:
            return primary
    return DEFAULT_LANGUAGE


def _with_group() -> None:
    from testrota.web.i18n_group import ZH_GROUP

    for english, chinese in ZH_GROUP.items():
        ZH.setdefault(english, chinese)


_with_group()


def translator(lang: str) -> Callable[..., str]:
    """``_("text", **values)`` in ``lang``: the Chinese from :data:`ZH`, or the English itself."""
    catalogue = ZH if lang == "zh" else {}

    def _(text: str, **values: Any) -> str:
        out = catalogue.get(text, text)
        return out.format(**values) if values else out

    return _


def category_name(code: str | None, lang: str) -> str:
    if not code:
        return ""
    names = CATEGORY_NAMES.get(code)
    if names is None:
        return code
    return names[0] if lang == "zh" else names[1]

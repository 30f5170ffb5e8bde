"""Interface text in Simplified Chinese and English.

Templates and handlers write English and call ``_("...")``; :data:`ZH` holds the Chinese. A test
walks the templates and fails when a string has no Chinese, so the catalogue cannot fall behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from testrota.errors import Words
from testrota.web.i18n_sampling import SAMPLING_ZH

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
    "testrota is being set up or upgraded. Try again in a few minutes.": "系统正在安装或升级，请几分钟后再试。",
    "The system is busy. Try again in a moment.": "系统繁忙，请稍后再试。",
    "The database cannot be reached just now. Try again in a minute.": "暂时无法连接数据库，请一分钟后再试。",
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
    "Choose a department, or type it": "先选部门，或直接输入",
    "Category": "类别",
    "All categories": "全部类别",
    "Role": "岗位",
    "Name": "姓名",
    "Employee no.": "工号",
    "Phone": "手机号",
    "Site": "检测点",
    "{n} slots on this day: choose a site above to see its slots.": "当天共 {n} 个时段：在上表中选择检测点查看其时段。",
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
    "Role, department or category": "岗位、部门或类别",
    "Change category": "修改类别",
    "Change the category of {role} ({department})": "修改 {role}（{department}）的类别",
    "Change…": "修改…",
    "Change a role's category": "修改岗位类别",
    "Category now": "当前类别",
    "1. Whom is the change for?": "1. 修改适用于哪些人？",
    "The title “{role}” in {department} only": "仅 {department} 的“{role}”岗位",
    "The title “{role}” in every department": "所有部门的“{role}”岗位",
    "2. New category": "2. 新类别",
    "3. Reason (kept in the audit log)": "3. 原因（记入审计日志）",
    "Review the change": "检查修改",
    "Nothing is changed until you confirm on the next page.": "在下一页确认之前不会做任何修改。",
    "Confirm the change": "确认修改",
    "This changes {n} people.": "此修改涉及 {n} 人。",
    "{n} coming appointments will be released.": "将释放 {n} 个即将到来的预约。",
    "Save: change {n} people": "保存：修改 {n} 人",
    "Back to the form": "返回修改",
    "Choose whom the change is for first.": "请先选择修改适用于哪些人。",
    "Give a reason: it is kept in the audit log.": "请填写原因：原因会记入审计日志。",
    "Which site is this device at?": "本设备在哪个检测点？",
    "Use this site on this device": "本设备使用此检测点",
    "No testing sites are set up yet: ask HR to add them to sites.yaml.": "尚未设置检测点：请联系人事在 sites.yaml 中添加。",
    "Change site": "更换检测点",
    "Choose your site from the list.": "请从列表中选择检测点。",
    "Choose your site first: nothing was recorded.": "请先选择检测点：本次未记录。",
    "Stop all texts from us?": "确定不再接收我们的短信吗？",
    "You will get no reminder before your tests and no message when you miss one. You still need to be tested.": "您将不再收到检测前的提醒，漏检时也不会收到通知。您仍需按时检测。",
    "Yes, stop texting me": "是的，不再发短信给我",
    "No, keep my texts": "不，继续接收短信",
    "Make-up test": "补检",
    "Make-up booked: {when}": "已预约补检：{when}",
    "This test can no longer be changed.": "此次检测已无法更改。",
    "Free slots in the coming days:": "近几天可预约的时段：",
    "Free slots this week:": "本周可预约的时段：",
    "{n} slots": "{n} 个时段",
    "No slot is free for a make-up test in the coming days.": "近几天没有可预约的补检时段。",
    "Please walk in at one of these sites and show your employee number:": "请直接前往以下任一检测点，出示工号即可采样：",
    "Please ask your supervisor or HR where to be tested.": "请向主管或人事咨询到哪里采样。",
    "This link has expired": "此链接已过期",
    "This link does not work": "此链接无效",
    "The link in a text works for {days} days, so that nobody else can use an old one.": "短信中的链接有效期为 {days} 天，以免旧链接被他人使用。",
    "You are no longer on the testing roster. If that is wrong, please tell HR.": "您已不在检测名单中。如有误，请联系人事。",
    "The link may have been cut short or mistyped. Open it again from the text itself.": "链接可能被截断或输错，请直接从短信中重新打开。",
    "How to get a new link": "如何获取新链接",
    "Every reminder text brings a new link: use the link in your latest text.": "每条提醒短信都带有新链接：请使用最新短信中的链接。",
    "Need one now? Reply HELP (or 帮助) to our latest text: the answer carries a new link.": "现在就需要？回复最新短信“帮助”，回复中会带有新链接。",
    "Or ask your supervisor or HR for your next test time.": "也可以向主管或人事询问下次检测时间。",
    "this appointment can no longer be changed": "此预约已无法更改",
    "there is no slot {slot_id}": "没有时段 {slot_id}",
    "that slot was just taken or no longer fits the rules; pick another": "该时段刚被约满或已不符合规则，请另选一个",
    "this link is no longer valid": "此链接已失效",
    "Show on a map": "在地图上查看",
    "{path}: TESTROTA_SMS_BACKEND=aliyun needs the approved templates under channels.aliyun "
    "(see the README, Connecting Aliyun SMS)": "{path}：TESTROTA_SMS_BACKEND=aliyun 需要在 "
    "channels.aliyun 下配置已审核的短信模板（见 README“Connecting Aliyun SMS”）",
    "a user name must be 1-100 characters without surrounding spaces": "用户名须为 1–100 个字符，首尾不能有空格",
    "a supervisor needs at least one --department to see anything": "主管至少需要一个部门（--department）才能看到内容",
    "the password starts or ends with a space; remove it": "密码首尾有空格，请去掉",
    "demo mode without TESTROTA_SECRET_KEY: the demo's key is kept in its database; run `testrota demo`, or set TESTROTA_SECRET_KEY": "演示模式未设置 TESTROTA_SECRET_KEY：演示密钥保存在其数据库中；请运行 `testrota demo`，或设置 TESTROTA_SECRET_KEY",
    "--by {name!r} is not an active admin user; only admins may erase (testrota users add NAME --role admin)": "--by {name!r} 不是在用的管理员；只有管理员可以删除（testrota users add NAME --role admin）",
    "could not erase {employee_no}: another person already has employee number {taken} (a roster imported one?); nothing was changed: rename that person first": "无法删除 {employee_no}：另一人已使用工号 {taken}（可能是花名册导入的？）；未做任何修改，请先修改该人员的工号",
    "a trend of {weeks} weeks: it covers 1 to {limit} weeks": "趋势周数为 {weeks}：应为 1 到 {limit} 周",
    "the database refused the change: another one got there first, or something it refers to is gone ({reason}); run the command again": "数据库拒绝了这次修改：另一项修改先完成了，或所涉及的记录已不存在（{reason}）；请重新运行命令",
    "the database has no testrota tables, or older ones than this version ({reason}): run `testrota init` (it creates or upgrades them), then this command again": "数据库中没有 testrota 的表，或表的版本比本程序旧（{reason}）：请先运行 `testrota init`（创建或升级数据表），再运行本命令",
    "the database was too busy to finish ({reason}); run the command again": "数据库繁忙，未能完成（{reason}）；请重新运行命令",
    "cannot open the database: {reason}. Check TESTROTA_DATABASE_URL (or --db): its folder must exist and be writable": "无法打开数据库：{reason}。请检查 TESTROTA_DATABASE_URL（或 --db）：所在文件夹必须存在且可写",
    "cannot use the database: {reason}. Check TESTROTA_DATABASE_URL (or --db) and that the server is running, then run the command again": "无法使用数据库：{reason}。请检查 TESTROTA_DATABASE_URL（或 --db）以及数据库服务器是否在运行，然后重新运行命令",
    "{file}: another import wrote some of these results at the same time; nothing from this one was written, run it again": "{file}：另一次导入同时写入了部分结果；本次未写入任何内容，请重新导入",
    "the role title is empty: give the title as it appears in the roster": "岗位名称为空：请按花名册中的写法填写岗位名称",
    "{text!r} is not a result: use negative, positive, pending or invalid (阴性/阳性/待检/无效)": "{text!r} 不是检测结果：请使用 阴性/阳性/待检/无效",
    "the sampling time {at} is in the future": "采样时间 {at} 晚于当前时间",
    "{file}: sheet {sheet!r} has {columns} but no employee number, phone or ID number column, so its rows cannot be matched to people (see config/result_columns.yaml for the names it knows)": "{file}：工作表 {sheet!r} 有 {columns}，但没有工号、手机号或身份证号列，无法将各行对应到人员（可识别的列名见 config/result_columns.yaml）",
    "{path}: needs aliases for sampled_at, result and at least one of {fields}": "{path}：需要为采样时间、检测结果以及 {fields} 中至少一项配置列名",
    "no employee number given": "未填写工号",
    "unknown employee number {number!r}: check the number or import the roster": "工号 {number!r} 不存在：请核对工号或先导入花名册",
    "give a reason for the excuse (e.g. --reason '病假 sick leave')": "请填写免检原因（如“病假”）",
    "the reason is {length} characters; keep it under {limit}": "原因有 {length} 个字符，请不超过 {limit} 个",
    "{employee_no} ({name}) is in {department}, which is not one of your departments": "{employee_no}（{name}）属于 {department}，不在您负责的部门内",
    "{employee_no} has no appointment {appointment_id}": "{employee_no} 没有预约 {appointment_id}",
    "unknown site {site!r}; the sites are: {sites}": "检测点 {site!r} 不存在；现有检测点：{sites}",
    "the check-in time {at} is in the future": "签到时间 {at} 晚于当前时间",
    "{employee_no} ({name}) is no longer on the active roster; ask HR to re-activate them before checking in": "{employee_no}（{name}）已不在在册名单中；请先联系人事恢复后再签到",
    "no alert {alert_id}": "没有警报 {alert_id}",
    "alert {alert_id} is not in your departments": "警报 {alert_id} 不在您负责的部门内",
    "cannot write the error report {path}: {error}": "无法写入错误报告 {path}：{error}",
    "give an employee number, e.g. testrota export-person 10023": "请提供工号，例如 testrota export-person 10023",
    "--reason is required: say why (it is kept in the audit log; write no personal data in it)": "必须填写 --reason：说明原因（会记入审计日志；请勿写入个人信息）",
    "the reason is longer than 400 characters; shorten it": "原因超过 400 个字符，请缩短",
    "{employee_no} is still on the roster (active): the next roster import would bring them back. Import a full roster without them first, or add --deactivate to take them off now": "{employee_no} 仍在花名册中（在册）：下次导入花名册会将其恢复。请先导入不含此人的完整花名册，或加 --deactivate 立即停用",
    "{employee_no} is already erased": "{employee_no} 已被删除",
    "{name}: the workbook is damaged ({detail}); open it in Excel or WPS and save it as .xlsx": "{name}：工作簿已损坏（{detail}）；请用 Excel 或 WPS 打开并另存为 .xlsx",
    "{name}: the workbook is password-protected; open it, remove the password and save it again": "{name}：工作簿设有密码；请打开文件、取消密码后重新保存",
    "{file}: {where} spans {rows:,} rows x {columns:,} columns ({cells:,} cells), over the {limit:,} limit (import.max_cells in policy.yaml); delete stray cells far below or to the right of the table, or raise the limit": "{file}：{where}共 {rows:,} 行 × {columns:,} 列（{cells:,} 个单元格），超过 {limit:,} 的上限（policy.yaml 中的 import.max_cells）；请删除表格下方或右侧远处的多余单元格，或提高上限",
    "{name}: not a spreadsheet; upload an Excel (.xlsx, .xls), OpenDocument (.ods) or CSV file": "{name}：不是表格文件；请上传 Excel（.xlsx、.xls）、OpenDocument（.ods）或 CSV 文件",
    "{name}: a zip archive, not a spreadsheet; unpack it and upload the roster": "{name}：这是压缩包，不是表格；请解压后上传花名册",
    "{name}: an Office file that holds no workbook; open it in Excel or WPS and save it as .xlsx": "{name}：这个 Office 文件中没有工作簿；请用 Excel 或 WPS 打开并另存为 .xlsx",
    "{name}: the workbook is damaged and cannot be read ({detail}); open it in Excel or WPS and save it as .xlsx": "{name}：工作簿已损坏，无法读取（{detail}）；请用 Excel 或 WPS 打开并另存为 .xlsx",
    "{name}: the workbook is damaged and cannot be read; open it in Excel or WPS and save it as .xlsx": "{name}：工作簿已损坏，无法读取；请用 Excel 或 WPS 打开并另存为 .xlsx",
    "{path}: file not found": "{path}：找不到文件",
    "{path}: not a file": "{path}：不是文件",
    "the file": "文件",
    "sheet {sheet!r}": "工作表 {sheet!r}",
    "{file}: {where} has {rows:,} rows, over the {limit:,} limit (import.max_rows in policy.yaml); split it into smaller files or raise the limit": "{file}：{where}有 {rows:,} 行，超过 {limit:,} 行的上限（policy.yaml 中的 import.max_rows）；请拆分为较小的文件或提高上限",
    "{name}: the file is {mb:.1f} MB, over the {limit:g} MB limit (import.max_file_mb in policy.yaml); split it or raise the limit": "{name}：文件大小为 {mb:.1f} MB，超过 {limit:g} MB 的上限（policy.yaml 中的 import.max_file_mb）；请拆分文件或提高上限",
    "{name}: the file is empty (0 bytes)": "{name}：文件为空（0 字节）",
    "{name}: this is a PDF, not a spreadsheet; upload the Excel file instead": "{name}：这是 PDF，不是表格；请上传 Excel 文件",
    "{name}: this is a web page (HTML) saved with a spreadsheet name; open it in Excel or WPS and save it as .xlsx": "{name}：这是以表格文件名保存的网页（HTML）；请用 Excel 或 WPS 打开并另存为 .xlsx",
    "{name}: this is an Excel 2003 XML spreadsheet; open it in Excel or WPS and save it as .xlsx": "{name}：这是 Excel 2003 XML 表格；请用 Excel 或 WPS 打开并另存为 .xlsx",
    "{name}: not a spreadsheet: the file is plain text; if it is a CSV export, rename it to .csv": "{name}：不是表格：文件为纯文本；如果是导出的 CSV，请将扩展名改为 .csv",
    "{name}: refused: the workbook would unpack to {mb:,.0f} MB, over the {limit:g} MB limit (import.max_uncompressed_mb); a real roster is far smaller, so this file is damaged or malicious": "{name}：已拒绝：该工作簿解压后达 {mb:,.0f} MB，超过 {limit:g} MB 的上限（import.max_uncompressed_mb）；真实的花名册远小于此，该文件已损坏或存在恶意",
    "{name}: the file is password-protected; remove the password and save": "{name}：文件设有密码；请取消密码后保存",
    "{name}: an OpenDocument file but not a spreadsheet; upload an .ods, .xlsx or .csv": "{name}：这是 OpenDocument 文件但不是表格；请上传 .ods、.xlsx 或 .csv",
    "{name}: this is a Word document, not a spreadsheet": "{name}：这是 Word 文档，不是表格",
    "{name}: this is a PowerPoint file, not a spreadsheet": "{name}：这是 PowerPoint 文件，不是表格",
    "{name}: the workbook is password-protected; open it, remove the password (File > Info > Protect Workbook) and save it again": "{name}：工作簿设有密码；请打开文件，取消密码（文件 > 信息 > 保护工作簿）后重新保存",
    "{name}: the workbook is damaged (its zip container cannot be read: {detail}); open it in Excel or WPS and save it as .xlsx": "{name}：工作簿已损坏（无法读取其 zip 容器：{detail}）；请用 Excel 或 WPS 打开并另存为 .xlsx",
    "{name}: cannot read the text as {label}; save it from Excel as 'CSV UTF-8 (Comma delimited)'": "{name}：无法按 {label} 读取文本；请在 Excel 中另存为“CSV UTF-8（逗号分隔）”",
    "{name}: the CSV file is damaged ({detail})": "{name}：CSV 文件已损坏（{detail}）",
    " (add the person to the roster, or fix the row)": "（请将此人加入花名册，或修改该行）",
    "ID number check digit does not match": "身份证号校验位不符",
    "ID number check digit does not match; Excel keeps only 15 digits of a number, so format the column as text and type it again": "身份证号校验位不符；Excel 只保留数字的前 15 位，请将该列设为文本格式后重新输入",
    "ID number matches {n} people": "身份证号对应 {n} 人",
    "a header in row {row} but no rows of data under it": "第 {row} 行是表头，但下面没有数据",
    "a {kind}, not a table of cells": "这是{kind}，不是单元格表格",
    "cannot read the sampling time {text!r}: write it like 2022-05-09 08:30": "无法识别采样时间 {text!r}：请写成 2022-05-09 08:30 的格式",
    "cannot read the sampling time {text!r}: {reason}": "无法识别采样时间 {text!r}：{reason}",
    "cannot read the time of day {text!r}": "无法识别时刻 {text!r}",
    "duplicate employee number {no}: rows {first} and {row}; the later row is skipped": "工号 {no} 重复：第 {first} 行和第 {row} 行；已跳过后一行",
    "duplicate employee number {no}: sheet {first_sheet!r} row {first} and sheet {sheet!r} row {row}; the later row is skipped": "工号 {no} 重复：工作表 {first_sheet!r} 第 {first} 行和工作表 {sheet!r} 第 {row} 行；已跳过后一行",
    "employee number {no} could be {n} people ({candidates}); write the whole number": "工号 {no} 可能对应 {n} 人（{candidates}）；请填写完整工号",
    "empty sheet": "空工作表",
    "hidden sheet (name it with --sheet to import it)": "隐藏的工作表（用 --sheet 指定名称即可导入）",
    "host employee {host} is not in this file or among the active people; a co-resident must name the employee they live with": "所属职工 {host} 不在本文件中，也不在在册人员中；共同居住人须填写与其同住的职工",
    "hour {hour} with AM/PM": "{hour} 点不能与上午/下午同用",
    "longer than {limit} characters": "超过 {limit} 个字符",
    "longer than {limit} characters; cut to it": "超过 {limit} 个字符；已截断",
    "missing employee number": "缺少工号",
    "missing name": "缺少姓名",
    "no header row naming {required} in its first rows": "前几行中没有包含 {required} 的表头",
    "no person has employee number {no}": "没有工号为 {no} 的人员",
    "no person has phone {phone}": "没有手机号为 {phone} 的人员",
    "no person has this ID number": "没有此身份证号的人员",
    "no phone number: this person cannot get reminder texts": "没有手机号：此人收不到提醒短信",
    "not a phone number: Excel shortened it to scientific notation; format the column as text and type the number again; the person is kept without a phone": "不是手机号：Excel 将其显示为科学计数法；请将该列设为文本格式后重新输入号码；此人已保留，但没有手机号",
    "not a result: write 阴性/阳性/negative/positive/pending/invalid": "不是检测结果：请填写 阴性/阳性/待检/无效",
    "not a valid phone number; the person is kept without a phone": "手机号无效；此人已保留，但没有手机号",
    "phone {phone} is shared by {n} people; add the employee number": "手机号 {phone} 由 {n} 人共用；请补充工号",
    "row {row} has {named} but no {missing} column": "第 {row} 行有 {named}，但没有 {missing} 列",
    "the same sample has result {result} in row {other}, which is recorded (a positive before invalid, negative or pending); check with the lab and keep one of the two rows": "同一样本在第 {other} 行的结果为 {result}，已按该行记录（阳性优先，其次无效、阴性、待出结果）；请与检测机构核实，只保留其中一行",
    "the same sample has result {result} in row {other} of sheet {other_sheet}, which is recorded (a positive before invalid, negative or pending); check with the lab and keep one of the two rows": "同一样本在工作表 {other_sheet} 第 {other} 行的结果为 {result}，已按该行记录（阳性优先，其次无效、阴性、待出结果）；请与检测机构核实，只保留其中一行",
    "the sampling time is empty": "采样时间为空",
    "the sampling time is in the future; check the date": "采样时间晚于当前时间；请检查日期",
    "unknown person type {value!r}; use 职工/employee, 第三方/contractor or 共同居住人/co-resident": "人员类型 {value!r} 无法识别；请使用 职工、第三方 或 共同居住人",
    "unknown shift {value!r}; use 白班/day, 夜班/night or 倒班/rotating (day is assumed)": "班次 {value!r} 无法识别；请使用 白班、夜班 或 倒班（已按白班处理）",
    "{date} is not a real date": "{date} 不是有效日期",
    "{number} is a landline, not a mobile: reminder texts cannot reach it; the person is kept without a phone": "{number} 是座机，不是手机：收不到提醒短信；此人已保留，但没有手机号",
    "{phone} is not a valid phone number": "{phone} 不是有效的手机号",
    "a co-resident cannot be their own host employee": "共同居住人不能是自己的所属职工",
    "co-resident without a host employee number": "共同居住人缺少所属职工工号",
    "{file}: no recognisable header row (it needs columns for {required}). {reasons}. Headers seen: {seen}. Known names: {known}": "{file}：找不到可识别的表头行（需要 {required} 列）。{reasons}。看到的表头：{seen}。可识别的列名：{known}",
    "{file}: the workbook has no sheets": "{file}：工作簿中没有工作表",
    "{file}: every sheet is empty; fill in the roster and upload it again": "{file}：所有工作表都是空的；请填写花名册后重新上传",
    "{file}: sheet {sheet!r} has a header row but no rows of data under it": "{file}：工作表 {sheet!r} 有表头，但下面没有数据",
    "{file}: no recognisable header row (it needs columns for {required}). {reasons}. Headers seen: {seen}. Known names: {known} (optional columns: {others})": "{file}：找不到可识别的表头行（需要 {required} 列）。{reasons}。看到的表头：{seen}。可识别的列名：{known}（可选列：{others}）",
    "{file}: a CSV file has no sheets; leave out --sheet": "{file}：CSV 文件没有工作表；请不要指定 --sheet",
    "{file}: sheet {sheet!r} is empty": "{file}：工作表 {sheet!r} 是空的",
    "{file}: the file is empty; fill in the roster and upload it again": "{file}：文件是空的；请填写花名册后重新上传",
    "{file}: no sheet named {wanted!r}; its sheets are {listed}": "{file}：没有名为 {wanted!r} 的工作表；现有工作表：{listed}",
    "no sheet has a header": "没有工作表含有表头",
    # the parts of "no recognisable header row", each in the message's language
    "sheet {sheet!r}: {headers}": "工作表 {sheet!r}：{headers}",
    "{sheet!r}: {reason}": "{sheet!r}：{reason}",
    "{field}: {names}": "{field}：{names}",
    "{first}; {second}": "{first}；{second}",
    "none": "无",
    "Positive alert": "阳性预警",
    "The case": "病例",
    "Closed by {who} at {at}": "由 {who} 于 {at} 关闭",
    "Closed at {at}": "于 {at} 关闭",
    "{n} note(s) by those following the case are not shown: they may name it.": "另有 {n} 条由跟进该病例的人员写下的备注未显示：其中可能提到病例身份。",
    "Contacts to test": "需检测的接触者",
    "Results since": "此后的检测",
    "not tested yet": "尚未检测",
    "Notes": "记录",
    "Add a note (who was reached, what was decided)": "添加记录（联系了谁、作出了什么决定）",
    "Save the note": "保存记录",
    "Close the alert": "关闭预警",
    "Why can it be closed?": "为什么可以关闭？",
    "Note saved.": "记录已保存。",
    "Say why the alert can be closed: it is kept in the audit log.": "请说明可以关闭预警的原因：原因会记入审计日志。",
    "Alert closed.": "预警已关闭。",
    "Found through a positive pooled tube": "由混管阳性发现",
    "positive tubes": "阳性管",
    "negative tubes": "阴性管",
    "unknown tubes": "未知管码",
    "{n} to a tube": "{n} 混 1",
    "Latest result": "最新结果",
    "{n} more members in other departments.": "另有 {n} 名成员属于其他部门。",
    "at most {limit} texts at a time (asked for {n}); retry every failed text instead": "一次最多 {limit} 条短信（本次 {n} 条）；请改为重发全部失败的短信",
    "{week} has not been planned yet: run `testrota plan --week {week}`": "{week} 尚未排班：请运行 `testrota plan --week {week}`",
    "a supervisor needs at least one --department or --unit to see anything": "主管至少需要一个部门（--department）或单位（--unit）才能看到内容",
    "Work on this alert": "处理此预警",
    "write the note first": "请先填写记录",
    "a note is at most {limit} characters": "记录最多 {limit} 个字符",
    "Spreadsheet to upload": "要上传的表格",
    "Actions": "操作",
    "Role of {name}": "{name} 的角色",
    "Departments of {name}": "{name} 的部门",
    "Language of {name}": "{name} 的语言",
    "New password for {name}": "{name} 的新密码",
    "Call {name}": "给 {name} 打电话",
    "Call": "打电话",
    "{employee_no} has no phone number that can be called; ask HR to fix the roster": "{employee_no} 没有可拨打的电话号码；请联系人事修正花名册",
    "Excuse…": "免检…",
    "e.g. sick leave, business trip": "如：病假、出差",
    "required": "必填",
    "JSON body": "JSON 请求体",
    "responses": "响应",
    "query": "查询参数",
    "path": "路径参数",
    "header": "请求头",
    "cookie": "Cookie",
    "Legend": "图例",
    "a slot": "时段",
    "booked of places": "已约/名额",
    "tested": "已检",
    "how full (red: over capacity)": "预约比例（红色：超出名额）",
    "nobody booked": "无人预约",
}

ZH.update(SAMPLING_ZH)


# Codes stored in the database and shown to people, by what they are a code of: (English,
# Chinese). One code can mean different things ("pending" is a text not yet sent and a sample
# without its result), so a page names the kind: ``code("result", t.result)``. A test fails
# when a value of ``testrota.statuses`` (or a kind, source or field below) has no entry.
CODES: dict[str, dict[str, tuple[str, str]]] = {
    "appointment": {
        "scheduled": ("booked", "已预约"),
        "done": ("tested", "已检"),
        "missed": ("missed", "漏检"),
        "excused": ("excused", "已免检"),
        "cancelled": ("cancelled", "已取消"),
    },
    "reason": {
        "plan": ("weekly plan", "每周排班"),
        "midweek": ("joined mid-week", "周中加入"),
        "contact": ("contact of a positive case", "阳性病例接触者"),
        "reschedule": ("rescheduled", "改约"),
        "recheck": ("single-tube recheck", "单管复核"),
    },
    "result": {
        "pending": ("awaiting result", "待出结果"),
        "negative": ("negative", "阴性"),
        "positive": ("positive", "阳性"),
        "invalid": ("invalid sample", "无效样本"),
        "pool_positive": ("pooled tube positive", "混管阳性"),
    },
    "alert": {"open": ("open", "未关闭"), "closed": ("closed", "已关闭")},
    "contact_reason": {
        "grid_unit": ("same grid unit", "同一网格"),
        "same_slot": ("same slot", "同一时段"),
    },
    "message": {
        "pending": ("waiting to send", "待发送"),
        "sending": ("sending", "发送中"),
        "sent": ("sent", "已发送"),
        "delivered": ("delivered", "已送达"),
        "undelivered": ("not delivered", "未送达"),
        "failed": ("failed", "失败"),
        "unknown": ("unknown", "未知"),
        "expired": ("expired", "已过期"),
        "cancelled": ("cancelled", "已取消"),
        "skipped": ("skipped", "已跳过"),
    },
    "offer": {
        "open": ("offered", "待确认"),
        "confirmed": ("confirmed", "已确认"),
        "superseded": ("superseded", "已被取代"),
        "expired": ("expired", "已过期"),
    },
    "person_type": {
        "employee": ("employee", "员工"),
        "third_party": ("contractor", "第三方人员"),
        "co_resident": ("co-resident", "共同居住人"),
    },
    "role": {
        "admin": ("administrator", "管理员"),
        "hr": ("HR", "人事"),
        "supervisor": ("supervisor", "主管"),
        "site": ("site staff", "检测点"),
    },
    "job": {
        "running": ("running", "运行中"),
        "done": ("done", "已完成"),
        "failed": ("failed", "失败"),
    },
    "kind": {
        "reminder_eve": ("evening-before reminder", "前一晚提醒"),
        "reminder_before": ("reminder before the test", "检测前提醒"),
        "missed": ("missed-test notice", "漏检通知"),
        "positive_alert": ("positive-result alert", "阳性警报"),
        "digest": ("daily digest", "每日汇总"),
        "booster": ("booster reminder", "加强针提醒"),
        "recheck": ("recheck appointment", "复核采样通知"),
        "confirm_late": ("daily report not confirmed", "日报未确认提醒"),
        "plan_changed": ("your plan changed", "采样安排变更通知"),
    },
    "source": {
        "checkin": ("checked in at a site", "现场签到"),
        "lab": ("lab results", "实验室"),
        "outside": ("tested elsewhere", "外部检测点"),
    },
    "matched_by": {
        "column": ("category column", "类别列"),
        "override": ("set by HR", "人工指定"),
        "title": ("role title", "岗位名称"),
        "synonym": ("synonym", "同义词"),
        "department": ("department", "部门"),
    },
    "shift": {
        "day": ("day shift", "白班"),
        "night": ("night shift", "夜班"),
        "rotating": ("rotating", "倒班"),
    },
    "field": {
        "employee_no": ("employee no.", "工号"),
        "name": ("name", "姓名"),
        "department": ("department", "部门"),
        "grid_unit": ("grid unit", "网格"),
        "role": ("role", "岗位"),
        "phone": ("phone", "手机号"),
        "id_number": ("ID number", "身份证号"),
        "person_type": ("person type", "人员类型"),
        "host_employee_no": ("host employee no.", "所属职工工号"),
        "language": ("language", "语言"),
        "shift": ("shift", "班次"),
        "vaccination": ("vaccination", "疫苗接种"),
        "booster": ("booster", "加强针"),
        "category": ("category", "类别"),
        "seq": ("row no.", "序号"),
        "sampled_at": ("sampling time", "采样时间"),
        "result": ("result", "检测结果"),
        "site": ("site", "检测点"),
        "unit_path": ("unit", "所属单位"),
        "company": ("company", "公司"),
        "plant": ("plant", "厂矿"),
        "on_site": ("lives on site", "驻厂"),
        "key_post": ("key post", "关键岗位"),
        "notify_channel": ("way to notify", "通知方式"),
        "wecom_userid": ("WeCom account", "企业微信账号"),
    },
    "tube": {
        "open": ("open", "采样中"),
        "closed": ("closed", "已封管"),
        "packed": ("packed", "已装箱"),
    },
    "tube_result": {
        "negative": ("negative", "阴性"),
        "positive": ("positive", "阳性"),
        "invalid": ("invalid sample", "无效样本"),
    },
    "channel": {"sms": ("text message", "短信"), "wecom": ("WeCom", "企业微信")},
    "unit_kind": {"unit": ("unit", "单位"), "grid": ("grid unit", "网格")},
    # where a unit's daily report stands (testrota.org.daily.DailyRow.confirmation)
    "confirmation": {
        "confirmed": ("confirmed", "已确认"),
        "confirmed_late": ("confirmed late", "逾期确认"),
        "late": ("late", "逾期未确认"),
        "waiting": ("waiting", "待确认"),
    },
    "mode": {
        "normal": ("normal", "常态"),
        "static": ("static control", "静态管控"),
        "onsite": ("closed-loop on site", "驻厂封闭生产"),
        "wfh": ("working from home", "居家办公"),
        "keep-production": ("keeping production going", "保产保供"),
    },
    "count": {
        "rows": ("rows", "行数"),
        "added": ("added", "新增"),
        "updated": ("updated", "更新"),
        "unchanged": ("unchanged", "未变"),
        "deactivated": ("deactivated", "停用"),
        "skipped": ("skipped", "跳过"),
        "high_risk": ("high-risk", "高风险"),
        "recorded": ("recorded", "记录"),
        "unmatched": ("unmatched", "未匹配"),
        "errors": ("errors", "错误"),
    },
}


def code_text(kind: str, value: str | None, lang: str) -> str:
    """A stored code as people read it in ``lang``; an unknown code as it is."""
    if not value:
        return ""
    names = CODES.get(kind, {}).get(value)
    if names is None:
        return value
    return names[1] if lang == "zh" else names[0]


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


def _with_parts() -> None:
    """Words kept in their own modules (one per area, so parallel work merges cleanly)."""
    from testrota.web.i18n_cli import ZH_CLI
    from testrota.web.i18n_doctor import ZH_DOCTOR
    from testrota.web.i18n_exemptions import ZH_EXEMPTIONS
    from testrota.web.i18n_group import ZH_GROUP
    from testrota.web.i18n_pages import ZH_PAGES
    from testrota.web.i18n_planning import ZH_PLANNING
    from testrota.web.i18n_rollup import ZH_ROLLUP
    from testrota.web.i18n_scopes import ZH_SCOPES
    from testrota.web.i18n_units import ZH_UNITS

    parts = (
        ZH_GROUP,
        ZH_CLI,
        ZH_PLANNING,
        ZH_PAGES,
        ZH_ROLLUP,
        ZH_UNITS,
        ZH_DOCTOR,
        ZH_SCOPES,
        ZH_EXEMPTIONS,
    )
    for part in parts:
        for english, chinese in part.items():
            ZH.setdefault(english, chinese)


_with_parts()


def translator(lang: str) -> Callable[..., str]:
    """``_("text", **values)`` in ``lang``: the Chinese from :data:`ZH`, or the English itself."""
    catalogue = ZH if lang == "zh" else {}

    def _(text: str, /, **values: Any) -> str:
        out = catalogue.get(text, text)
        if not values:
            return out
        return out.format(
            **{k: v.in_language(lang) if isinstance(v, Words) else v for k, v in values.items()}
        )

    return _


def category_name(code: str | None, lang: str) -> str:
    if not code:
        return ""
    names = CATEGORY_NAMES.get(code)
    if names is None:
        return code
    return names[0] if lang == "zh" else names[1]


UNMATCHED_HINT = " (add the person to the roster, or fix the row)"


def render_problem(item: Any, lang: str) -> str:
    """A row problem of an import (a RowError, RowProblem, UnmatchedRow or skipped sheet, as
    an object or as the dict a preview keeps) in ``lang``: its template and parameters
    translated when it has them, else its English message (translated when the catalogue
    knows it whole)."""
    _ = translator(lang)

    def get(name: str) -> Any:
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    def phrase(template: str, params: dict[str, Any] | None, text: str = "") -> str:
        if not template:
            return _(text) if text else ""
        values = {
            key: _words_or_phrase(v, phrase) if isinstance(v, dict) else v
            for key, v in (params or {}).items()
        }
        return _(template, **values)

    parts = get("parts")
    if parts:
        joined = ("；" if lang == "zh" else "; ").join(
            phrase(p.get("template", ""), p.get("params")) for p in parts
        )
        return joined + _(UNMATCHED_HINT)
    message = get("message") or get("reason") or ""
    return phrase(get("template") or "", get("params"), message) or message


def _words_or_phrase(value: dict[str, Any], phrase: Callable[..., str]) -> Any:
    """A nested parameter as JSON keeps it: :class:`Words` (``{"en", "zh"}``, which the
    translator puts in its language) or a phrase (``{"template", "params", "text"}``)."""
    if value.keys() == {"en", "zh"}:
        return Words(value["en"], value["zh"])
    return phrase(value.get("template", ""), value.get("params"), value.get("text", ""))

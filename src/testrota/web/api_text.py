"""The words of the API page (``/api``) in both languages.

The OpenAPI document keeps FastAPI's English (function docstrings, parameter descriptions); the
page shows each operation with a summary written for people, and every description paragraph
and parameter description in the reader's language. Descriptions are looked up by their
English text with its whitespace evened out, so a reflowed docstring keeps its translation; a
test fails when an operation or a text of the document has no entry here.
"""

from __future__ import annotations

import re

# (METHOD, path) -> (English, Chinese) summary
SUMMARIES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/healthz"): ("Health check", "健康检查"),
    ("GET", "/api/session"): ("Who is signed in, and the CSRF token", "当前登录用户与 CSRF 令牌"),
    ("GET", "/api/people"): ("Search people", "查询人员"),
    ("GET", "/api/people/{employee_no}"): ("One person", "单个人员"),
    ("GET", "/api/missed"): ("Missed tests of a week", "一周的漏检名单"),
    ("GET", "/api/compliance"): ("Compliance of a week", "一周的检测完成率"),
    ("GET", "/api/report/trend"): ("A unit's weekly trend", "单位的每周趋势"),
    ("POST", "/api/excuse"): ("Excuse a missed test", "免检漏检"),
    ("GET", "/api/exemptions"): ("Exemptions", "豁免名单"),
    ("POST", "/api/exemptions"): ("Exempt a person for some days", "为某人登记豁免"),
    ("POST", "/api/exemptions/{exemption_id}/end"): ("End an exemption early", "提前结束豁免"),
    ("GET", "/api/alerts"): ("Positive-result alerts", "阳性预警"),
    ("GET", "/api/status/{employee_no}"): ("One person's status light", "个人检测状态"),
    ("POST", "/api/checkin"): ("Check a person in", "签到采样"),
    ("GET", "/api/schedule"): ("Appointments of a week", "一周的预约"),
    ("GET", "/api/roles"): ("Role titles and their categories", "岗位及其风险类别"),
    ("POST", "/api/people/{employee_no}/override"): (
        "Set or clear one person's category",
        "设置或清除个人风险类别",
    ),
    ("POST", "/api/roles/map"): ("Map a role title to a category", "将岗位映射到风险类别"),
    ("GET", "/api/outbox"): ("Texts and their status", "短信及其状态"),
}

# English (whitespace evened out) -> Chinese, for descriptions and parameter descriptions
ZH_TEXTS: dict[str, str] = {
    "The JSON API of testrota. Sign in at `/login` (the session cookie) first; every call is "
    "scoped like the pages: supervisors see their own departments only, site staff reach "
    "check-in and status lookup only. Unsafe methods need the session's CSRF token in the "
    "`X-CSRF-Token` header (GET `/api/session` returns it).": "testrota 的 JSON 接口。请先在 "
    "`/login` 登录（使用会话 Cookie）；每个调用的范围与页面相同：主管只能看到自己的部门，"
    "检测点人员只能使用签到和状态查询。会修改数据的请求须在 `X-CSRF-Token` 请求头中带上会话的 "
    "CSRF 令牌（GET `/api/session` 可取得）。",
    "The missed-test list of a week (what `testrota missed --format json` prints).": "一周的漏检"
    "名单（与 `testrota missed --format json` 的输出相同）。",
    "Required, scheduled, done, missed and the rate per department and grid unit, with the "
    "trend over recent weeks.": "按部门和网格列出应检、已约、已检、漏检次数及完成率，并附近几周的"
    "趋势。",
    "Excuse a person's missed appointment (one by id, or the week's).": "为某人的漏检免检（按预约"
    " id 指定一次，或该周全部）。",
    "Open positive-result alerts (closed ones too with `closed=true`) with their contacts.": "未"
    "关闭的阳性预警及其接触者（加 `closed=true` 时也包括已关闭的）。",
    "A supervisor gets the alerts that concern their departments and only their own people as "
    "contacts; a case in another department comes as `case_visible: false`, without its name, "
    "employee number, department or grid unit.": "主管只能看到涉及自己部门的预警，接触者也只含本部门"
    "人员；其他部门的病例以 `case_visible: false` 返回，不含姓名、工号、部门和网格。",
    "Green (compliant this week), amber (due) or red (overdue) for one person. The number may "
    "be typed loosely (case, full-width forms, spaces, missing leading zeros).": "某人的状态：绿色"
    "（本周已达标）、黄色（待检）或红色（已逾期）。工号可以随意输入（大小写、全角、空格、缺少前导零"
    "均可）。",
    "Record that a person was sampled now (at a site); a repeat in one slot is a no-op.": "记录某人"
    "此刻（在某检测点）已采样；同一时段内重复签到不会重复记录。",
    "The week's appointments (not cancelled), by start time.": "该周的预约（不含已取消），按开始时间"
    "排列。",
    "Every distinct (role, department) with its head-count and category (HR).": "每个不同的（岗位，"
    "部门）组合及其人数和风险类别（人事）。",
    "Set one person's category (a code, a name, `none`), or `clear` the override (HR): the same "
    "rules as `testrota override`.": "设置某人的风险类别（代码、名称或 `none`），或用 `clear` 清除"
    "人工指定（人事）：规则与 `testrota override` 相同。",
    "Map a role title (in one department, or all) to a category or `none`, or `clear` the "
    "mapping (HR): the same rules as `testrota roles map` and `roles unmap`.": "将岗位名称（在某"
    "部门或全部部门）映射到风险类别或 `none`，或用 `clear` 清除映射（人事）：规则与 `testrota roles "
    "map` 和 `roles unmap` 相同。",
    "Texts with their status, newest first (HR).": "短信及其状态，最新的在前（人事）。",
    "The weekly rate of a unit and everything below it, as the daily report's trend shows it "
    "(`/report/daily/trend.json`): each week's required and tested summed over its days.": "某单位"
    "及其下属全部单位的每周完成率，与日报中的趋势相同（`/report/daily/trend.json`）：每周的应检、已检"
    "为该周各天之和。",
    "A supervisor reaches only their own units; another unit answers 404.": "主管只能查看自己的"
    "单位；其他单位返回 404。",
    "Exemptions not over yet, or those covering `active_on`, by first day (what `testrota "
    "exempt list --json` prints), at most `limit`. A supervisor gets their own people's only.": (
        "尚未结束的豁免，或覆盖 `active_on` 当天的豁免，按开始日期排列（与 `testrota exempt list "
        "--json` 的输出相同），最多 `limit` 条。主管只能看到本部门人员的豁免。"
    ),
    "Exempt a person from `start_date` to `end_date` (both included): their appointments then "
    "that are not done are excused and their reminders cancelled.": "为某人登记从 `start_date` "
    "到 `end_date`（含两端）的豁免：期间尚未完成的预约将免检，其提醒短信也将取消。",
    "End an exemption early: `back_on` is the person's first day back (one not begun by then is "
    "removed); the coming appointments it excused are scheduled again.": "提前结束豁免：`back_on`"
    " 为此人恢复检测的第一天（届时尚未开始的豁免将被删除）；此豁免免检的后续预约将重新排上。",
    # parameters
    "a day, e.g. 2022-05-10": "日期，例如 2022-05-10",
    "those already over too": "也包括已结束的",
    "at most this many, by first day": "最多返回的条数，按开始日期排列",
    "a day, e.g. 2022-05-10 (default: yesterday)": "日期，例如 2022-05-10（默认：昨天）",
    "a unit's path or code (default: the reader's own unit, or the group)": "单位路径或代码（默认："
    "本人的单位，或整个集团）",
    "how many weeks, up to the day's own": "周数，截至该日所在的周",
    "a name, the start of an employee number, or a phone or ID number: whole for roles that see "
    "numbers masked, any 4+ digits of a phone for the others": "姓名、工号开头，或手机号、身份证号："
    "看到脱敏号码的角色须输入完整号码，其他角色可输入手机号中任意 4 位以上数字",
    "a code or 'none'": "类别代码或 'none'",
    "omit for active people only": "不填时只列在职人员",
    "ISO week, e.g. 2022-W19 (default: this week)": "ISO 周，例如 2022-W19（默认：本周）",
    "an employee number": "工号",
}

_SPACE = re.compile(r"\s+")


def even(text: str) -> str:
    """``text`` with each run of whitespace made one space, ends trimmed."""
    return _SPACE.sub(" ", text).strip()


def paragraphs(text: str) -> list[str]:
    """The paragraphs of a Markdown description (blank-line separated), each evened out."""
    return [even(p) for p in re.split(r"\n\s*\n", text or "") if p.strip()]


def summary(method: str, path: str, fallback: str, lang: str) -> str:
    names = SUMMARIES.get((method, path))
    if names is None:
        return fallback
    return names[1] if lang == "zh" else names[0]


def text(english: str, lang: str) -> str:
    """A description or parameter description in ``lang`` (the English when none is known)."""
    key = even(english)
    return ZH_TEXTS.get(key, key) if lang == "zh" else key

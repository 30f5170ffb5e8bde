"""Chinese of the command line's own words (errors, status lines, table titles and headers)
and of the configuration files' refusals, kept apart from the main catalogue so the two grow
without stepping on each other; :mod:`testrota.web.i18n` adds these to
:data:`~testrota.web.i18n.ZH`. The keys are the English templates, as in the rest of the
catalogue; the parameters (a path, a value as typed) are never translated."""

from __future__ import annotations

ZH_CLI: dict[str, str] = {
    # roster import: a new employee number that is a stored one written differently
    "employee number {no} is {existing} ({name}, already on the roster) without its leading "
    "zeros, as Excel keeps a number; format the {column} column as text, type the full number "
    "{existing} and import again; the row is skipped": (
        "工号 {no} 是花名册中已有的 {existing}（{name}）丢了开头的 0（Excel 把它当成了数字）；"
        "请将“{column}”列设为文本格式，填写完整工号 {existing} 后重新导入；已跳过此行"
    ),
    "employee number {no} differs from {existing} ({name}, already on the roster) only in "
    "leading zeros, capitals or full-width characters; write it as stored, {existing} (format "
    "the {column} column as text so that Excel keeps the zeros), and import again; the row is "
    "skipped": (
        "工号 {no} 与花名册中已有的 {existing}（{name}）只差开头的 0、大小写或全角字符；"
        "请按已存的工号 {existing} 填写（将“{column}”列设为文本格式，Excel 才会保留开头的 0）"
        "后重新导入；已跳过此行"
    ),
    "employee number {no} is {existing} ({name}, who left the roster) without its leading "
    "zeros, as Excel keeps a number; to bring them back with their history, format the "
    "{column} column as text, type the full number {existing} and import again; the row is "
    "skipped": (
        "工号 {no} 是已离开花名册的 {existing}（{name}）丢了开头的 0（Excel 把它当成了数字）；"
        "如是此人返岗，请将“{column}”列设为文本格式，填写完整工号 {existing} 后重新导入，"
        "以保留其检测记录；已跳过此行"
    ),
    "employee number {no} differs from {existing} ({name}, who left the roster) only in "
    "leading zeros, capitals or full-width characters; to bring them back with their history, "
    "write it as stored, {existing} (format the {column} column as text so that Excel keeps "
    "the zeros), and import again; the row is skipped": (
        "工号 {no} 与已离开花名册的 {existing}（{name}）只差开头的 0、大小写或全角字符；"
        "如是此人返岗，请按已存的工号 {existing} 填写（将“{column}”列设为文本格式，"
        "Excel 才会保留开头的 0）后重新导入，以保留其检测记录；已跳过此行"
    ),
    # testrota demo: what was seeded (file names, dates and category codes stay as written)
    "  {file}: {rows} rows, {people} people, {high_risk} high-risk, {errors} row errors": (
        "  {file}：{rows} 行，新增 {people} 人，高风险 {high_risk} 人，行错误 {errors} 个"
    ),
    "imported {n} sample rosters: {people} people, {high_risk} high-risk": (
        "已导入 {n} 份示例花名册：{people} 人，高风险 {high_risk} 人"
    ),
    "  high-risk by category: {counts}": "  各类别高风险人数：{counts}",
    "planned {week}: {scheduled} of {required} tests": "已排班 {week}：应检 {required} 次，已安排 {scheduled} 次",
    "{n} check-ins at the sites this week, {samples} samples in all": (
        "本周在采样点签到 {n} 次，共采样 {samples} 份"
    ),
    "lab results {name}: {recorded} recorded, {positives} positive": (
        "检测结果 {name}：已记录 {recorded} 条，阳性 {positives} 条"
    ),
    "flagged at {at}: {what}": "{at} 标记：{what}",
    "the database has people already: kept as it is": "数据库中已有人员：保持原样",
    "reminders queued for the next {hours} h: {n}": "已为接下来 {hours} 小时排入提醒：{n} 条",
    # mode set: what the change did beyond the mode
    "weeks planned again: {weeks}": "已重新排班的周：{weeks}",
    '"your plan changed" texted to {n} people': "已向 {n} 人发送“您的检测安排有变”短信",
    "{n} people whose plan changed could not be texted (no TESTROTA_SECRET_KEY to "
    "sign their link): tell them another way": (
        "{n} 名安排有变的人员未能收到短信（未设置 TESTROTA_SECRET_KEY，无法签发其个人链接）："
        "请以其他方式通知他们"
    ),
    # an import's column warnings
    "sheet {sheet!r}: {column!r} (column {letter}) was not imported, but {share} of its "
    "values look like {what}; if that is what it holds, rename its header to {rename} "
    "and import again": (
        "工作表 {sheet!r}：{column!r}（第 {letter} 列）未导入，但其中 {share} 的值看起来是{what}；"
        "如果确实如此，请把表头改为 {rename} 后重新导入"
    ),
    "sheet {sheet!r} has no phone column: {n} of its {total} people cannot get "
    "reminder texts": "工作表 {sheet!r} 没有手机号列：其 {total} 人中有 {n} 人收不到提醒短信",
    # the plan's reasons for people not scheduled
    # errors any command prints
    "Error: {message}": "错误：{message}",
    "{problems}": "{problems}",
    "--json and --format {fmt} ask for two formats: give one of them": "--json 与 --format {fmt} 指定了两种格式：请只给一种",
    "unknown format {fmt!r}: use {choices} or {last}": "未知格式 {fmt!r}：请用 {choices} 或 {last}",
    "{option} {path} is a directory; give a file name": "{option} {path} 是文件夹；请给出文件名",
    "{option} {path} is a directory; give a file name, e.g. {example}": "{option} {path} 是文件夹；请给出文件名，例如 {example}",
    "{option} {path}: the file is written as {suffix}; give a name ending in {suffix}": "{option} {path}：文件将以 {suffix} 格式写出；请给出以 {suffix} 结尾的文件名",
    "{option} {path}: {folder} is a file, not a folder": "{option} {path}：{folder} 是文件，不是文件夹",
    "{option} {path}: cannot write in {folder} ({problem}); choose another place": "{option} {path}：无法在 {folder} 中写入（{problem}）；请换一个位置",
    "--at: {problem}": "--at：{problem}",
    "--output needs --format json, csv or xlsx": "--output 需要配合 --format json、csv 或 xlsx",
    "--weeks must be between 1 and 52": "--weeks 必须在 1 到 52 之间",
    "--date {text!r}: write it like 2022-05-09": "--date {text!r}：请写成 2022-05-09 的格式",
    "--date {day!r}: use YYYY-MM-DD": "--date {day!r}：请用 YYYY-MM-DD 格式",
    "--output {path}: give a name ending in .png or .pdf": "--output {path}：请给出以 .png 或 .pdf 结尾的文件名",
    "--password-stdin: nothing on standard input": "--password-stdin：标准输入中没有内容",
    "name the ids of failed texts, or --all-failed (not both)": "请给出发送失败短信的编号，或用 --all-failed（二者不可同时使用）",
    "erasing {employee_no} cannot be undone; add --yes to go ahead (testrota export-person "
    "first keeps a copy)": "删除 {employee_no} 无法撤销；确认请加 --yes（先用 testrota export-person 可保留一份副本）",
    "cannot write {output}: {error}": "无法写入 {output}：{error}",
    # settings (environment)
    "TESTROTA_SECRET_KEY is not set; make one with: {command}": "未设置 TESTROTA_SECRET_KEY；可用以下命令生成：{command}",
    "TESTROTA_SECRET_KEY is only {size} bytes long: use at least {minimum} random bytes, e.g. "
    "{command}": "TESTROTA_SECRET_KEY 只有 {size} 字节：请至少使用 {minimum} 个随机字节，例如 {command}",
    "TESTROTA_SMS_BACKEND={backend} needs {missing}; set them or use "
    "TESTROTA_SMS_BACKEND=console": "TESTROTA_SMS_BACKEND={backend} 需要 {missing}；请设置这些变量，或改用 TESTROTA_SMS_BACKEND=console",
    "TESTROTA_SMS_BACKEND=route sends through {channels} (policy channels.sms_by_region, "
    "sms_default) and needs {missing}": "TESTROTA_SMS_BACKEND=route 会通过 {channels} 发送（策略 channels.sms_by_region、sms_default），需要 {missing}",
    "TESTROTA_NOW and TESTROTA_CLOCK_FILE both fix the clock; set only one of them": "TESTROTA_NOW 与 TESTROTA_CLOCK_FILE 都会固定时钟；请只设置其中一个",
    "the demo keeps its signing key in the database, which has no schema yet: run "
    "`testrota init` (or `testrota demo`) first": "演示版的签名密钥保存在数据库中，但数据库尚未建表：请先运行 `testrota init`（或 `testrota demo`）",
    "could not keep the {name} in the database": "无法将 {name} 保存到数据库",
    "TESTROTA_LANG={value!r}: use zh or en": "TESTROTA_LANG={value!r}：请用 zh 或 en",
    # users and passwords
    "the password is too short: use at least {n} characters": "密码太短：至少需要 {n} 个字符",
    "unknown role {role!r}: use one of {roles}": "未知角色 {role!r}：请用 {roles} 之一",
    "unknown language {language!r}: use zh or en": "未知语言 {language!r}：请用 zh 或 en",
    "user {name!r} exists already": "用户 {name!r} 已存在",
    "no user with id {user_id}": "没有编号为 {user_id} 的用户",
    "no user named {name!r} (see `testrota users list`)": "没有名为 {name!r} 的用户（见 `testrota users list`）",
    # people and weeks
    "no person with employee number {number!r}; `testrota people --all` lists them "
    "(an erased person keeps no employee number)": "没有工号为 {number!r} 的人员；`testrota people --all` 可列出全部人员（已删除的人员不保留工号）",
    "no person with employee number {number!r}": "没有工号为 {number!r} 的人员",
    "week {text!r} is not an ISO week: write it like 2022-W19": "周 {text!r} 不是 ISO 周：请写成 2022-W19 的格式",
    "week {text!r} does not exist: {year} has no week {week}": "周 {text!r} 不存在：{year} 年没有第 {week} 周",
    "week {week!r}: write it as an ISO week, e.g. 2022-W19": "周 {week!r}：请写成 ISO 周，例如 2022-W19",
    "no sample rosters in {folder}": "{folder} 中没有示例花名册",
    "every text carries a signed personal link: {problem}": "每条短信都带有签名的个人链接：{problem}",
    # configuration files
    "{path}: file not found (set TESTROTA_CONFIG_DIR)": "{path}：找不到文件（请设置 TESTROTA_CONFIG_DIR）",
    "{path}: not valid YAML: {problem}": "{path}：不是有效的 YAML：{problem}",
    "{path}: {problem}": "{path}：{problem}",
    "{path}: expected a mapping with a 'categories' list": "{path}：应为含 'categories' 列表的映射",
    "{path}: expected 'field: [alias, ...]' lines, one per field": "{path}：应为每个字段一行的 'field: [alias, ...]'",
    "{path}: unknown field {field!r}; the fields are {fields}": "{path}：未知字段 {field!r}；可用字段为 {fields}",
    "{path}: {field} needs a list of header names, e.g. {example}": "{path}：{field} 需要一个表头名称列表，例如 {example}",
    "{path}: {field}: {name!r} is not a header name; put words such as "
    '"No" or "Yes" in quotes': '{path}：{field}：{name!r} 不是表头名称；"No"、"Yes" 之类的词请加引号',
    "{path}: {field}: {name!r} is not a header name": "{path}：{field}：{name!r} 不是表头名称",
    "{path}: {field}: {alias!r} has no letters or digits, so it cannot be matched": "{path}：{field}：{alias!r} 不含字母或数字，无法匹配",
    "{path}: {alias!r} ({field}) and {other_alias!r} ({other_field}) are the same header once "
    "case, spaces and punctuation are ignored; keep one": "{path}：{alias!r}（{field}）与 {other_alias!r}（{other_field}）在忽略大小写、空格和标点后是同一个表头；请只保留一个",
    "{path}: no aliases for {missing}; these columns are required": "{path}：{missing} 没有别名；这些列是必需的",
    "{source}: expected a mapping with a 'sites' list": "{source}：应为含 'sites' 列表的映射",
    "{source}: {problem}": "{source}：{problem}",
    "{source}: site code {code!r} appears twice; codes are unique": "{source}：检测点代码 {code!r} 出现了两次；代码必须唯一",
    "{source}: site {code}: {problem}": "{source}：检测点 {code}：{problem}",
    "{source}: no sites: add at least one under 'sites'": "{source}：没有检测点：请在 'sites' 下至少添加一个",
    "{source}: expected a mapping of language -> kind -> texts": "{source}：应为 语言 -> 类型 -> 文本 的映射",
    "{source}: language {lang!r} is missing": "{source}：缺少语言 {lang!r}",
    "{source}: {lang}.{kind} needs at least one text": "{source}：{lang}.{kind} 至少需要一条文本",
    "{source}: {lang}.{kind} uses unknown placeholder(s) {unknown}; allowed: {allowed}": "{source}：{lang}.{kind} 使用了未知占位符 {unknown}；允许的有：{allowed}",
    "{source}: {lang} has unknown kind(s) {extra}": "{source}：{lang} 含有未知类型 {extra}",
    "{source}: unknown language(s) {extra}; use {languages}": "{source}：未知语言 {extra}；请用 {languages}",
    "{source}: channels must be a mapping of channel -> settings": "{source}：channels 应为 渠道 -> 设置 的映射",
    "{source}: {key}: unknown channel; templates are for {channels}": "{source}：{key}：未知渠道；模板只适用于 {channels}",
    "{source}: {key} must be a mapping (max_segments, templates)": "{source}：{key} 应为映射（max_segments、templates）",
    "{source}: {key} has unknown key(s) {unknown}": "{source}：{key} 含有未知键 {unknown}",
    "{source}: {key}.max_segments must be a whole number from 1 to 10": "{source}：{key}.max_segments 必须是 1 到 10 的整数",
    "{source}: {key}.param_max_chars must map parameter -> characters": "{source}：{key}.param_max_chars 应为 参数 -> 字数 的映射",
    "{source}: {key}.param_max_chars.{name}: unknown parameter": "{source}：{key}.param_max_chars.{name}：未知参数",
    "{source}: {key}.param_max_chars.{name} must be a whole number from 1 to 500": "{source}：{key}.param_max_chars.{name} 必须是 1 到 500 的整数",
    "{source}: {key}.templates must map language -> kind -> template": "{source}：{key}.templates 应为 语言 -> 类型 -> 模板 的映射",
    "{source}: {where}: unknown language; use zh-Hans or en": "{source}：{where}：未知语言；请用 zh-Hans 或 en",
    "{source}: {where} must map kind -> template": "{source}：{where} 应为 类型 -> 模板 的映射",
    "{source}: {where}.{kind}: unknown kind; kinds: {kinds}": "{source}：{where}.{kind}：未知类型；可用类型：{kinds}",
    "{source}: {key}.templates.{fallback} has no template for {missing} (every kind needs one; "
    "other languages fall back to it)": "{source}：{key}.templates.{fallback} 缺少 {missing} 的模板（每种类型都需要一个；其他语言缺少时使用它）",
    "{source}: {where} must have code, params and text (and nothing else)": "{source}：{where} 必须有 code、params 和 text（且只有这三项）",
    "{source}: {where}.code must be the approved template code, e.g. SMS_1": "{source}：{where}.code 必须是审核通过的模板代码，例如 SMS_1",
    "{source}: {where}.params must be a list of parameter names": "{source}：{where}.params 必须是参数名列表",
    "{source}: {where}.params names a parameter twice": "{source}：{where}.params 中有参数重复",
    "{source}: {where}.params: unknown parameter(s) {unknown}; allowed: {allowed}": "{source}：{where}.params：未知参数 {unknown}；允许的有：{allowed}",
    "{source}: {where}.text must be the approved wording, ${{param}} each": "{source}：{where}.text 必须是审核通过的文案，参数写作 ${{param}}",
    "{source}: {where}: text uses {named} but params lists {params}; they must match": "{source}：{where}：文案使用了 {named}，但 params 列出的是 {params}；两者必须一致",
    "{source}: {where}: with every parameter at its longest and the signature this text is "
    "{units} characters, {segments} {channel} texts; the limit is {max_segments} (shorten it "
    "or lower param_max_chars)": "{source}：{where}：参数取最长并加上签名后，这条文案有 {units} 个字符，即 {segments} 条 {channel} 短信；上限为 {max_segments}（请缩短文案或调低 param_max_chars）",
    "{file}: reading it took more than an import may use ({memory} MB of memory, "
    "{seconds} s: import.reader_memory_mb and import.reader_seconds in policy.yaml) and "
    "it was stopped ({reason}); it may be damaged or built to exhaust the server: open "
    "it in Excel or WPS and save it again": "{file}：读取它所需超过了导入允许的用量（内存 {memory} MB、{seconds} 秒：policy.yaml 中的 import.reader_memory_mb 与 import.reader_seconds），已被中止（{reason}）；文件可能已损坏，或被构造来耗尽服务器资源：请在 Excel 或 WPS 中打开并重新保存",
    "sheet {sheet!r}: its merged cells overlap ({n} ranges covering {cells} cells of "
    "{rows} rows): the sheet is damaged; unmerge them in Excel or WPS and save it again": "工作表 {sheet!r}：合并单元格相互重叠（{n} 个区域覆盖 {rows} 行中的 {cells} 个单元格），工作表已损坏；请在 Excel 或 WPS 中取消合并后重新保存",
    "{source}: {where}: the approved wording must write the address {address}/ right "
    "before ${{path}}, and nothing right after it, as TESTROTA_PUBLIC_URL is "
    "{public_url}; have the wording approved with this address, or set "
    "TESTROTA_PUBLIC_URL to the one it writes": "{source}：{where}：TESTROTA_PUBLIC_URL 为 {public_url}，审核通过的文案须在 ${{path}} 前紧接写出地址 {address}/，其后不得紧跟其他字符；请以此地址重新报审文案，或把 TESTROTA_PUBLIC_URL 设为文案所写的地址",
    "texts of {n} template(s) fail until fixed (link_not_sendable); the other "
    "kinds are sent. Have the wording approved with TESTROTA_PUBLIC_URL's "
    "address before ${{path}} (README, Connecting Aliyun SMS)": "这 {n} 个模板的短信在修正前都会失败（link_not_sendable），其他类型照常发送。请以 TESTROTA_PUBLIC_URL 的地址写在 ${{path}} 之前重新报审文案（见 README“接入阿里云短信”）",
    "{source}: {where}: its links are up to {longest} characters, more than the "
    "{limit} {channel} takes in ${{{name}}}; write {address}/${{path}} in the "
    "approved wording (the address fixed, as {channel} asks), or raise "
    "param_max_chars.{name} if {channel} approved a longer variable": "{source}：{where}：这类短信的链接最长 {longest} 个字符，超过 {channel} 变量 ${{{name}}} 允许的 {limit} 个；请在审核文案中写出 {address}/${{path}}（按 {channel} 要求固定地址），若 {channel} 已批准更长的变量，请调高 param_max_chars.{name}",
    # status lines, titles and summaries the commands print
    " (dry run: nothing written)": "（试运行：未写入任何内容）",
    "… {stage}": "… {stage}",
    "reading": "读取中",
    "comparing": "比对中",
    "waiting for another roster import": "等待另一份花名册导入完成",
    "waiting for another results import": "等待另一份结果导入完成",
    "matching": "匹配中",
    "writing": "写入中",
    "booking contacts": "为密接人员预约中",
    "booking rechecks": "预约单管复核中",
    "… and {n} more (use --json for all)": "… 另有 {n} 条（用 --json 查看全部）",
    "schema at revision {revision}": "数据库结构版本 {revision}",
    "People": "人员",
    "High-risk people by category": "各类别高风险人数",
    "would release {n} coming appointments of leavers and of people no longer high-risk": "将释放离职人员及不再属于高风险人员的 {n} 个后续预约",
    "released {n} coming appointments of leavers and of people no longer high-risk "
    "({texts} pending texts cancelled)": "已释放离职人员及不再属于高风险人员的 {n} 个后续预约（取消待发短信 {texts} 条）",
    "warning: {message}": "注意：{message}",
    "{n} row errors": "{n} 行有错误",
    "skipped sheet {name!r}: {reason}": "已跳过工作表 {name!r}：{reason}",
    "{n} rows that match no person": "{n} 行匹配不到人员",
    "tubes: {negative} negative, {positive} positive, {invalid} invalid, {unknown} unknown; "
    "{members} samples updated": "试管：阴性 {negative}，阳性 {positive}，无效 {invalid}，未知 {unknown}；更新样本 {members} 个",
    "single-tube rechecks booked: {booked} of {people} ({already} already, {unscheduled} "
    "without a slot{error}), {texted} texted": "已预约单管复核：{people} 人中 {booked} 人（已有 {already} 人，无可用时段 {unscheduled} 人{error}），已发短信 {texted} 条",
    "contacts booked for an extra test: {booked} of {contacts}": "已为密接人员加约检测：{contacts} 人中 {booked} 人",
    "POSITIVE": "阳性",
    "{employee_no}: alert {alert_id}, {contacts} contacts (testrota alerts)": "{employee_no}：警报 {alert_id}，密接 {contacts} 人（testrota alerts）",
    "POSITIVE: alert {alert_id} with {contacts} contacts (testrota alerts)": "阳性：警报 {alert_id}，密接 {contacts} 人（testrota alerts）",
    "{employee_no} ({name}): {result} at {at}: {status}": "{employee_no}（{name}）：{at} {result}：{status}",
    "{n} missed tests written to {target}": "已将 {n} 条漏检写入 {target}",
    "Missed tests {week} ({n})": "漏检 {week}（{n}）",
    "Compliance {week}: departments": "{week} 检测完成情况：按部门",
    "Compliance {week}: grid units": "{week} 检测完成情况：按网格",
    "trend {weeks}": "趋势 {weeks}",
    "total": "合计",
    "req.": "应检",
    "no open alerts": "没有未关闭的警报",
    "Alert {id} ({status}): {case}, sampled {at} at {site}: {contacts} contacts": "警报 {id}（{status}）：{case}，{at} 于 {site} 采样：密接 {contacts} 人",
    "alert {id} closed": "警报 {id} 已关闭",
    "alert {id} was already closed": "警报 {id} 此前已关闭",
    "excused {employee_no} ({name}) {at} at {site} (was {previous}): {reason}": "已免检 {employee_no}（{name}）{at} 于 {site}（原为{previous}）：{reason}",
    "flagged {missed} missed, {done} done": "已标记漏检 {missed} 个、已检 {done} 个",
    "GREEN": "绿",
    "AMBER": "黄",
    "RED": "红",
    "{status}: {name} ({employee_no}) {tests}/{required} tests in {week}": "{status}：{name}（{employee_no}）{week} 已检 {tests}/{required} 次",
    ", {n} missed": "，漏检 {n} 次",
    "; next slot {at} at {site}": "；下次时段 {at} 于 {site}",
    "Plan {week}": "{week} 排班",
    "tests scheduled / required": "已排 / 应检次数",
    "people": "人数",
    "unscheduled people": "未排上的人数",
    "rows kept / added / cancelled": "保留 / 新增 / 取消的预约",
    "slots holding a single grid unit": "只含一个网格的时段",
    "people whose slots did not move since last week": "时段与上周相同的人",
    "two tests 3 or 4 days apart": "两次检测间隔 3 或 4 天",
    " ({n} of {total})": "（{total} 人中 {n} 人）",
    "surge": "加密检测",
    "{name}: {tests_per_week} tests a week {start}..{end} ({days_this_week} days this week), "
    "{people} people": "{name}：每周 {tests_per_week} 次，{start}..{end}（本周 {days_this_week} 天），{people} 人",
    "warning": "注意",
    "Utilisation per site and day": "各检测点每日使用率",
    "Unscheduled ({n} people)": "未排上（{n} 人）",
    "Schedule {week}": "{week} 排班表",
    "Roles": "岗位",
    "Unmatched roles": "未匹配的岗位",
    "{pairs} role/department pairs, {people} active people": "{pairs} 个岗位/部门组合，在职 {people} 人",
    "not high-risk": "非高风险",
    "in {department}": "在 {department}",
    "in every department": "在所有部门",
    "{role} {where} -> {target}; {n} people reclassified": "{role}（{where}）-> {target}；{n} 人重新归类",
    "removed the mapping of {role}; {n} people reclassified": "已删除 {role} 的映射；{n} 人重新归类",
    "{people} people, {changed} changed; {high_risk} active high-risk": "{people} 人，{changed} 人有变化；在职高风险 {high_risk} 人",
    "{employee_no}: override removed, now {category}": "{employee_no}：已取消人工指定，现为 {category}",
    "{employee_no}: {category} (was {old})": "{employee_no}：{category}（原为 {old}）",
    "; 1 coming appointment released": "；已释放 1 个后续预约",
    "; {n} coming appointments released": "；已释放 {n} 个后续预约",
    "dispatch": "发送",
    "reminders": "提醒",
    "outbox": "短信",
    "{n} booster texts queued": "已排队 {n} 条加强针短信",
    "sender capacity {week} at {rate:g}/s": "{week} 发送能力（每秒 {rate:g} 条）",
    "by channel": "按渠道",
    "Warning: {warning}": "注意：{warning}",
    "{n} texts queued again": "已重新排队 {n} 条短信",
    "fix:": "处理：",
    "{failed} failed, {warned} warnings": "失败 {failed} 项，注意 {warned} 项",
    "all good": "全部正常",
    "wrote {output} ({n} records)": "已写入 {output}（{n} 条记录）",
    "erased {erased}: now {employee_no}": "已删除 {erased} 的个人信息：现为 {employee_no}",
    "Units ({n})": "单位（{n}）",
    "{n} units written to {target}": "已将 {n} 个单位写入 {target}",
    "Daily report {unit} {day}": "日报 {unit} {day}",
    "confirmed {unit} {day} (late): tested {tested} of {required} required": "已确认 {unit} {day}（逾期）：应检 {required} 人，实检 {tested} 人",
    "confirmed {unit} {day} (on time): tested {tested} of {required} required": "已确认 {unit} {day}（按时）：应检 {required} 人，实检 {tested} 人",
    "{unit}: {mode} from {start}": "{unit}：自 {start} 起{mode}",
    " to {end}": "，至 {end}",
    "Tube {code} open{again} at {site}: {members}/{ratio}{left}, {status}.": "试管 {code} 已开管{again}，于 {site}：{members}/{ratio}{left}，{status}。",
    "Tube {code} closed{again} at {site}: {members}/{ratio}{left}, {status}.": "试管 {code} 已封管{again}，于 {site}：{members}/{ratio}{left}，{status}。",
    " (already)": "（此前已完成）",
    ", {n} place(s) left": "，还可放 {n} 人",
    "{n} tube(s), {swabs} swabs packed{again} at {site} for {day}: {tubes}": "{day} 于 {site} 装箱 {n} 管、{swabs} 份样本{again}：{tubes}",
    "Tubes": "试管",
    "{people} badges on {pages} page(s), valid until {until}: {output}": "{people} 张胸卡，共 {pages} 页，有效期至 {until}：{output}",
    "serving on {url}": "服务地址 {url}",
    "added {role} {name}": "已添加{role} {name}",
    "Users": "用户",
    "password of {name} changed; their sign-ins are ended": "已修改 {name} 的密码；其登录已全部结束",
    "{name} enabled": "{name} 已启用",
    "{name} disabled; their sign-ins are ended": "{name} 已停用；其登录已全部结束",
    "Sign-ins": "登录记录",
    "{name}: {n} sign-in(s) ended": "{name}：已结束 {n} 个登录",
    "Demo users (name / password / role):": "演示用户（用户名 / 密码 / 角色）：",
    "wrote {output} ({n} texts)": "已写入 {output}（{n} 条文本）",
    # check-in, as the command line (and any door that shows message_parts) says it
    "{name} ({employee_no}) already checked in at {at} in this slot; nothing to do.": "{name}（{employee_no}）已于 {at} 在本时段签到，无需重复。",
    "{name} ({employee_no}) checked in at {at}: expected in this slot ({start}–{end} at "
    "{site}).": "{name}（{employee_no}）于 {at} 签到：正是其预约时段（{start}–{end}，{site}）。",
    "{name} ({employee_no}) checked in at {at}: not expected now (their slot today is "
    "{start}–{end} at {site}); the test counts for today.": "{name}（{employee_no}）于 {at} 签到：不在预约时段（今天的时段是 {start}–{end}，{site}）；检测计入今天。",
    "{name} ({employee_no}) checked in at {at}: no slot booked now; the test is recorded.": "{name}（{employee_no}）于 {at} 签到：当前没有预约；检测已记录。",
    "Already in tube {code}.": "已在试管 {code} 中。",
    "Tube {code} is full and closed.": "试管 {code} 已满并封管。",
    "Tube {code}: {n} place(s) left.": "试管 {code}：还可装 {n} 人。",
    # testrota exempt: days a person is excused and not planned
    "{option} {text!r}: write it like 2022-05-09": "{option} {text!r}：请写成 2022-05-09 的格式",
    "the exemption ends ({end}) before it starts ({start})": "豁免的结束日期（{end}）早于开始日期（{start}）",
    "an exemption of {days} days is too long; give at most {limit} days and add another one "
    "when it runs out": "{days} 天的豁免太长；最多 {limit} 天，到期后再另加一条",
    "exemption {id} already ends on {end}; nothing to end on {day}": "豁免 {id} 已于 {end} 结束；无需在 {day} 提前结束",
    "no exemption {id}": "没有编号为 {id} 的豁免",
    "{day} is out of range: give a day from {first} to {last}": (
        "{day} 超出范围：请填写 {first} 至 {last} 之间的日期"
    ),
    "exemption {id}: {employee_no} ({name}) excused {start} to {end}: {reason}": (
        "豁免 {id}：{employee_no}（{name}）{start} 至 {end} 免检：{reason}"
    ),
    "  excused {at} at {site} (was {previous})": "  已免检 {at}，{site}（原为{previous}）",
    "no exemptions": "没有豁免",
    "Exemptions": "豁免",
    "exemption {id} of {employee_no} ({name}) removed": "已删除 {employee_no}（{name}）的豁免 {id}",
    "exemption {id} of {employee_no} ({name}) now ends on {end}": (
        "{employee_no}（{name}）的豁免 {id} 现于 {end} 结束"
    ),
    "{n} coming appointments scheduled again": "{n} 个即将到来的预约已恢复",
}

# Table headers of the command line that are not roster or result fields (those are in
# CODES["field"]): JSON keys, shown in English as they are.
COLUMNS_ZH: dict[str, str] = {
    "active": "在职",
    "attempts": "尝试次数",
    "booked": "已约",
    "browser": "浏览器",
    "capacity": "容量",
    "category_name": "类别名称",
    "channel": "渠道",
    "closed_at": "封管时间",
    "code": "代码",
    "column": "列",
    "confirmed": "已确认",
    "date": "日期",
    "departments": "部门",
    "due_at": "计划发送时间",
    "ends_at": "结束时间",
    "error_code": "错误码",
    "extra": "非应检已检",
    "extra test": "加检",
    "failed": "失败",
    "grid_units": "网格",
    "head_count": "人数",
    "id": "编号",
    "in_row": "连续周数",
    "ip": "IP 地址",
    "kind": "类型",
    "last_seen_at": "最近活动",
    "last_test": "最近检测",
    "level": "层级",
    "level_name": "层级名称",
    "matched_by": "匹配依据",
    "matched_text": "匹配文本",
    "members": "管内人数",
    "message": "说明",
    "missed": "漏检",
    "missing": "缺少次数",
    "mode": "模式",
    "needed_rate": "所需速率",
    "ok": "正常",
    "opened_at": "开管时间",
    "other_count": "其他",
    "path": "路径",
    "people": "人数",
    "positives": "阳性",
    "rate": "检测率",
    "rate_per_second": "每秒条数",
    "ratio": "混采比例",
    "reason": "原因",
    "req.": "应检",
    "required": "应检",
    "retried": "重试",
    "risk_category": "风险类别",
    "row": "行",
    "sent": "已发送",
    "sheet": "工作表",
    "sign_ins": "登录数",
    "stale": "无人的范围",
    "signed_in_at": "登录时间",
    "skipped": "跳过",
    "slot": "时段",
    "starts_at": "开始时间",
    "status": "状态",
    "tested": "实检",
    "tests": "检测次数",
    "texts": "短信数",
    "time": "时间",
    "to": "收件人",
    "unit": "单位",
    "unit_name": "名称",
    "untested": "未检",
    "user": "用户",
    "value": "值",
    "weekday": "星期",
    "start_date": "开始日期",
    "end_date": "结束日期",
    "created_by": "登记人",
    "created_at": "登记时间",
}

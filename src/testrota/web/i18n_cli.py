"""Chinese of the command line's own words (errors, status lines, table titles and headers)
and of the configuration files' refusals, kept apart from the main catalogue so the two grow
without stepping on each other; :mod:`testrota.web.i18n` adds these to
:data:`~testrota.web.i18n.ZH`. The keys are the English templates, as in the rest of the
catalogue; the parameters (a path, a value as typed) are never translated."""

from __future__ import annotations

ZH_CLI: dict[str, str] = {
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
    "the database has no schema yet: run `testrota init` first": "数据库尚未建表：请先运行 `testrota init`",
    "database error: {problem}": "数据库错误：{problem}",
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
}

# Table headers of the command line that are not roster or result fields (those are in
# CODES["field"]): JSON keys, shown in English as they are.
COLUMNS_ZH: dict[str, str] = {}

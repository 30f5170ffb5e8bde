"""Chinese of ``testrota doctor``'s findings and fixes, kept apart from the main catalogue and
merged into :data:`testrota.web.i18n.ZH`. Parameters (a path, a URL, a provider's own error
text) are never translated."""

from __future__ import annotations

ZH_DOCTOR: dict[str, str] = {
    # check names
    "config": "配置",
    "secret key": "密钥",
    "database": "数据库",
    "schema": "表结构",
    "twilio account": "Twilio 账户",
    "twilio sender": "Twilio 发送方",
    "webhook url": "回调地址",
    "sms backend": "短信后端",
    "sender capacity": "发送能力",
    "workers": "后台进程",
    "jobs": "定时任务",
    "settings": "设置",
    # configuration
    "configuration directory {path} does not exist": "配置目录 {path} 不存在",
    "set TESTROTA_CONFIG_DIR to the directory holding policy.yaml and the other config files": (
        "请把 TESTROTA_CONFIG_DIR 设为存放 policy.yaml 及其他配置文件的目录"
    ),
    "loaded (time zone {zone})": "已加载（时区 {zone}）",
    "loaded": "已加载",
    "correct the file; every key is listed in the README": "请修改该文件；所有键都列在 README 中",
    "correct the file": "请修改该文件",
    "needs policy.yaml to load first": "需要先成功加载 policy.yaml",
    "fix the environment variable named above (see README, Settings)": (
        "请修正上面提到的环境变量（见 README 的 Settings 一节）"
    ),
    # secret key
    "TESTROTA_SECRET_KEY is not set (demo mode: a random key kept in the database)": (
        "未设置 TESTROTA_SECRET_KEY（演示模式：使用保存在数据库中的随机密钥）"
    ),
    "set it before real use": "正式使用前请设置",
    "TESTROTA_SECRET_KEY is not set: the web app will not start and texts cannot carry "
    "personal links": "未设置 TESTROTA_SECRET_KEY：网页应用无法启动，短信也无法附带个人链接",
    "set": "已设置",
    "{command}; the same value in every process": "{command}；每个进程都用同一个值",
    # database
    "TESTROTA_DATABASE_URL is not a database URL: {problem}": (
        "TESTROTA_DATABASE_URL 不是数据库地址：{problem}"
    ),
    "e.g. postgresql+psycopg://user:pass@host/testrota or sqlite:///./testrota.db": (
        "例如 postgresql+psycopg://user:pass@host/testrota 或 sqlite:///./testrota.db"
    ),
    "the SQLite file {path} does not exist": "SQLite 文件 {path} 不存在",
    "run testrota init (or point TESTROTA_DATABASE_URL at the database)": (
        "请运行 testrota init（或让 TESTROTA_DATABASE_URL 指向该数据库）"
    ),
    "cannot reach {url}: {reason}": "无法连接 {url}：{reason}",
    "check that the server runs, the URL, the user and the password": (
        "请检查数据库服务是否在运行，以及地址、用户名和密码"
    ),
    "reachable ({url})": "可连接（{url}）",
    "the database has no testrota schema": "数据库中没有 testrota 的表结构",
    "run testrota init": "请运行 testrota init",
    "schema revision {current}, this version needs {head}": (
        "表结构版本为 {current}，本版本需要 {head}"
    ),
    "run testrota init (it upgrades in place)": "请运行 testrota init（会就地升级）",
    "schema revision {current} is unknown to this version (head {head}): a newer testrota "
    "wrote it": "本版本不认识表结构版本 {current}（最新为 {head}）：它由更新版本的 testrota 写入",
    "run the same testrota version as the other processes": ("请运行与其他进程相同版本的 testrota"),
    "at head ({head})": "已是最新（{head}）",
    # Twilio
    "Twilio refused the credentials (HTTP {status}, code {code})": (
        "Twilio 拒绝了凭据（HTTP {status}，代码 {code}）"
    ),
    "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (console.twilio.com, Account info); a "
    "test-credentials pair cannot be checked": (
        "请检查 TWILIO_ACCOUNT_SID 和 TWILIO_AUTH_TOKEN（console.twilio.com 的 Account info）；"
        "测试凭据无法检查"
    ),
    "Twilio does not know this account": "Twilio 没有这个账户",
    "check TWILIO_ACCOUNT_SID": "请检查 TWILIO_ACCOUNT_SID",
    "Twilio answered HTTP {status} (code {code}): {problem}": (
        "Twilio 返回 HTTP {status}（代码 {code}）：{problem}"
    ),
    "try again later; see status.twilio.com": "请稍后再试；见 status.twilio.com",
    "could not reach {api}: {problem}": "无法连接 {api}：{problem}",
    "check the network, a proxy (HTTPS_PROXY) and TESTROTA_TWILIO_API_BASE": (
        "请检查网络、代理（HTTPS_PROXY）和 TESTROTA_TWILIO_API_BASE"
    ),
    "the account is {status}": "账户状态为 {status}",
    "reactivate it in the Twilio console": "请在 Twilio 控制台重新启用该账户",
    "trial account {name!r}: texts reach verified numbers only and start with a trial "
    "notice": "试用账户 {name!r}：短信只能发到已验证的号码，且开头带有试用提示",
    "upgrade the account before texting staff": "给员工发短信前请升级账户",
    "{name!r} is active ({type})": "{name!r} 已启用（{type}）",
    "messaging service {service} is not in this account": "消息服务 {service} 不在此账户中",
    "check TWILIO_MESSAGING_SERVICE_SID": "请检查 TWILIO_MESSAGING_SERVICE_SID",
    "could not look up messaging service {service}: {problem}": (
        "无法查询消息服务 {service}：{problem}"
    ),
    "try again; check the network": "请重试；并检查网络",
    "messaging service {name!r}": "消息服务 {name!r}",
    "TWILIO_FROM {sender!r} is a short code or a sender ID (not checked)": (
        "TWILIO_FROM {sender!r} 是短号码或发送方 ID（未检查）"
    ),
    "could not list the account's numbers: {problem}": "无法列出该账户的号码：{problem}",
    "TWILIO_FROM {sender} is not a number of this account: every send would fail (Twilio "
    "error 21606)": "TWILIO_FROM {sender} 不是该账户的号码：每次发送都会失败（Twilio 错误 21606）",
    "set TWILIO_FROM to one of the account's numbers, or use TWILIO_MESSAGING_SERVICE_SID": (
        "请把 TWILIO_FROM 设为该账户的某个号码，或改用 TWILIO_MESSAGING_SERVICE_SID"
    ),
    "{sender} cannot send SMS": "{sender} 不能发送短信",
    "buy an SMS-capable number or use a messaging service": "请购买可发短信的号码，或使用消息服务",
    "{sender} belongs to the account": "{sender} 属于该账户",
    # webhook
    "TESTROTA_PUBLIC_URL {url} is not https: Twilio would send replies and delivery reports "
    "in clear text": "TESTROTA_PUBLIC_URL {url} 不是 https：Twilio 会以明文发送回复和送达回执",
    "serve the app behind TLS and set TESTROTA_PUBLIC_URL=https://...": (
        "请在 TLS 之后提供应用，并设置 TESTROTA_PUBLIC_URL=https://..."
    ),
    "TESTROTA_PUBLIC_URL {url} is not reachable from the internet": (
        "TESTROTA_PUBLIC_URL {url} 无法从互联网访问"
    ),
    "set it to the public https address of the web app": "请设为网页应用的公网 https 地址",
    "TESTROTA_PUBLIC_URL {url} has a query or a fragment": (
        "TESTROTA_PUBLIC_URL {url} 带有查询参数或片段"
    ),
    "use just scheme, host and an optional path prefix": "只用协议、主机名和可选的路径前缀",
    "set the number's (or messaging service's) incoming-message webhook to POST {inbound}": (
        "请把号码（或消息服务）的来信回调设为 POST {inbound}"
    ),
    "console: texts are written to the log, not sent": "console：短信只写入日志，不会发送",
    "for production set TESTROTA_SMS_BACKEND=twilio and the TWILIO_* settings": (
        "正式使用请设置 TESTROTA_SMS_BACKEND=twilio 及 TWILIO_* 各项"
    ),
    # Aliyun SMS and WeCom
    "aliyun account": "阿里云账户",
    "aliyun templates": "阿里云短信模板",
    "aliyun receipts": "阿里云回执",
    "wecom app": "企业微信应用",
    "channel refusals": "渠道拒发",
    "{names} not set": "未设置 {names}",
    "set them": "请设置这些变量",
    "add channels.aliyun to messages.yaml (README, Connecting Aliyun SMS)": (
        "请在 messages.yaml 中加入 channels.aliyun（见 README 的 Connecting Aliyun SMS 一节）"
    ),
    "approved templates for {n} kinds (signature {signature!r})": (
        "已审核通过 {n} 类短信的模板（签名 {signature!r}）"
    ),
    "{endpoint} refused a query: {reason}": "{endpoint} 拒绝了查询：{reason}",
    "check ALIYUN_ACCESS_KEY_ID and ALIYUN_ACCESS_KEY_SECRET (a RAM user with "
    "AliyunDysmsFullAccess) and TESTROTA_ALIYUN_ENDPOINT": (
        "请检查 ALIYUN_ACCESS_KEY_ID 和 ALIYUN_ACCESS_KEY_SECRET（需具有 AliyunDysmsFullAccess "
        "权限的 RAM 用户）以及 TESTROTA_ALIYUN_ENDPOINT"
    ),
    "{endpoint} answers queries with these credentials": "{endpoint} 接受这组凭据的查询",
    "TESTROTA_ALIYUN_RECEIPT_TOKEN is not set: delivery receipts cannot arrive": (
        "未设置 TESTROTA_ALIYUN_RECEIPT_TOKEN：收不到送达回执"
    ),
    "set it and give Aliyun {url}": "请设置它，并把 {url} 提供给阿里云",
    "the receipt route is open (token set)": "回执地址已开放（已设置令牌）",
    "{api} gave no access token: {problem}": "{api} 未给出 access token：{problem}",
    "check WECOM_CORP_ID and WECOM_SECRET (the app's Secret) and TESTROTA_WECOM_API_BASE": (
        "请检查 WECOM_CORP_ID、WECOM_SECRET（应用的 Secret）和 TESTROTA_WECOM_API_BASE"
    ),
    "{api} gives app {agent} an access token": "{api} 为应用 {agent} 给出了 access token",
    "no text failed for a configuration reason today": "今天没有短信因配置问题发送失败",
    "texts refused in the last 24 h for our configuration: {codes}": (
        "过去 24 小时内因我方配置被拒发的短信：{codes}"
    ),
    "fix the template codes in messages.yaml, ALIYUN_SMS_SIGN_NAME or the credentials; "
    "`testrota outbox --status failed` lists the texts": (
        "请修正 messages.yaml 中的模板代码、ALIYUN_SMS_SIGN_NAME 或凭据；"
        "`testrota outbox --status failed` 会列出这些短信"
    ),
    # work in the database
    "{n} day(s) too busy for {rate} texts/s; first: {first}": (
        "有 {n} 天按每秒 {rate} 条发送来不及；第一天：{first}"
    ),
    "raise sms.rate_per_second only if the sender allows it (a short code, or a messaging "
    "service with more numbers), or spread the slots": (
        "只有发送方允许时才提高 sms.rate_per_second（短号码，或号码更多的消息服务），"
        "否则请把时段分散开"
    ),
    "no appointments planned from today on yet": "从今天起尚未排任何预约",
    "fit {rate} texts/s": "在每秒 {rate} 条之内",
    "(no sender rate limit configured)": "（未配置发送速率上限）",
    "{n} reminders from today to the end of {week} {limit}": (
        "从今天到 {week} 结束共 {n} 条提醒，{limit}"
    ),
    "no job tick recorded yet": "尚无定时任务运行记录",
    "start testrota worker (or testrota serve --with-worker)": (
        "请启动 testrota worker（或 testrota serve --with-worker）"
    ),
    "the last job tick ended {n} minutes ago": "最近一次任务运行结束于 {n} 分钟前",
    "check that testrota worker runs (systemctl status testrota-worker@*)": (
        "请检查 testrota worker 是否在运行（systemctl status testrota-worker@*）"
    ),
    "last job tick {n} s ago": "最近一次任务运行于 {n} 秒前",
    "no job failing ({n} jobs ticked)": "没有失败的任务（{n} 个任务运行过）",
    "{job} for {period} failed {ago} ({at} UTC, worker {worker}): {error}": (
        "{job}（{period}）{ago}失败（UTC {at}，进程 {worker}）：{error}"
    ),
    "{job} failed {ago} ({at} UTC, worker {worker}): {error}": (
        "{job} {ago}失败（UTC {at}，进程 {worker}）：{error}"
    ),
    "{job} for {period} failed at {at}: {error}": "{job}（{period}）于 {at} 失败：{error}",
    "{job} for {period} failed: {error}": "{job}（{period}）失败：{error}",
    "{failure}; also failing: {others}": "{failure}；另有失败的任务：{others}",
    "{n} s ago": "{n} 秒前",
    "{n} minutes ago": "{n} 分钟前",
    "{n} hours ago": "{n} 小时前",
    "no job has run yet": "尚无任务运行过",
    "the worker's log has the traceback (level ERROR, job_id {job}:…); fix the cause, then "
    "{remedy}": "后台进程日志中有错误堆栈（级别 ERROR，job_id {job}:…）；请排除原因，然后{remedy}",
    "the worker tries again every 10 minutes for 6 hours; or run `testrota plan --week "
    "{period}` once fixed": "后台进程会在 6 小时内每 10 分钟重试一次；或修好后运行 `testrota plan --week {period}`",
    "the worker tries again every 10 minutes until noon": "后台进程会每 10 分钟重试一次，直到中午",
    "the worker tries again every 10 minutes for 3 hours, else tomorrow night": (
        "后台进程会在 3 小时内每 10 分钟重试一次，否则明晚再试"
    ),
    "it runs every 30 s; `testrota dispatch --once` shows the error too": (
        "它每 30 秒运行一次；`testrota dispatch --once` 也会显示错误"
    ),
    "it runs every 5 minutes; `testrota reminders` shows the error too": (
        "它每 5 分钟运行一次；`testrota reminders` 也会显示错误"
    ),
    "it runs every minute": "它每分钟运行一次",
    "it runs every 10 minutes; `testrota flag` shows the error too": (
        "它每 10 分钟运行一次；`testrota flag` 也会显示错误"
    ),
    "it runs again at its next tick": "它会在下次定时运行",
    "the oldest due text has waited {n} minutes (reminders.send_within_minutes is {limit})": (
        "最早到期的短信已等待 {n} 分钟（reminders.send_within_minutes 为 {limit}）"
    ),
    "check the workers' logs and the sender (testrota outbox --status pending)": (
        "请检查后台进程日志和发送方（testrota outbox --status pending）"
    ),
    "no text waits longer than it should": "没有短信等待超时",
    "needs {what} to be usable first": "需要先让{what}可用",
    "the database": "数据库",
    "policy.yaml": "policy.yaml",
}

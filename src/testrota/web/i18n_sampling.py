"""The Chinese of sampling day's interface texts and messages (personal codes, badges, tubes,
the scan console), kept apart from :data:`testrota.web.i18n.ZH` and merged into it."""

from __future__ import annotations

SAMPLING_ZH: dict[str, str] = {
    # pooled tubes and their results
    "Pooled tube positive": "混管阳性",
    "Positive result": "阳性结果",
    "a single-tube recheck is due; stay home until it comes back negative.": "需单管复核，结果为阴性前请居家等候。",
    "isolate and follow the epidemic-control office.": "请立即隔离并听从防疫办安排。",
    "pool_positive": "混管阳性",
    "recheck": "单管复核",
    "tube.opened": "开管",
    "tube.closed": "封管",
    "tube.packed": "装箱",
    # personal codes
    "Your code for the testing site": "您的核酸码",
    "Show this at the testing site; a screenshot works. Valid until {date}.": "请在采样点出示此码，截图亦可。有效期至 {date}。",
    "Your co-residents' codes": "共同居住人的核酸码",
    "this is not a valid personal code; type the employee number instead": "这不是有效的核酸码，请改为输入工号",
    "this personal code is dated {issued}, in the future": "此核酸码的签发日期 {issued} 晚于今天",
    "this personal code expired on {date}; open the personal page (or ask HR for a new badge) to show a fresh one, or type the employee number": "此核酸码已于 {date} 过期；请打开个人页面（或向人事部门领取新码卡）出示新码，或输入工号",
    "the person of this code is not on the roster (or not in your departments); type their employee number": "此核酸码对应的人员不在花名册中（或不在您负责的部门）；请输入工号",
    "give one department or one grid unit to print badges for": "请指定一个部门或一个网格单元来打印码卡",
    "nobody active in {what} {value!r}{scope}": "{what} {value!r} 中没有在册人员{scope}",
    "more than {n} people: print a smaller group (codes.max_badges)": "超过 {n} 人：请打印更小的范围（codes.max_badges）",
    "nobody to print a badge for": "没有需要打印码卡的人员",
    "{n} badges need {pages} pages and a PNG holds one ({per} badges): write a .pdf": "{n} 张码卡需要 {pages} 页，PNG 只能容纳一页（{per} 张）：请生成 PDF",
    "codes.badge_font {path} is not a font file on this machine": "codes.badge_font {path} 不是本机上的字体文件",
    "Badges": "码卡",
    "Print badges": "打印码卡",
    "Department": "部门",
    "Grid unit": "网格单元",
    "Format": "格式",
    "Download": "下载",
    "Badge sheets of personal codes for people without a smartphone.": "为没有智能手机的人员打印核酸码卡。",
}

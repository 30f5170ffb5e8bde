"""Chinese of the schedule's day view, the charts, the upload previews' columns, the error
report workbook and the API page's operations; kept apart from the main catalogue so the two
grow without stepping on each other; :mod:`testrota.web.i18n` adds these to
:data:`~testrota.web.i18n.ZH`."""

from __future__ import annotations

ZH_PAGES: dict[str, str] = {
    # charts
    "no data": "无数据",
    # the schedule's day view of every site
    "All sites": "全部检测点",
    "All sites, one day": "全部检测点（按日）",
    "Week view of one site": "单个检测点的周视图",
    "Each site's times are on its own clock (its time zone is named).": "各检测点的时间按其所在时区显示（已注明时区）。",
    "Sites on this day": "当日各检测点",
    "Time zone": "时区",
    "Slots": "时段数",
    "Booked / places": "已约 / 名额",
    "no slots": "当日无时段",
    "times in {zone}": "时间为 {zone}",
    "Time": "时间",
    "Grid units": "网格",
    "No site has slots on this day.": "当日没有检测点安排时段。",
    "{value} is not a date: write it as 2022-05-09": "{value} 不是日期：请写成 2022-05-09 这样的格式",
    # the results upload preview's columns, by their headers as written
    "These columns were not read: their headers are not names this import knows (config/result_columns.yaml). If one holds an employee number, a sampling time or a result, rename its header and upload again.": "以下列未读取：其表头不是本导入能识别的名称（config/result_columns.yaml）。如果其中有工号、采样时间或检测结果，请修改表头后重新上传。",
    "Sheet {sheet}: column {letter}, {column}": "工作表 {sheet}：第 {letter} 列「{column}」",
    "Sheet {sheet}: column {letter}, which has no header": "工作表 {sheet}：第 {letter} 列（没有表头）",
    # the error report workbook (Sheet, Row, Column, Value, Problem: the main catalogue's)
    "Problems": "问题",
    # a tube sheet's row problems (the preview and the error report)
    "not a result: use 阴性/阳性/无效 (negative, positive, invalid)": "不是检测结果：请填写 阴性/阳性/无效",
    "{value} is not a Ct value": "{value} 不是 Ct 值",
    "tube {code} has another result on row {row}": "试管 {code} 在第 {row} 行有另一个结果",
    "no tube with this code (tube open … first)": "没有此编码的试管（请先用 tube open 开管）",
}

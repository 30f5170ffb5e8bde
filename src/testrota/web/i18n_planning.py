"""Chinese of the planner's emergency-mode messages (onsite sites, grid units kept apart),
kept apart from :data:`testrota.web.i18n.ZH` and merged into it."""

from __future__ import annotations

ZH_PLANNING: dict[str, str] = {
    "no testing site is marked as on site (onsite: true in sites.yaml), so the people living "
    "on site in {unit} could not be tested; mark the on-site testing site first": (
        "没有标记为厂内的采样点（sites.yaml 中的 onsite: true），{unit} 的驻厂人员无法安排采样；"
        "请先标记厂内采样点"
    ),
    "no on-site testing site serves {n} people living on site in {unit} (such as {example}); "
    "add them to an on-site site's serves in sites.yaml first": (
        "没有厂内采样点为 {unit} 的 {n} 名驻厂人员服务（如 {example}）；"
        "请先在 sites.yaml 中把他们加入某个厂内采样点的 serves"
    ),
    # why a test could not be placed (the plan's report)
    "static mode: no slot is left that the grid unit could have to itself": (
        "静态管控：已没有可供该网格单独使用的时段"
    ),
    "lives on site, and no on-site testing site serves this person": (
        "驻厂人员，且没有为其服务的厂内采样点"
    ),
}

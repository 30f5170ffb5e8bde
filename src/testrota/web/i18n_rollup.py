"""Chinese of the daily roll-up's messages (``testrota rollup rebuild``), kept apart from the
main catalogue; :mod:`testrota.web.i18n` adds these to :data:`~testrota.web.i18n.ZH`."""

from __future__ import annotations

ZH_ROLLUP: dict[str, str] = {
    "--from {first} is after --to {last}": "--from {first} 晚于 --to {last}",
    "{days} days is too many for one rebuild; give at most {limit} with --from and --to": (
        "一次重算 {days} 天太多；请用 --from 和 --to 指定最多 {limit} 天"
    ),
}

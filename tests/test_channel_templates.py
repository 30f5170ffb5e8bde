"""Approved templates per channel (``channels:`` in messages.yaml): checked when the file loads,
and filled from the values each outbox text keeps."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from testrota.errors import UserError
from testrota.notify.channel_templates import OUTBOX_KINDS, channel_segments
from testrota.notify.outbox import ReminderTarget, plan_reminders
from testrota.notify.templates import load_templates, parse_templates
from testrota.policy import load_policy
from tests.conftest import CONFIG_DIR

SOURCE = "config/messages.yaml"


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    data = yaml.safe_load((CONFIG_DIR / "messages.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _refused(data: dict[str, Any]) -> str:
    with pytest.raises(UserError) as info:
        parse_templates(data, SOURCE)
    message = str(info.value)
    assert message.startswith(SOURCE)  # the file is named
    return message


def _aliyun(data: dict[str, Any]) -> dict[str, Any]:
    section = data["channels"]["aliyun"]
    assert isinstance(section, dict)
    return section


def test_the_shipped_file_has_a_template_for_every_kind(shipped: dict[str, Any]) -> None:
    channel = parse_templates(shipped, SOURCE).channels["aliyun"]
    for kind in OUTBOX_KINDS:
        for language in ("zh-Hans", "en", None):
            template = channel.template(kind, language)
            assert template is not None and template.code.startswith("SMS_")
            assert "path" in template.params  # people cannot answer an Aliyun text


def test_without_channels_only_free_text(shipped: dict[str, Any]) -> None:
    data = {k: v for k, v in shipped.items() if k != "channels"}
    assert parse_templates(data, SOURCE).channels == {}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda a: a["templates"]["zh-Hans"].update(
                recheck_soon=a["templates"]["zh-Hans"]["booster"]
            ),
            ["channels.aliyun.templates.zh-Hans.recheck_soon", "unknown kind"],
        ),
        (
            lambda a: a["templates"]["zh-Hans"].pop("digest"),
            ["channels.aliyun.templates.zh-Hans", "digest"],
        ),
        (
            lambda a: a["templates"]["zh-Hans"]["booster"].update(
                params=["name", "link", "shoe_size"]
            ),
            ["booster.params", "shoe_size"],
        ),
        (
            lambda a: a["templates"]["zh-Hans"]["booster"].update(params=["name"]),
            ["booster", "must match"],
        ),
        (
            lambda a: a["templates"]["zh-Hans"]["booster"].update(code="SMS 1; DROP"),
            ["booster.code"],
        ),
        (lambda a: a["templates"]["zh-Hans"]["booster"].pop("text"), ["booster"]),
        (lambda a: a["templates"].update(fr={}), ["templates.fr", "unknown language"]),
        (lambda a: a.update(max_segments=1), ["reminder_eve", "limit is 1"]),
        (lambda a: a.update(param_max_chars={"site": 80}), ["limit is 2"]),
        (lambda a: a.update(param_max_chars={"nickname": 5}), ["param_max_chars.nickname"]),
        (lambda a: a.update(colour="red"), ["channels.aliyun", "colour"]),
    ],
)
def test_mistakes_are_refused_naming_the_key(
    shipped: dict[str, Any], change: Any, words: list[str]
) -> None:
    data = copy.deepcopy(shipped)
    change(_aliyun(data))
    message = _refused(data)
    for word in words:
        assert word in message, message


def test_an_unknown_channel_is_refused(shipped: dict[str, Any]) -> None:
    data = copy.deepcopy(shipped)
    data["channels"]["carrier_pigeon"] = _aliyun(data)
    assert "channels.carrier_pigeon" in _refused(data)


def test_segments_are_counted_as_aliyun_counts() -> None:
    assert [channel_segments("aliyun", n) for n in (1, 70, 71, 134, 135)] == [1, 1, 2, 2, 3]


def test_the_length_check_counts_the_signature(shipped: dict[str, Any]) -> None:
    data = copy.deepcopy(shipped)
    aliyun = _aliyun(data)
    aliyun["max_segments"] = 1
    for kinds in aliyun["templates"].values():
        for entry in kinds.values():
            entry.update(params=["link"], text="详情：${link}")
    parse_templates(data, SOURCE)  # 3 + 35 + 14 = 52: one text
    aliyun["templates"]["zh-Hans"]["booster"]["text"] = "核" * 19 + "详情：${link}"
    message = _refused(data)  # 19 + 3 + 35 + 14 = 71: two texts
    assert "71 characters" in message


def test_outbox_rows_keep_the_values_their_body_was_made_from() -> None:
    templates = load_templates(CONFIG_DIR)
    rules = load_policy(CONFIG_DIR).reminders
    shanghai = ZoneInfo("Asia/Shanghai")
    starts = datetime(2022, 5, 10, 1, 30, tzinfo=UTC)  # Tue 09:30 in Shanghai
    target = ReminderTarget(
        1, 7, "张三", "+8613800000001", "zh", "一号采样点", "Asia/Shanghai", shanghai, starts
    )
    rows = plan_reminders(
        [target],
        datetime(2022, 5, 9, 0, 0, tzinfo=UTC),
        rules,
        templates,
        lambda pid: f"https://rota.example.com/me/{pid}",
    )
    assert rows and all(r.language == "zh-Hans" for r in rows)
    for row in rows:
        assert row.params is not None
        assert row.params == {
            "date": "5月10日周二",
            "link": "https://rota.example.com/me/7",
            "name": "张三",
            "site": "一号采样点",
            "time": "09:30",
        }
        call = templates.channels["aliyun"].call(
            row.kind, row.language, row.params, "https://rota.example.com"
        )
        assert call is not None and call.params["path"] == "me/7"

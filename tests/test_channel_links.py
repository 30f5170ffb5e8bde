"""Links in Aliyun texts: the address fixed in the approved wording, ``${path}`` the rest.

Aliyun approves a link only as fixed text with a variable tail, and a variable of at most 35
characters (the fake refuses longer ones as Aliyun does, ``isv.PARAM_LENGTH_LIMIT``). A whole
personal link in ``${link}`` (``https://rota.example.com/me/`` and a 30-character token) was
refused for every text; the channel now refuses such templates when it starts, and sends the
path after the address its wording writes."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from testrota.notify.aliyun import AliyunBackend
from testrota.notify.backends import TemplateValues
from testrota.notify.channel_templates import LINK_PATHS, OUTBOX_KINDS, link_problems
from testrota.notify.links import make_personal_link, read_personal_token
from testrota.notify.templates import load_templates, parse_templates
from testrota.org.reminders import LateUnit, plan_late_texts
from testrota.policy import SmsPolicy, load_policy
from testrota.settings import get_settings
from tests.conftest import CONFIG_DIR
from tests.fake_aliyun import PUBLIC_URL, FakeAliyun

SECRET = "links-test-secret-key-0123456789abcdefghij"
SOURCE = "config/messages.yaml"
NOW = datetime(2022, 5, 9, 1, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeAliyun]:
    with FakeAliyun() as server:
        yield server


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    data = yaml.safe_load((CONFIG_DIR / "messages.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _channel(data: dict[str, Any]) -> Any:
    return parse_templates(data, SOURCE).channels["aliyun"]


def _problems(data: dict[str, Any], public_url: str) -> dict[tuple[str, str], str]:
    found = link_problems(_channel(data), public_url, SOURCE)
    return {key: str(problem) for key, problem in found.items()}


def _refused(data: dict[str, Any], public_url: str, kind: str = "booster") -> str:
    message = _problems(data, public_url).get(("zh-Hans", kind))
    assert message is not None, _problems(data, public_url)
    return message


def _booster(data: dict[str, Any], text: str, params: list[str]) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    changed["channels"]["aliyun"]["templates"]["zh-Hans"]["booster"].update(
        {"params": params, "text": text}
    )
    return changed


def test_the_shipped_wording_writes_the_address_and_fits_every_kinds_links(
    shipped: dict[str, Any],
) -> None:
    assert _problems(shipped, PUBLIC_URL) == {}
    assert _problems(shipped, "http://rota.example.com") == {}  # written without a scheme
    assert set(LINK_PATHS) == set(OUTBOX_KINDS)  # every kind's links are bounded


def _moved(data: dict[str, Any], address: str) -> dict[str, Any]:
    """The shipped templates approved with another address."""
    text = yaml.safe_dump(data, allow_unicode=True).replace("rota.example.com/", address + "/")
    moved = yaml.safe_load(text)
    assert isinstance(moved, dict)
    return moved


def test_a_public_url_the_wording_does_not_write_is_refused(shipped: dict[str, Any]) -> None:
    message = _refused(shipped, "https://rota.steel.cn")
    assert "must write the address rota.steel.cn/ right before ${path}" in message
    assert message.startswith(SOURCE)
    assert len(_problems(shipped, "https://rota.steel.cn")) == len(OUTBOX_KINDS)
    moved = _moved(shipped, "rota.steel.cn")
    assert _problems(moved, "https://rota.steel.cn") == {}
    # another address that ends in this one, or holds it, or another scheme, is not it; nor
    # is the link with a character glued after it, which a phone would take into the link
    for text in (
        "您好，请接种加强针：xrota.steel.cn/${path}",
        "您好，请接种加强针：evil.cn/rota.steel.cn/${path}",
        "您好，请接种加强针：evil.cn?u=rota.steel.cn/${path}",
        "您好，请接种加强针：http://rota.steel.cn/${path}",
        "您好，请接种加强针：rota.steel.cn/${path}.",
    ):
        moved_booster = _booster(moved, text, ["path"])
        assert ".zh-Hans.booster:" in _refused(moved_booster, "https://rota.steel.cn"), text
    # the address after a Chinese word or with its scheme, a Chinese full stop after it
    for text in (
        "您好，请接种加强针详情rota.steel.cn/${path}",
        "详情：https://rota.steel.cn/${path}。",
    ):
        assert _problems(_booster(moved, text, ["path"]), "https://rota.steel.cn") == {}


def test_a_whole_link_in_a_variable_is_refused_unless_approved_longer(
    shipped: dict[str, Any],
) -> None:
    old_form = _booster(shipped, "${name}您好，请接种加强针：${link}", ["name", "link"])
    message = _refused(old_form, PUBLIC_URL)
    # https://rota.example.com (24) + / + me/ + a 30-character token
    assert "its links are up to 58 characters, more than the 35 aliyun takes in ${link}" in message
    assert "rota.example.com/${path}" in message  # the way out
    approved_longer = copy.deepcopy(old_form)
    approved_longer["channels"]["aliyun"]["param_max_chars"]["link"] = 60
    assert _problems(approved_longer, PUBLIC_URL) == {}


def test_the_longest_links_are_what_the_texts_build() -> None:
    settings = get_settings(secret_key=SECRET, public_url=PUBLIC_URL)
    for person_id in (1, 62**5, 2**31 - 1):
        link = make_personal_link(settings, person_id, NOW)
        path = link.removeprefix(PUBLIC_URL + "/")
        assert len(path) <= LINK_PATHS["booster"]
    assert len(path) == LINK_PATHS["booster"]  # the bound is the longest, not a guess
    templates = load_templates(CONFIG_DIR, 2)
    late = [LateUnit(1, "王主任", "+8613900000001", "zh-Hans", 999_999, "本钢集团/炼钢厂")]
    [row] = plan_late_texts(
        late, date(2022, 5, 9), NOW, NOW, load_policy(CONFIG_DIR), templates, PUBLIC_URL
    )
    assert row.params is not None
    assert row.params["link"] == f"{PUBLIC_URL}/report/daily?date=20220509&u=999999"
    assert len(row.params["link"]) - len(PUBLIC_URL) - 1 == LINK_PATHS["confirm_late"]


def test_a_persons_real_link_reaches_them_through_aliyun_and_opens(fake: FakeAliyun) -> None:
    settings = get_settings(secret_key=SECRET, **fake.settings())  # type: ignore[arg-type]
    backend = AliyunBackend.from_settings(settings, SmsPolicy(request_timeout_seconds=5))
    link = make_personal_link(settings, 2**31 - 1, NOW)
    values = TemplateValues("booster", "zh-Hans", {"name": "张三", "link": link})
    assert backend.send("+8613800000001", "x", 1, values).status == "sent"
    [sms] = fake.messages
    assert len(sms.params["path"]) <= 35  # as Aliyun takes a variable
    [written] = re.findall(r"rota\.example\.com/\S+", sms.content)
    assert link.endswith(written)  # the text the phone shows holds the whole link
    token = written.split("/me/", 1)[1]
    assert read_personal_token(settings, token, now=NOW) == 2**31 - 1


def test_a_kind_whose_wording_cannot_carry_its_link_fails_alone(
    fake: FakeAliyun, tmp_path: Path
) -> None:
    """One template approved with another address: its texts fail before the wire, named,
    and every other kind still goes out (a channel refused whole had stopped them all)."""
    import shutil

    from testrota.notify.failures import Failure, SendFailure

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    text = (config / "messages.yaml").read_text(encoding="utf-8")
    booster = "请尽快接种新冠疫苗加强针。查看安排：rota.example.com/${path}"
    assert booster in text
    (config / "messages.yaml").write_text(
        text.replace(booster, booster.replace("rota.example.com", "old.example.com")),
        encoding="utf-8",
    )
    values: dict[str, Any] = {**fake.settings(), "config_dir": config}
    settings = get_settings(secret_key=SECRET, **values)
    backend = AliyunBackend.from_settings(settings, SmsPolicy(request_timeout_seconds=5))
    assert list(backend.link_problems) == [("zh-Hans", "booster")]
    link = make_personal_link(settings, 7, NOW)
    booster_text = TemplateValues("booster", "zh-Hans", {"name": "张三", "link": link})
    with pytest.raises(SendFailure) as failed:
        backend.send("+8613800000001", "x", 1, booster_text)
    assert failed.value.kind is Failure.REJECTED and failed.value.code == "link_not_sendable"
    assert "rota.example.com/ right before ${path}" in failed.value.message
    reminder = TemplateValues(
        "reminder_before",
        "zh-Hans",
        {"name": "张三", "time": "09:30", "site": "一号采样点", "link": link},
    )
    assert backend.send("+8613800000001", "x", 2, reminder).status == "sent"
    assert [m.template_code for m in fake.messages] == ["SMS_270000002"]

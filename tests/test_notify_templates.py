"""Templates in both languages, and what they cost in SMS segments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from testrota.errors import UserError
from testrota.notify.links import make_personal_link
from testrota.notify.segments import is_gsm7, sms_segments
from testrota.notify.templates import (
    PLACEHOLDERS,
    format_date,
    language_key,
    load_templates,
    local_date_time,
    parse_templates,
)
from testrota.settings import get_settings
from tests.conftest import CONFIG_DIR

SHANGHAI = ZoneInfo("Asia/Shanghai")


# ---------------------------------------------------------------- segment counting


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),  # 2 x 153
        ("a" * 307, "GSM-7", 307, 3),
        ("{" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
        ("{" * 81, "GSM-7", 162, 2),
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),  # an escape pair is not split: 152|2+10
        ("a" * 153 + "€" * 77, "GSM-7", 307, 3),
        ("核" * 70, "UCS-2", 70, 1),
        ("核" * 71, "UCS-2", 71, 2),
        ("核" * 134, "UCS-2", 134, 2),  # 2 x 67
        ("核" * 135, "UCS-2", 135, 3),
        ("a" * 69 + "é", "GSM-7", 70, 1),  # é is in the GSM-7 alphabet
        ("a" * 69 + "’", "UCS-2", 70, 1),  # a curly quote is not: the whole text turns UCS-2
        ("😀" * 35, "UCS-2", 70, 1),  # surrogate pairs count two units
        ("a" * 66 + "😀" + "a" * 4, "UCS-2", 72, 2),  # a pair is not split across parts
    ],
)
def test_segments(text: str, encoding: str, units: int, segments: int) -> None:
    info = sms_segments(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_gsm7_alphabet() -> None:
    assert is_gsm7("Hello @ 12:30, £5 & ¿qué?")
    assert not is_gsm7("Hello — world")
    assert not is_gsm7("核酸")


# ---------------------------------------------------------------- loading


def test_shipped_templates_load_for_both_languages() -> None:
    templates = load_templates(CONFIG_DIR)
    assert set(templates.variants) == {"zh-Hans", "en"}
    for lang in templates.variants:
        assert set(templates.variants[lang]) == set(PLACEHOLDERS)


def test_english_templates_are_gsm7() -> None:
    """A single curly quote would double the cost of every English text."""
    raw = yaml.safe_load((CONFIG_DIR / "messages.yaml").read_text(encoding="utf-8"))
    for kind, texts in raw["en"].items():
        for text in texts:
            assert is_gsm7(text.replace("{", "").replace("}", "")), kind


def test_unknown_placeholder_is_refused() -> None:
    raw = yaml.safe_load((CONFIG_DIR / "messages.yaml").read_text(encoding="utf-8"))
    raw["en"]["reminder_eve"] = ["Your test at {tiem}"]
    with pytest.raises(UserError, match=r"en\.reminder_eve uses unknown placeholder.*\{tiem\}"):
        parse_templates(raw)


def test_missing_kind_or_language_is_refused() -> None:
    raw = yaml.safe_load((CONFIG_DIR / "messages.yaml").read_text(encoding="utf-8"))
    del raw["zh-Hans"]["missed"]
    with pytest.raises(UserError, match=r"zh-Hans\.missed needs at least one text"):
        parse_templates(raw)
    fresh = yaml.safe_load((CONFIG_DIR / "messages.yaml").read_text(encoding="utf-8"))
    with pytest.raises(UserError, match="language 'en' is missing"):
        parse_templates({"zh-Hans": fresh["zh-Hans"]})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"messages\.yaml: file not found"):
        load_templates(tmp_path)


# ---------------------------------------------------------------- rendering


def test_language_key() -> None:
    assert language_key("en") == "en"
    assert language_key("en-GB") == "en"
    assert language_key("EN") == "en"
    assert language_key("zh") == "zh-Hans"
    assert language_key("zh-Hant") == "zh-Hans"
    assert language_key(None) == "zh-Hans"


def test_dates_by_language() -> None:
    assert format_date(date(2022, 5, 10), "zh") == "5月10日周二"
    assert format_date(date(2022, 5, 10), "en") == "Tue 10 May"
    at = datetime(2022, 5, 10, 1, 30, tzinfo=UTC)
    assert local_date_time(at, SHANGHAI, "zh") == ("5月10日周二", "09:30")


def _link() -> str:
    settings = get_settings(secret_key="k" * 40, public_url="https://testrota.bxsteel.com.cn")
    return make_personal_link(settings, 123456, datetime(2022, 5, 9, tzinfo=UTC))


@pytest.mark.parametrize("kind", ["reminder_eve", "reminder_before", "missed"])
def test_chinese_reminders_fit_two_segments_and_say_everything(kind: str) -> None:
    templates = load_templates(CONFIG_DIR)
    link = _link()
    rendered = templates.render(
        kind,
        "zh",
        name="欧阳建国",
        date="5月10日周二",
        time="09:30",
        site="本钢板材厂区一号核酸采样点",
        link=link,
    )
    assert rendered.segments.encoding == "UCS-2"
    assert 1 <= rendered.segments.segments <= 2
    body = rendered.body
    assert "09:30" in body and link in body
    assert "本钢板材厂区一号核酸采样点" in body  # the full variant still fits
    if kind != "missed":
        assert "TD" in body and "R" in body


@pytest.mark.parametrize("kind", ["reminder_eve", "reminder_before", "missed"])
def test_english_reminders_are_gsm7_within_two_segments(kind: str) -> None:
    templates = load_templates(CONFIG_DIR)
    rendered = templates.render(
        kind,
        "en",
        name="Alexandra Montgomery",
        date="Tue 10 May",
        time="09:30",
        site="Plate Mill Testing Point 1",
        link=_link(),
    )
    assert rendered.segments.encoding == "GSM-7"
    assert 1 <= rendered.segments.segments <= 2
    assert "Plate Mill Testing Point 1" in rendered.body
    assert "STOP" in rendered.body and "reply R" in rendered.body.replace("Reply R", "reply R")


def test_an_english_text_naming_a_chinese_site_stays_within_two_segments() -> None:
    templates = load_templates(CONFIG_DIR)
    settings = get_settings(secret_key="k" * 40, public_url="https://rota.bx.cn")
    link = make_personal_link(settings, 4321, datetime(2022, 5, 9, tzinfo=UTC))
    for kind in ("reminder_eve", "reminder_before"):
        rendered = templates.render(
            kind,
            "en",
            name="Bob Smith",
            date="Tue 10 May",
            time="14:00",
            site="一号采样点",
            link=link,
        )
        assert rendered.segments.encoding == "UCS-2"
        assert rendered.segments.segments <= 2
        assert "一号采样点" in rendered.body and "STOP" in rendered.body
        # A longer link costs the site name, never the time or the link.
        longer = templates.render(
            kind,
            "en",
            name="Bob Smith",
            date="Tue 10 May",
            time="14:00",
            site="一号采样点",
            link=_link(),
        )
        assert longer.segments.segments <= 2
        assert "14:00" in longer.body and _link() in longer.body


def test_a_long_site_name_costs_detail_not_a_third_segment() -> None:
    templates = load_templates(CONFIG_DIR)
    site = "本钢集团板材股份有限公司冷轧厂东区第三核酸采样点（临时）" * 2
    rendered = templates.render(
        "reminder_eve",
        "zh",
        name="欧阳建国",
        date="5月10日周二",
        time="09:30",
        site=site,
        link=_link(),
    )
    assert rendered.segments.segments <= 2
    assert "09:30" in rendered.body and _link() in rendered.body


def test_one_segment_budget_picks_the_short_variant() -> None:
    templates = load_templates(CONFIG_DIR, max_segments=1)
    rendered = templates.render(
        "reminder_before",
        "en",
        name="Li",
        date="Tue 10 May",
        time="09:30",
        site="Gate 3",
        link="https://t.example/me/x",
    )
    assert rendered.segments.segments == 1
    assert "09:30" in rendered.body


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_kind_renders_in_both_languages(lang: str) -> None:
    templates = load_templates(CONFIG_DIR)
    values: dict[str, object] = {
        "name": "张三",
        "date": "5月10日周二",
        "time": "09:30",
        "site": "一号点",
        "link": _link(),
        "person": "李四",
        "employee_no": "10086",
        "department": "冷链车间",
        "grid_unit": "一组",
        "contacts": 12,
        "count": 3,
        "departments": "冷链车间 3",
        "minutes": 120,
        "unit": "转炉车间",
        "deadline": "10:00",
        "when": "5月10日周二 09:30，一号点",
    }
    if lang == "en":
        values |= {
            "name": "Zhang San",
            "date": "Tue 10 May",
            "site": "Gate 1",
            "person": "Li Si",
            "department": "Cold chain",
            "grid_unit": "Unit 1",
            "departments": "Cold chain 3",
            "unit": "Converter shop",
            "when": "Tue 10 May 09:30, Gate 1",
        }
    for kind, names in PLACEHOLDERS.items():
        rendered = templates.render(kind, lang, **{k: values[k] for k in names})
        assert rendered.body and "{" not in rendered.body, kind
        assert rendered.segments.segments <= 2, (kind, rendered.body)

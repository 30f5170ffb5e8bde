"""The matcher: categories, the reason shown, precedence, false friends, scripts."""

from __future__ import annotations

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testrota.risk.matcher import (
    MATCHED_BY,
    NO_MATCH,
    RiskMatch,
    count_by_category,
    match_many,
    match_role,
    read_explicit,
    storage_fields,
    with_person_override,
)
from testrota.risk.normalize import is_spaced, normalize, role_key
from testrota.risk.vocabulary import Vocabulary, load_vocabulary
from tests.conftest import CONFIG_DIR
from tests.risk_labelled import LABELLED, SIMPLIFIED

VOCAB: Vocabulary = load_vocabulary(CONFIG_DIR)


def test_a_commuter_bus_driver_is_both() -> None:
    match = match_role("通勤车司机", "运输部", VOCAB)
    assert match == RiskMatch("commuter_bus", ("commuter_bus", "driver"), "title", "通勤车")
    assert match.high_risk


@pytest.mark.parametrize(
    ("title", "department", "category", "matched_by", "text"),
    [
        ("驾驶员", "", "driver", "title", "驾驶员"),
        ("叉车司机", "冷轧厂", "driver", "title", "叉车司机"),
        ("保安（门岗）", "保卫部", "gate_guard", "title", "保安"),
        ("物业保洁", "", "cleaning", "title", "物业保洁"),
        ("面点师", "职工餐厅", "canteen", "title", "面点师"),
        ("服务员", "餐饮中心", "canteen", "department", "餐饮"),
        ("冷藏车司机", "", "cold_chain", "synonym", "冷藏"),
        ("进口矿取样工", "", "imported_goods", "title", "进口矿"),
        ("快递收发员", "", "cargo_transfer", "title", "快递收发"),
        ("调车员", "", "railway", "title", "调车员"),
        ("宿舍管理员", "后勤服务中心", "apartment", "title", "宿舍管理员"),
        ("客房服务员", "", "hotel", "title", "客房服务员"),
        ("收银员", "职工超市", "supermarket", "title", "收银员"),
        ("教师", "第一中学", "school", "title", "教师"),
        ("架子工", "", "construction_site", "title", "架子工"),
        ("后勤服务员", "", "logistics_services", "title", "后勤服务"),
        ("送餐员", "", "food_delivery", "title", "送餐员"),
        ("Security Guards", "", "gate_guard", "title", "security guards"),
        ("Cleaner", "", "cleaning", "title", "cleaner"),
        ("科员", "Staff Canteen", "canteen", "department", "canteen"),
    ],
)
def test_what_matched_is_shown(
    title: str, department: str, category: str, matched_by: str, text: str
) -> None:
    match = match_role(title, department, VOCAB)
    assert (match.category, match.matched_by, match.matched_text) == (category, matched_by, text)


@pytest.mark.parametrize(
    ("title", "department"),
    [
        ("冷轧操作工", "冷轧厂"),  # cold rolling is not cold chain
        ("司磅员", "计量中心"),  # weighbridge clerk is not a driver
        ("公司办公室秘书", "公司办公室"),  # 公司 is not 公寓
        ("公司机关办事员", "公司机关"),  # 公司机关 contains 司机
        ("车间主任", "炼钢车间"),  # 车间 is not 通勤车
        ("电机车间钳工", ""),  # 电机车间 contains 机车
        ("天车工", "炼钢厂"),
        ("天车司机", "炼钢厂"),
        ("卷扬机司机", "炼铁厂"),  # runs a fixed machine
        ("铁水预处理工", "炼钢厂"),
        ("铁水罐车司机", "炼钢厂"),
        ("化学校验员", ""),  # 化学校验 contains 学校
        ("空调车间维修工", ""),  # 空调车 contains 调车
        ("夜班车工", ""),  # 班车 + 车工 (lathe)
        ("部门卫生检查员", ""),  # 部门卫生 contains 门卫
        ("清洁生产管理员", ""),
        ("Business Analyst", "IT"),
        ("Screwdriver Assembler", ""),
        ("Overhead Crane Driver", ""),
        ("Bus Bar Electrician", ""),
        ("Trainee Engineer", ""),
        ("Cashier", "Finance Department"),  # a treasury cashier, not a shop
        ("", ""),
    ],
)
def test_false_friends_are_not_high_risk(title: str, department: str) -> None:
    assert match_role(title, department, VOCAB) == NO_MATCH


def test_a_longer_keyword_beats_the_exclusion_it_contains() -> None:
    # 机司机 (a fixed machine's operator) is an exclusion; 装载机司机 drives a loader.
    assert match_role("装载机司机", "原料厂", VOCAB).category == "driver"
    assert match_role("空压机司机", "动力厂", VOCAB).category is None


def test_title_beats_department_and_priority_orders_the_title() -> None:
    match = match_role("食堂保洁员", "后勤服务中心", VOCAB)
    assert match.categories == ("canteen", "cleaning", "logistics_services")
    assert (match.category, match.matched_by) == ("canteen", "title")
    match = match_role("门卫", "幼儿园", VOCAB)
    assert match.categories == ("gate_guard", "school")


def test_department_only_blocks_where_configured() -> None:
    assert match_role("司机", "天车作业区", VOCAB) == NO_MATCH
    assert match_role("司机", "运输部", VOCAB).category == "driver"


# --- the explicit category column -----------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("driver", ("driver",)),
        ("司機", ("driver",)),
        ("冷链人员", ("cold_chain",)),
        ("司机、通勤车", ("driver", "commuter_bus")),
        ("司机, 司機", ("driver",)),
        ("驾驶员", ("driver",)),  # a job keyword names its category
        ("否", ()),
        ("None", ()),
        ("非高风险", ()),
        ("是", None),  # "yes" names no category: inference decides
        ("", None),
        ("  ", None),
        (None, None),
        ("某某类", None),
    ],
)
def test_read_explicit(column: str | None, expected: tuple[str, ...] | None) -> None:
    assert read_explicit(column, VOCAB) == expected


def test_an_explicit_category_column_wins() -> None:
    match = match_role("炉前工", "炼铁厂", VOCAB, explicit="司機")
    assert match == RiskMatch("driver", ("driver",), "column", "司機")
    match = match_role("门卫", "", VOCAB, explicit="否")
    assert match == RiskMatch(None, (), "column", "否")
    # Text that names no category is ignored: the title decides.
    match = match_role("门卫", "", VOCAB, explicit="见备注")
    assert (match.category, match.matched_by) == ("gate_guard", "title")


# --- HR role overrides and many people at once -------------------------------------------------


def test_role_overrides_department_specific_first() -> None:
    overrides = {
        (role_key("炉前工"), ""): "driver",
        (role_key("炉前工"), role_key("炼铁厂")): None,
        (role_key("天车工"), ""): "cargo_transfer",
        (role_key("门卫"), ""): "no_such_code",  # stale code: ignored, inference decides
    }
    keys = [
        ("炉前工", "炼铁厂", None),
        ("爐前工", "炼钢厂", None),
        ("天車工", "", None),
        ("天车工", "", "司机"),
        ("门卫", "", None),
        ("司机", "", None),
    ]
    result = match_many(keys, VOCAB, overrides)
    assert result[keys[0]] == RiskMatch(None, (), "override", "炉前工")
    assert result[keys[1]] == RiskMatch("driver", ("driver",), "override", "爐前工")
    assert result[keys[2]] == RiskMatch("cargo_transfer", ("cargo_transfer",), "override", "天車工")
    assert result[keys[3]].matched_by == "column"  # the column beats the role override
    assert result[keys[4]].matched_by == "title"
    assert result[keys[5]] == match_role("司机", "", VOCAB)


def test_match_many_agrees_with_match_role_and_shares_work() -> None:
    keys = [(t, d, None) for t, d, _ in LABELLED]
    result = match_many(keys, VOCAB)
    assert set(result) == set(keys)
    for key in keys:
        assert result[key] == match_role(key[0], key[1], VOCAB)
    same = match_many([("司机", "运输部", None), ("司 機", "運輸部", None)], VOCAB)
    first, second = same.values()
    assert first is second  # one match for both spellings


def test_person_override_and_storage() -> None:
    base = match_role("司机", "", VOCAB)
    assert with_person_override(base, None) is base
    assert with_person_override(base, "", "on leave") == RiskMatch(None, (), "override", "on leave")
    assert with_person_override(NO_MATCH, "cleaning") == RiskMatch(
        "cleaning", ("cleaning",), "override", "person override"
    )
    stored = storage_fields(match_role("通勤车司机", "", VOCAB))
    assert stored == {
        "risk_category": "commuter_bus",
        "risk_categories": "commuter_bus,driver",
        "matched_by": "title",
        "matched_text": "通勤车",
    }
    assert storage_fields(NO_MATCH)["risk_categories"] == ""
    long_column = match_role("x", "", VOCAB, explicit="司机，" * 150)
    assert long_column.matched_by == "column"
    assert len(storage_fields(long_column)["matched_text"]) == 200


def test_count_by_category() -> None:
    assert count_by_category(["driver", None, "canteen", "driver"]) == {"driver": 2, "canteen": 1}


# --- properties -----------------------------------------------------------------------------------

_TO_TRADITIONAL = [opencc.OpenCC(name) for name in ("s2t", "s2tw", "s2hk")]
_WORDS = sorted(
    {
        *(t for t, _, _ in SIMPLIFIED),
        *(w for w in VOCAB.title_index.terms() if not w.isascii()),
        "工",
        "员",
        "班长",
        "管理员",
        "（临时）",
        "一车间",
        "炼钢厂",
        "后勤服务中心",
    }
)
# Chinese words only: the spaces of an English title are part of it.
_WORDS = [w for w in _WORDS if not any(is_spaced(c) for c in w)]
_TITLE = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TITLE, _TITLE, st.sampled_from(_TO_TRADITIONAL))
def test_traditional_and_simplified_spellings_get_the_same_answer(
    title: str, department: str, converter: opencc.OpenCC
) -> None:
    simplified = match_role(title, department, VOCAB)
    traditional = match_role(converter.convert(title), converter.convert(department), VOCAB)
    assert (traditional.category, traditional.categories, traditional.matched_by) == (
        simplified.category,
        simplified.categories,
        simplified.matched_by,
    )
    assert normalize(traditional.matched_text or "") == normalize(simplified.matched_text or "")


@settings(max_examples=200, deadline=None)
@given(_TITLE, st.sampled_from(["", " ", "（）", "【】", "\u3000"]), st.booleans())
def test_brackets_spaces_and_width_do_not_change_the_answer(
    title: str, noise: str, full_width: bool
) -> None:
    noisy = noise.join(title)
    if full_width:
        noisy = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in noisy)
    assert match_role(noisy, "", VOCAB) == match_role(title, "", VOCAB)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20), st.text(max_size=20))
def test_any_text_gets_a_well_formed_answer(title: str, department: str) -> None:
    match = match_role(title, department, VOCAB)
    assert match.matched_by in (*MATCHED_BY, None)
    assert (match.category is None) == (match.categories == ())
    if match.category is not None:
        assert match.categories[0] == match.category
        assert set(match.categories) <= set(VOCAB.codes)
        assert len(set(match.categories)) == len(match.categories)

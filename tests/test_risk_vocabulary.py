"""config/risk_categories.yaml: the shipped file, and the messages for a broken one."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import opencc
import pytest
import yaml

from testrota.errors import UserError
from testrota.risk.normalize import normalize
from testrota.risk.vocabulary import (
    CONTRACT_CODES,
    FILE_NAME,
    Vocabulary,
    load_vocabulary,
    vocabulary_from_dict,
    weekly_tests_lookup,
)
from tests.conftest import CONFIG_DIR

DESIGN_NAMES = {  # the table in design.md
    "imported_goods": ("进口货物", "進口貨物"),
    "cold_chain": ("冷链", "冷鏈"),
    "food_delivery": ("外卖", "外賣"),
    "logistics_services": ("后勤服务", "後勤服務"),
    "construction_site": ("建筑工地", "建築工地"),
    "canteen": ("食堂", "食堂"),
    "hotel": ("酒店", "酒店"),
    "supermarket": ("商超", "商超"),
    "school": ("学校", "學校"),
    "apartment": ("公寓", "公寓"),
    "commuter_bus": ("通勤车", "通勤車"),
    "cargo_transfer": ("接送货物", "接送貨物"),
    "railway": ("铁路", "鐵路"),
    "cleaning": ("保洁", "保潔"),
    "gate_guard": ("门卫", "門衛"),
    "driver": ("司机", "司機"),
}


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary(CONFIG_DIR)


def _raw() -> dict[str, Any]:
    with (CONFIG_DIR / FILE_NAME).open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def test_shipped_file_defines_the_sixteen_contract_codes(vocab: Vocabulary) -> None:
    assert sorted(vocab.codes) == sorted(CONTRACT_CODES)
    assert len(vocab.codes) == 16
    for code, (hans, hant) in DESIGN_NAMES.items():
        cat = vocab.category(code)
        assert (cat.zh_hans, cat.zh_hant) == (hans, hant)
        assert cat.en
        assert cat.titles or cat.synonyms
        assert vocab.tests_per_week(code) == 2


def test_names_by_language(vocab: Vocabulary) -> None:
    assert vocab.name("driver") == "司机"
    assert vocab.name("driver", "zh-CN") == "司机"
    assert vocab.name("driver", "zh-TW") == "司機"
    assert vocab.name("driver", "zh_hant") == "司機"
    assert vocab.name("driver", "zh-HK") == "司機"
    assert vocab.name("driver", "en") == "driver"
    assert vocab.name("no_such_code") == "no_such_code"


def test_code_for_name_reads_any_script_and_generic_suffixes(vocab: Vocabulary) -> None:
    assert vocab.code_for_name("driver") == "driver"
    assert vocab.code_for_name("司機") == "driver"
    assert vocab.code_for_name(" Cold Chain ") == "cold_chain"
    assert vocab.code_for_name("cold_chain") == "cold_chain"
    assert vocab.code_for_name("冷链人员") == "cold_chain"
    assert vocab.code_for_name("司机类") == "driver"
    assert vocab.code_for_name("門衛") == "gate_guard"
    assert vocab.code_for_name("炉前工") is None
    assert vocab.code_for_name("") is None
    assert vocab.says_not_high_risk("否")
    assert vocab.says_not_high_risk("N/A")
    assert not vocab.says_not_high_risk("司机")


def test_every_term_is_reachable_from_traditional_spelling(vocab: Vocabulary) -> None:
    """A term written in Simplified must also match its Traditional (Taiwan, Hong Kong) form."""
    converters = {name: opencc.OpenCC(name) for name in ("s2t", "s2tw", "s2hk")}
    terms = [
        *vocab.title_index.terms(),
        *vocab.department_index.terms(),
        *vocab.exclusion_index.terms(),
    ]
    unreachable = [
        (name, term)
        for term in terms
        for name, conv in converters.items()
        if normalize(conv.convert(term)) != term
    ]
    assert not unreachable


def test_tests_per_week_can_be_overridden_per_category() -> None:
    data = _raw()
    data["default_tests_per_week"] = 3
    data["categories"][0]["tests_per_week"] = 7
    vocab = vocabulary_from_dict(data)
    assert vocab.tests_per_week(data["categories"][0]["code"]) == 7
    assert vocab.tests_per_week(data["categories"][1]["code"]) == 3
    assert vocab.tests_per_week("unknown") == 3


def test_order_of_the_file_is_the_priority(vocab: Vocabulary) -> None:
    assert vocab.position("imported_goods") < vocab.position("cargo_transfer")
    assert vocab.position("canteen") < vocab.position("cleaning") < vocab.position("driver")


def _write(tmp_path: Path, data: object) -> Path:
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    (tmp_path / FILE_NAME).write_text(text, encoding="utf-8")
    return tmp_path


def _cat(data: dict[str, Any], code: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in data["categories"] if c["code"] == code)
    return found


def _broken(mutate: Any) -> dict[str, Any]:
    data = copy.deepcopy(_raw())
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["categories"].append(copy.deepcopy(d["categories"][0])), "appears twice"),
        (lambda d: _cat(d, "hotel").update(colour="red"), "category 'hotel' colour"),
        (lambda d: _cat(d, "school").update(tests_per_week=0), "greater than or equal to 1"),
        (lambda d: _cat(d, "school").update(code="Cold Chain"), "pattern"),
        (lambda d: _cat(d, "school")["names"].pop("en"), "names.en"),
        (lambda d: d.update(categories=[]), "at least 1"),
        (lambda d: _cat(d, "driver")["titles"].append("{a|b"), "unbalanced braces"),
        (lambda d: _cat(d, "driver")["titles"].append("（）"), "no letters or digits"),
        (lambda d: _cat(d, "driver")["titles"].append("天车"), "is also an exclusion"),
        (lambda d: _cat(d, "driver")["synonyms"].append("公司机"), "is also an exclusion"),
        (lambda d: _cat(d, "driver")["aliases"].append("保洁"), "belongs to both"),
        (
            lambda d: _cat(d, "hotel").update(titles=[], synonyms=[], departments=[]),
            "needs at least one",
        ),
        (lambda d: d["not_high_risk"].append("司机"), "also a name of 'driver'"),
    ],
)
def test_a_broken_file_is_refused_with_a_message(tmp_path: Path, mutate: Any, message: str) -> None:
    with pytest.raises(UserError, match=message) as info:
        load_vocabulary(_write(tmp_path, _broken(mutate)))
    assert str(tmp_path / FILE_NAME) in str(info.value)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="file not found"):
        load_vocabulary(tmp_path)
    with pytest.raises(UserError, match="not valid YAML"):
        load_vocabulary(_write(tmp_path, "categories: [\n"))
    with pytest.raises(UserError, match="expected a mapping"):
        load_vocabulary(_write(tmp_path, "- just a list\n"))


def test_a_small_vocabulary_of_ones_own() -> None:
    vocab = vocabulary_from_dict(
        {
            "categories": [
                {
                    "code": "night_market",
                    "names": {"zh_hans": "夜市", "zh_hant": "夜市", "en": "night market"},
                    "titles": ["夜市{摊主|摊贩}", "night market"],
                }
            ]
        }
    )
    assert vocab.codes == ("night_market",)
    assert "夜市摊贩" in vocab.title_index
    assert vocab.tests_per_week("night_market") == 2


def test_the_vocabulary_is_read_again_only_when_the_file_changes(tmp_path: Path) -> None:
    shutil.copy(CONFIG_DIR / "risk_categories.yaml", tmp_path / "risk_categories.yaml")
    first = load_vocabulary(tmp_path)
    assert load_vocabulary(tmp_path) is first
    path = tmp_path / "risk_categories.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "default_tests_per_week: 2", "default_tests_per_week: 3"
        ),
        encoding="utf-8",
    )
    os.utime(path, ns=(1, 1))  # a new stamp even on a coarse-grained file system
    changed = load_vocabulary(tmp_path)
    assert changed is not first
    assert weekly_tests_lookup(tmp_path, 2)("driver") == changed.tests_per_week("driver")
    assert weekly_tests_lookup(None, 2)("driver") == 2
    assert weekly_tests_lookup(None, 2)(None) == 0


def test_the_tests_a_week_read_from_the_file_alone_are_the_matchers(tmp_path: Path) -> None:
    with (CONFIG_DIR / FILE_NAME).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    data["default_tests_per_week"] = 3
    data["categories"][0]["tests_per_week"] = 7
    (tmp_path / FILE_NAME).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    vocab = load_vocabulary(tmp_path)
    rates = weekly_tests_lookup(tmp_path, 2)
    codes = [c["code"] for c in data["categories"]]
    assert [rates(c) for c in codes] == [vocab.tests_per_week(c) for c in codes]
    assert rates(codes[0]) == 7 and rates(codes[1]) == 3
    assert rates("not_a_category") == vocab.tests_per_week("not_a_category") == 3
    assert rates(None) == rates("") == 0


def test_a_file_of_the_wrong_shape_is_refused_by_the_tests_a_week_too(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text(
        "categories:\n  - code: driver\n    tests_per_week: 40\n", encoding="utf-8"
    )
    with pytest.raises(UserError) as info:
        weekly_tests_lookup(tmp_path, 2)
    assert str(tmp_path / FILE_NAME) in str(info.value) and "driver" in str(info.value)

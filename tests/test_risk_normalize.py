"""Normalisation: one spelling for every way a clerk can type a title."""

from __future__ import annotations

import opencc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from testrota.risk.normalize import normalize, role_key
from testrota.risk.terms import contains_term, expand, word_end
from tests.risk_labelled import SIMPLIFIED


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("司機", "司机"),
        ("後勤服務", "后勤服务"),
        ("麵點師", "面点师"),
        ("保安（门岗）", "保安门岗"),
        ("保安(門崗)", "保安门岗"),
        ("【保洁员】", "保洁员"),
        ("驾 驶 员", "驾驶员"),
        ("驾\u3000驶员", "驾驶员"),  # ideographic space
        ("司\u200b机", "司机"),  # zero-width space from a copied web page
        ("ＤＲＩＶＥＲ", "driver"),
        ("Ｆｏｒｋｌｉｆｔ　Ｄｒｉｖｅｒ", "forklift driver"),
        ("  Security   Guard ", "security guard"),
        ("Fork-lift driver", "fork lift driver"),
        ("cold_chain", "cold chain"),
        ("叉车司机 Forklift Driver", "叉车司机forklift driver"),
        ("Straße", "strasse"),
        ("３号门卫", "3号门卫"),
        ("", ""),
        ("（）", ""),
    ],
)
def test_examples(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_role_key_is_the_normalised_title() -> None:
    assert role_key("司 機（）") == role_key("司机") == "司机"
    assert role_key("") == ""


_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_FULL_WIDTH = st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E)
_MESSY = st.one_of(
    st.characters(),
    _CJK,
    _FULL_WIDTH,
    st.sampled_from(list("（）()【】[] \u3000\u200b-_/、，,.·")),
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_MESSY, max_size=30))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


TO_TRADITIONAL = {name: opencc.OpenCC(name) for name in ("s2t", "s2tw", "s2hk")}


# The characters real titles and departments are written with. OpenCC's conversion is not a
# bijection over all of CJK (s2t 镟 -> 鏇, t2s 鏇 -> 旋), so arbitrary code points would test
# OpenCC's rare-character tables rather than our rule.
_TITLE_CHARS = sorted(
    {ch for title, dept, _ in SIMPLIFIED for ch in title + dept if "\u4e00" <= ch <= "\u9fff"}
)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(_TITLE_CHARS), min_size=1, max_size=12))
@example("链甲")  # what a CI run drew: its phrase is 鍊甲, which reads back as 炼甲
def test_traditional_and_simplified_spellings_normalise_alike(text: str) -> None:
    # Character by character: OpenCC's phrase table turns some pairs of characters into
    # another word's spelling (链甲, chain mail, becomes 鍊甲, and 鍊 is also 炼's traditional
    # form), so random pairs would test its phrase dictionary rather than our rule. Real
    # titles, phrases and all, are held to it below.
    simplified = normalize(text)
    for config, converter in TO_TRADITIONAL.items():
        traditional = "".join(converter.convert(ch) for ch in simplified)
        assert normalize(traditional) == simplified, (config, traditional)


@pytest.mark.parametrize("config", sorted(TO_TRADITIONAL))
def test_every_real_title_and_department_written_in_traditional_normalises_back(
    config: str,
) -> None:
    converter = TO_TRADITIONAL[config]
    for title, department, _ in SIMPLIFIED:
        for text in (title, department):
            simplified = normalize(text)
            traditional = converter.convert(simplified)
            assert normalize(traditional) == simplified, (text, traditional)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20))
def test_full_width_and_half_width_normalise_alike(text: str) -> None:
    full = "".join(chr(ord(ch) + 0xFEE0) for ch in text)
    assert normalize(full) == normalize(text)


def test_expand_alternations() -> None:
    assert expand("{天车|行车}{司机|驾驶员}") == [
        "天车司机",
        "天车驾驶员",
        "行车司机",
        "行车驾驶员",
    ]
    assert expand("no braces") == ["no braces"]
    assert expand("{a|}b") == ["ab", "b"]
    for bad in ("{a|b", "a}b{", "{a{b}|c}"):
        with pytest.raises(ValueError, match="brace"):
            expand(bad)


def test_english_terms_match_whole_words_only() -> None:
    assert contains_term("bus driver", "bus")
    assert contains_term("buses", "bus")  # plural
    assert not contains_term("business analyst", "bus")
    assert not contains_term("screwdriver", "driver")
    assert contains_term("truck drivers", "driver")
    assert contains_term("叉车driver", "driver")  # a Han/Latin seam is a boundary
    assert contains_term("通勤车司机", "司机")  # Chinese terms match anywhere
    assert word_end("guards", 0, 5) == 6
    assert word_end("guardrail", 0, 5) is None

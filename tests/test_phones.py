"""Phone numbers: the fast path agrees with phonenumbers, and the awkward cells are explained."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testrota.roster.phones import (
    _fast,
    check_phone,
    explain_phone,
    explain_phones,
    normalize_phone,
)


def reference(raw: str, region: str) -> str | None:
    """What phonenumbers alone says: the behaviour the fast path must not change."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


COMMON_SPELLINGS = [
    "13812345678",
    "138 1234 5678",
    "138-1234-5678",
    "+86-138-1234-5678",
    "+86 138 1234 5678",
    "+8613812345678",
    "8613812345678",
    "008613812345678",
    "(+86)138-1234-5678",
    "１３８１２３４５６７８",
    "＋８６ １３８ １２３４ ５６７８",
    " 13812345678\u3000",
]


@pytest.mark.parametrize("raw", COMMON_SPELLINGS)
def test_common_mobile_spellings_become_e164_on_the_fast_path(raw: str) -> None:
    assert normalize_phone(raw) == "+8613812345678"
    # The fast path answered by itself: phonenumbers (14 µs a call) was not needed.
    assert _fast(raw, "CN") == "+8613812345678"
    assert check_phone(raw) == ("+8613812345678", None)


def test_a_float_spelling_from_another_tool_is_forgiven() -> None:
    # The reader never produces this, but a CSV written by another program can.
    assert normalize_phone("13812345678.0") == "+8613812345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("024-4567-8901", "+862445678901"),  # a Benxi landline is a valid number
        ("+852 9123 4567", "+85291234567"),  # a Hong Kong mobile
        ("+1 (212) 555-0123", "+12125550123"),
        ("+1 (212) 123-4567", None),  # no exchange starts with 1
        ("+1 202 456 1111", "+12024561111"),
        ("14012345678", None),  # no such mobile range
        ("1381234567", None),  # one digit short
        ("138123456789", None),  # one digit too many
        ("12345", None),
        ("not a phone", None),
        ("", None),
    ],
)
def test_other_numbers_go_through_phonenumbers(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected
    assert normalize_phone(raw) == reference(raw, "CN")


def test_the_default_region_comes_from_the_caller() -> None:
    assert normalize_phone("(202) 456-1111", "US") == "+12024561111"
    assert normalize_phone("202-456-1111", "CN") == "+862024561111"  # a Guangzhou landline
    assert normalize_phone("(202) 456-1111", "GB") is None
    assert normalize_phone("0412 345 678", "AU") == "+61412345678"


def test_check_phone_explains_why_a_number_cannot_get_texts() -> None:
    assert check_phone("") == (None, "no phone number")
    phone, why = check_phone("024-4567-8901")
    assert phone is None and why is not None
    assert "+862445678901 is a landline" in why
    phone, why = check_phone("1.38123E+10")
    assert phone is None and why is not None and "scientific notation" in why
    assert check_phone("138 1234 567") == (None, "not a valid phone number")


def test_a_cell_with_two_numbers_gives_the_first_mobile() -> None:
    assert check_phone("13812345678/13987654321") == ("+8613812345678", None)
    assert check_phone("024-45678901；13987654321") == ("+8613987654321", None)
    assert check_phone("13812345678、13987654321") == ("+8613812345678", None)


def test_the_us_describes_every_number_as_fixed_line_or_mobile() -> None:
    assert check_phone("202-456-1111", "US") == ("+12024561111", None)


# --- the fast path never disagrees with phonenumbers ----------------------------------------

_FULL_WIDTH = {ord(str(d)): chr(0xFF10 + d) for d in range(10)}


@st.composite
def spelled_numbers(draw: st.DrawFn) -> str:
    national = "1" + draw(st.text(alphabet="0123456789", min_size=8, max_size=12))
    style = draw(st.integers(min_value=0, max_value=8))
    if style == 1 and len(national) == 11:
        national = f"{national[:3]} {national[3:7]} {national[7:]}"
    elif style == 2:
        national = "+86-" + national
    elif style == 3:
        national = "86" + national
    elif style == 4:
        national = "0086" + national
    elif style == 5:
        national = national.translate(_FULL_WIDTH)
    elif style == 6:
        national = f"(+86){national}"
    elif style == 7:
        national = "+852" + national[1:9]
    elif style == 8:
        national = "+" + national
    return national


@settings(max_examples=400, deadline=None)
@given(spelled_numbers())
def test_fast_path_agrees_with_phonenumbers(raw: str) -> None:
    assert normalize_phone(raw, "CN") == reference(raw, "CN")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789+-() ", min_size=1, max_size=16))
def test_any_digit_soup_agrees_with_phonenumbers(raw: str) -> None:
    assert normalize_phone(raw, "CN") == reference(raw, "CN")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=10, max_size=11))
def test_fast_path_agrees_in_another_region(raw: str) -> None:
    assert normalize_phone(raw, "US") == reference(raw, "US")


COLUMN = [
    *COMMON_SPELLINGS,
    "",
    "02412345678",  # a landline
    "1.38123E+10",  # a number Excel showed in scientific form
    "13812345678 / 13912345678",
    "12345",
    "٣٨١٢٣٤٥٦٧٨٩",  # digits, but not ASCII ones
]


@pytest.mark.parametrize("region", ["CN", "US", "ZZ"])
def test_a_column_is_explained_as_each_cell_alone(region: str) -> None:
    assert explain_phones(COLUMN, region) == [explain_phone(raw, region) for raw in COLUMN]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789+ ", max_size=13), max_size=5))
def test_any_column_of_digit_soup_is_explained_as_each_cell_alone(raws: list[str]) -> None:
    assert explain_phones(raws, "CN") == [explain_phone(raw, "CN") for raw in raws]

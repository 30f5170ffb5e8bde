"""Number formats: the text Excel and Calc show for a number, for the subset the reader applies."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testrota.roster.numfmt import changes_whole_numbers, parse_format


def shown(code: str, value: float) -> str:
    fmt = parse_format(code)
    assert fmt is not None, code
    return fmt.render(value)


@pytest.mark.parametrize(
    ("code", "value", "text"),
    [
        ("000000", 3002, "003002"),
        ("000000", 3002.0, "003002"),
        ("000000", 1234567, "1234567"),  # more digits than placeholders: all of them
        ("000000", 0, "000000"),
        ("0000#", 3002, "03002"),
        ("#0000", 3002, "3002"),
        ("???0", 5, "   5"),
        ('"E"00000', 117, "E00117"),
        ("\\A0000", 7, "A0007"),
        ("000-0000-0000", 13812345678, "138-1234-5678"),
        ("[$-804]000000", 42, "000042"),
        ("[$¥-804]#,##0.00", 1234.5, "¥1,234.50"),
        ("[Red]000000;[Blue]-000000", 42, "000042"),
        ("000000", -0.0, "000000"),  # -0 (openpyxl writes -0.0 so) shows no sign
        ('"E"0000', -0.0, "E0000"),
        ("00000;-00000", -12, "-00012"),
        ("000000;(000000)", -12, "(000012)"),
        ('0;-0;"none"', 0, "none"),
        ("000000", 3002.5, "003003"),  # rounded half away from zero, as Excel does
        ("000000", 2.10502198001011e17, "210502198001011000"),  # 15 significant digits
        ("0.00", 3, "3.00"),
        ("0.##", 1.5, "1.5"),
        ("#,##0", 1234567, "1,234,567"),
        ("0,", 3002, "3"),
        ("0%", 0.25, "25%"),
        ("0_);(0)", 5, "5 "),
        ("0*-", 5, "5"),
    ],
)
def test_rendering(code: str, value: float, text: str) -> None:
    assert shown(code, value) == text


@pytest.mark.parametrize(
    "code",
    [
        "General",
        "@",
        "",
        "yyyy-mm-dd",
        "hh:mm",
        "[h]:mm",
        "0.00E+00",
        "# ?/?",
        "# ??/16",
        "[DBNum1]0",
        '"00000"',
        "0 人",
        '"x',
        "0;0;0;@;0",
        # A condition picks a section by the value: left to the plain number, never another
        # section's pattern (13812345678 was read 1381234-5678; Excel shows 138-1234-5678).
        "[<=99999999]0000-0000;000-0000-0000",
        "[>=100]0000;00",
        "[<=9999999]###-####;(###) ###-####",
    ],
)
def test_formats_left_to_the_default_text(code: str) -> None:
    assert parse_format(code) is None


@pytest.mark.parametrize(
    ("code", "pads"),
    [
        ("000000", True),
        ("0000#", True),
        ('"E"0', True),
        ("000-0000", True),
        ("??0", True),
        ("[$¥-804]0", True),
        ("0", False),
        ("#", False),
        ("0.00", False),
        ("#,##0", False),
        ("#,##0.00", False),
        ("0%", False),
        ("0_)", False),
        ("#,##0 ;(#,##0)", False),
        ("[Red]0;[Blue]-0", False),
        ('0;-0;"-"', True),
    ],
)
def test_which_formats_change_how_a_whole_number_reads(code: str, pads: bool) -> None:
    fmt = parse_format(code)
    assert fmt is not None
    assert changes_whole_numbers(fmt) is pads


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**14), st.integers(min_value=1, max_value=12))
def test_zero_padding_is_the_number_with_leading_zeros(number: int, width: int) -> None:
    assert shown("0" * width, number) == str(number).zfill(width)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_format_code_parses_or_is_declined(code: str) -> None:
    fmt = parse_format(code)
    if fmt is not None:
        assert isinstance(fmt.render(12345.678), str)
        assert isinstance(fmt.render(-1.0), str)
        assert isinstance(fmt.render(0.0), str)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_number_that_is_not_finite_shows_nothing(value: float) -> None:
    assert shown("000000", value) == ""
    assert shown('"E"0.00', value) == ""


@pytest.mark.parametrize("value", [1e30, 1.7976931348623157e308, 5e-324])
def test_numbers_of_any_size_render(value: float) -> None:
    text = shown("000000.00", value)
    assert text.endswith((".00", "0")) and len(text) >= 9


@settings(max_examples=300, deadline=None)
@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "000000",
            "0000#",
            '"E"00000;-0;"-"',
            "#,##0.00",
            "0.0%",
            "000-0000",
            "[$¥-804]#,##0",
            "0,",
            "???.??",
        ]
    ),
)
def test_every_double_renders(value: float, code: str) -> None:
    assert isinstance(shown(code, value), str)

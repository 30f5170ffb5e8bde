"""Phone numbers to E.164, fast for the mobile spellings rosters are full of.

``phonenumbers`` costs about 14 µs a call, more than reading the whole file for a large roster.
Most cells are a national mobile number in some spelling (``138 1234 5678``,
``+86-138-1234-5678``, full-width digits, ``8613812345678``); those are checked against the
region's own mobile pattern from phonenumbers' metadata, so the fast path accepts exactly
what phonenumbers would. Everything else goes to phonenumbers itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

# Separators people type between digits, and full-width digits as a Chinese IME writes them.
_CLEAN = str.maketrans(
    {
        **{chr(0xFF10 + d): str(d) for d in range(10)},
        "＋": "+",
        **dict.fromkeys(" -.()（）－—–/\u3000\xa0\u200b\ufeff\t", None),
    }
)
_SCIENTIFIC = re.compile(r"^\s*\d(?:\.\d+)?[eE]\+?\d+\s*$")
_SPLIT = re.compile(r"[,，;；、/|]|\s{2,}")
# Numbers that can receive a text message; FIXED_LINE_OR_MOBILE is how some regions
# (the US among them) describe every number.
_TEXTABLE = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.PERSONAL_NUMBER,
        PhoneNumberType.PAGER,
    }
)


@dataclass(frozen=True, slots=True)
class _Region:
    country_code: str
    e164_prefix: str
    mobile: re.Pattern[str]
    international_prefix: str | None


_REGIONS: dict[str, _Region | None] = {}


def _region(region: str) -> _Region | None:
    if region in _REGIONS:
        return _REGIONS[region]
    _REGIONS[region] = info = _load_region(region)
    return info


def _load_region(region: str) -> _Region | None:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    if meta is None or meta.mobile is None or not meta.mobile.national_number_pattern:
        return None
    general = meta.general_desc.national_number_pattern if meta.general_desc else None
    pattern = meta.mobile.national_number_pattern
    if general:
        # A valid number must fit the region's general pattern as well as the type's.
        pattern = f"(?=(?:{general})$)(?:{pattern})"
    prefix = meta.preferred_international_prefix or meta.international_prefix
    return _Region(
        country_code=str(meta.country_code),
        e164_prefix=f"+{meta.country_code}",
        mobile=re.compile(pattern),
        international_prefix=prefix if prefix and prefix.isdigit() else None,
    )


def _fast(raw: str, region: str) -> str | None:
    """E.164 for a mobile number in a common spelling, or None to ask phonenumbers."""
    info = _REGIONS.get(region) or _region(region)
    if info is None:
        return None
    if raw.isascii():
        # str.replace is several times cheaper than translate for the usual spellings.
        cleaned = raw.replace(" ", "").replace("-", "")
        if not cleaned.isdigit() and not (cleaned[1:].isdigit() and cleaned[:1] == "+"):
            cleaned = _clean(raw)
    else:
        cleaned = _clean(raw)
    if not cleaned.isascii():
        return None
    if cleaned.isdigit():
        if info.mobile.fullmatch(cleaned):
            return info.e164_prefix + cleaned
        cc = info.country_code
        if info.international_prefix and cleaned.startswith(info.international_prefix + cc):
            national = cleaned[len(info.international_prefix) + len(cc) :]
        elif cleaned.startswith(cc):
            national = cleaned[len(cc) :]
        else:
            return None
    elif cleaned[:1] == "+" and cleaned[1:].isdigit() and cleaned.startswith(info.country_code, 1):
        national = cleaned[1 + len(info.country_code) :]
    else:
        return None
    if info.mobile.fullmatch(national):
        return info.e164_prefix + national
    return None


def _clean(raw: str) -> str:
    text = raw.strip()
    if text.endswith(".0") and text[:-2].isdigit():
        # 13812345678.0 from a tool that wrote a float; the reader itself never does this.
        text = text[:-2]
    return text.translate(_CLEAN)


def normalize_phone(raw: str, region: str = "CN") -> str | None:
    """E.164 (``+8613812345678``) for a valid phone number, or None if it is not one.

    ``region`` is the default region for numbers written without a country code
    (``phone_region`` in policy.yaml).
    """
    if not raw:
        return None
    fast = _fast(raw, region)
    if fast is not None:
        return fast
    parsed = _parse(raw, region)
    return None if parsed is None else _e164(parsed)


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(raw, region.upper())
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Why a cell cannot get texts: templates with parameters, so an import's error list can be shown
# in the clerk's language (testrota.web.i18n has their Chinese).
NO_PHONE = "no phone number"
LANDLINE = "{number} is a landline, not a mobile: reminder texts cannot reach it"
SCIENTIFIC = (
    "not a phone number: Excel shortened it to scientific notation; format the column "
    "as text and type the number again"
)
INVALID = "not a valid phone number"


def check_phone(raw: str, region: str = "CN") -> tuple[str | None, str | None]:
    """``(e164, None)`` for a number that can receive texts, else ``(None, why not)``.

    A cell holding two numbers (``138… / 139…``) gives its first mobile. A landline is a
    valid number but cannot get reminder texts, so it is reported like an invalid one.
    """
    phone, why, params = explain_phone(raw, region)
    return phone, None if why is None else why.format(**params)


def explain_phones(
    raws: list[str], region: str = "CN"
) -> list[tuple[str | None, str | None, dict[str, str]]]:
    """:func:`explain_phone` of each of a column's cells.

    Nearly every cell of a roster's phone column is a mobile number written as its digits:
    those are checked here in one pass, each with a string test and the region's pattern, and
    only the others take :func:`explain_phone`'s way.
    """
    info = _REGIONS.get(region) or _region(region)
    if info is None:
        return [explain_phone(raw, region) for raw in raws]
    mobile, prefix = info.mobile.fullmatch, info.e164_prefix
    return [
        (prefix + raw, None, {})
        if raw.isdigit() and raw.isascii() and mobile(raw)
        else explain_phone(raw, region)
        for raw in raws
    ]


def explain_phone(raw: str, region: str = "CN") -> tuple[str | None, str | None, dict[str, str]]:
    """:func:`check_phone` with the reason as a template and its parameters."""
    if not raw:
        return None, NO_PHONE, {}
    fast = _fast(raw, region)
    if fast is not None:
        return fast, None, {}
    parts = [p for p in _SPLIT.split(raw) if p.strip()]
    candidates = [raw, *parts] if len(parts) > 1 else [raw]
    landline = None
    for part in candidates:
        fast = _fast(part, region)
        if fast is not None:
            return fast, None, {}
        number = _parse(part, region)
        if number is None:
            continue
        if phonenumbers.number_type(number) in _TEXTABLE:
            return _e164(number), None, {}
        landline = landline or _e164(number)
    if landline is not None:
        return None, LANDLINE, {"number": landline}
    if _SCIENTIFIC.match(raw):
        return None, SCIENTIFIC, {}
    return None, INVALID, {}

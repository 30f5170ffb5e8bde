"""How many SMS segments a text takes: GSM-7 (160 a segment, 153 when split) or UCS-2 (70, 67).

A single character outside the GSM-7 alphabet (any Chinese character, a curly quote, an emoji)
turns the whole text into UCS-2, which is why English templates avoid typographic punctuation.
"""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set (the escape code 0x1B excluded) and its extension table, whose
# characters cost two septets (escape + code).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _widths(text: str, gsm: bool) -> list[int]:
    if gsm:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    # UTF-16: characters beyond the BMP (emoji) take a surrogate pair.
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_segments(text: str) -> SegmentInfo:
    """The encoding, length in units and number of segments of ``text``.

    A multipart text loses room to the concatenation header (153 septets or 67 UCS-2 units a
    part), and an escape pair or a surrogate pair is never split across two parts, so the parts
    are filled greedily rather than by dividing the length.
    """
    gsm = is_gsm7(text)
    widths = _widths(text, gsm)
    units = sum(widths)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    encoding = "GSM-7" if gsm else "UCS-2"
    if units == 0:
        return SegmentInfo(encoding, 0, 1)
    if units <= single:
        return SegmentInfo(encoding, units, 1)
    segments, room = 1, part
    for width in widths:
        if width > room:
            segments += 1
            room = part
        room -= width
    return SegmentInfo(encoding, units, segments)

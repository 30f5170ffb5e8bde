"""Employee numbers as people type them, and which stored number a typed one means. Pure.

A number reaches us scanned from a badge, typed on a phone at a testing site, or copied into a
lab's sheet: with full-width digits from a Chinese input method, spaces (the ideographic one
too), lower-case letters, or without the leading zeros of ``003002`` because someone or some
program took it for a number. :func:`pick_number` forgives all of that, but never guesses: a
typed number that could be two people gives both, for the person to choose.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Characters a scanner or a copied cell leaves that are not whitespace to ``str.split``.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_FLOAT_TEXT = re.compile(r"\d+\.0+")


def clean_typed(text: str) -> str:
    """What the person meant to type: NFKC (full-width to ASCII), no whitespace anywhere.

    ``"　００３ ００２ "`` gives ``"003002"``; ``"10023.0"`` (a number a program kept as a
    float) gives ``"10023"``.
    """
    folded = unicodedata.normalize("NFKC", text or "").translate(_INVISIBLE)
    cleaned = "".join(folded.split())
    if _FLOAT_TEXT.fullmatch(cleaned):
        cleaned = cleaned.split(".", 1)[0]
    return cleaned


def number_key(text: str) -> str:
    """The comparison key of a number, case and spelling aside: ``"e 0012"`` -> ``"E0012"``."""
    return clean_typed(text).upper()


def loose_key(text: str) -> str:
    """:func:`number_key` without leading zeros: ``"003002"`` and ``"3002"`` share ``"3002"``."""
    return number_key(text).lstrip("0")


@dataclass(frozen=True)
class NumberPick:
    """The stored number a typed one means, or the candidates when it could be several."""

    number: str | None
    candidates: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.number is None and len(self.candidates) > 1


def pick_number(typed: str, stored: Iterable[str]) -> NumberPick:
    """Which of the ``stored`` employee numbers ``typed`` names.

    In order: the number exactly as typed (outer spaces aside); else the one number equal to it
    once case, full-width forms and spaces are ignored; else the one number equal to it once
    leading zeros are ignored as well. Two or more numbers at the first step that finds any
    give no number and those candidates, sorted.

    Args:
        typed: the text as typed or scanned.
        stored: employee numbers to choose from (usually those :func:`loose_key` finds).
    """
    raw = (typed or "").strip()
    numbers = list(dict.fromkeys(stored))
    if raw in numbers:
        return NumberPick(raw)
    key = number_key(raw)
    if not key:
        return NumberPick(None)
    for same in (number_key, loose_key):
        wanted = same(raw)
        hits = sorted(n for n in numbers if same(n) == wanted)
        if len(hits) == 1:
            return NumberPick(hits[0])
        if hits:
            return NumberPick(None, tuple(hits))
    return NumberPick(None)

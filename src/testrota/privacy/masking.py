"""Masking personal numbers and cutting personal links, for responses, exports and logs.

The helpers are pure and cheap (no imports beyond ``re``) so the logging filter can use them on
every record, and the web's response guard (``testrota.web.disclosure``) on every response.
Which roles see masked numbers is policy (``privacy.mask_for_roles``); :func:`masker_for` turns
a role and the policy into a :class:`Masker`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the logging filter imports this module; keep it free of the policy's imports
    from testrota.policy import Policy

DEFAULT_KEEP = 4

_is_digit = str.isdecimal  # what re's \d matches: full-width digits too


def _is_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _mask_chars(value: str, hidden: Callable[[str], bool], keep: int) -> str:
    # A plain loop: the response guard calls this for every number on a page.
    hide = sum(map(hidden, value)) - max(keep, 0)
    if hide <= 0:
        return value
    chars = list(value)
    for i, c in enumerate(chars):
        if hidden(c):
            chars[i] = "*"
            hide -= 1
            if hide == 0:
                break
    return "".join(chars)


def mask_phone(value: str | None, keep: int = DEFAULT_KEEP) -> str | None:
    """Every digit of ``value`` but the last ``keep`` replaced by ``*``; separators and a
    leading ``+`` stay, so the shape is still recognisable: ``+8613812345678`` ->
    ``+*********5678``. ``None`` and ``""`` come back as they are."""
    if not value:
        return value
    return _mask_chars(value, _is_digit, keep)


def mask_id_number(value: str | None, keep: int = DEFAULT_KEEP) -> str | None:
    """An ID number (mainland resident ID: 17 digits and a check character) with every letter
    or digit but the last ``keep`` replaced by ``*``: ``11010119900307451X`` ->
    ``**************451X``."""
    if not value:
        return value
    return _mask_chars(value, _is_alnum, keep)


# --- free text (logs) ----------------------------------------------------------------------------
# Boundaries are letters and digits, not word boundaries: a number inside Chinese text
# ("手机13812345678已发送") is found, one inside a hex id ("SMa13812345678b") is not.
_B = r"(?<![0-9A-Za-z+])"
_E = r"(?![0-9A-Za-z])"
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
# Between a number's groups: a space (also no-break, and the ideographic space a Chinese
# keyboard types) or a hyphen. A dot only in a mobile's 3-4-4 groups (138.1234.5678): dotted
# runs of other shapes are addresses and versions (139.196.12.34), not phones.
_SEP = "[ \u00a0\u3000-]"
_PERSONAL_PATTERN = (
    # resident ID, 18 characters: area, birth date (18xx-20xx), sequence, check character
    rf"(?P<id18>{_B}[1-9]\d{{5}}(?:18|19|20)\d{{2}}{_DATE}\d{{3}}[\dXx]{_E})"
    # the older 15-digit ID: area, yymmdd, sequence
    rf"|(?P<id15>{_B}[1-9]\d{{5}}\d{{2}}{_DATE}\d{{3}}{_E})"
    # E.164, optionally written in groups: +86 138 1234 5678; or with its "+" URL-encoded
    rf"|(?P<e164>{_B}(?:\+|%2[Bb])\d(?:{_SEP}?\d){{6,14}}{_E})"
    # a mainland mobile without "+": 13812345678, 138-1234-5678, 8613812345678, 138.1234.5678
    rf"|(?P<cn>{_B}(?:0?86{_SEP}?)?1[3-9]\d(?:(?:{_SEP}?\d){{8}}|\.\d{{4}}\.\d{{4}}){_E})"
)


# Runs of the characters a number is written with, long enough to hold one: found fast (a
# plain character class), then checked with the full pattern, which is slow to try at every
# position of a long page. Every match of the full pattern written in ASCII or full-width
# digits lies inside one run.
_CANDIDATE_PATTERN = "[0-9０-９+%][0-9０-９ \u00a0\u3000.Bb-]{5,}[0-9０-９Xx]"


@cache
def _personal() -> re.Pattern[str]:
    # compiled on first use: the CLI imports this module for every command
    return re.compile(_PERSONAL_PATTERN)


@cache
def _candidates() -> re.Pattern[str]:
    return re.compile(_CANDIDATE_PATTERN)


def _replacer(keep: int) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if match.lastgroup in ("id18", "id15"):
            return mask_id_number(text, keep) or text
        if text[:1] == "%":  # "%2B86...": the "2" is part of the escape, not of the number
            return text[:3] + (mask_phone(text[3:], keep) or "")
        return mask_phone(text, keep) or text

    return replace


def mask_personal_numbers(text: str, keep: int = DEFAULT_KEEP) -> str:
    """``text`` with every phone number (E.164 or a mainland mobile) and every resident ID
    number masked to its last ``keep`` characters. Cheap when there is nothing to mask."""
    if not text or not any(c.isdigit() for c in text):
        return text
    personal, replace = _personal(), _replacer(keep)
    parts: list[str] = []
    done = 0
    for run in _candidates().finditer(text):
        # the full pattern's look-behind sees the text before the run; one character after it
        # is enough for its look-ahead
        for match in personal.finditer(text, run.start(), min(run.end() + 1, len(text))):
            parts += (text[done : match.start()], replace(match))
            done = match.end()
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


# --- personal links -------------------------------------------------------------------------------
# ``/me/<token>`` as testrota.notify.links makes it: a base-62 person id, then itsdangerous'
# timestamp and signature in URL-safe base64, joined by dots. The slashes may be URL-encoded
# (``/login?next=%2Fme%2F...``).
_LINK = re.compile(
    r"(?P<path>(?:/|%2[Ff])me(?:/|%2[Ff]))[0-9A-Za-z]+\.[0-9A-Za-z_-]+\.[0-9A-Za-z_-]+"
)


def redact_personal_links(text: str) -> str:
    """``text`` with the token of every personal link cut: ``https://x/me/1.Ab.Cd`` ->
    ``https://x/me/…``. Whoever holds a token can act as its person, so only they should."""
    if "me/" not in text and "me%2" not in text:
        return text
    return _LINK.sub(lambda m: m.group("path") + "…", text)


# --- per role -------------------------------------------------------------------------------------


def _identity(value: str | None) -> str | None:
    return value


@dataclass(frozen=True)
class Masker:
    """What one role sees of phone and ID numbers: ``masker.phone(p)``, ``masker.id_number(n)``."""

    masked: bool
    keep: int = DEFAULT_KEEP

    def phone(self, value: str | None) -> str | None:
        return mask_phone(value, self.keep) if self.masked else value

    def id_number(self, value: str | None) -> str | None:
        return mask_id_number(value, self.keep) if self.masked else value

    def row(
        self,
        row: dict[str, object],
        phone_keys: Collection[str] = ("phone", "phone_raw"),
        id_keys: Collection[str] = ("id_number",),
    ) -> dict[str, object]:
        """A copy of ``row`` (a person as a dict) with its numbers masked for this role."""
        if not self.masked:
            return row
        out = dict(row)
        for key in phone_keys:
            if isinstance(out.get(key), str):
                out[key] = self.phone(out[key])  # type: ignore[arg-type]
        for key in id_keys:
            if isinstance(out.get(key), str):
                out[key] = self.id_number(out[key])  # type: ignore[arg-type]
        return out


UNMASKED = Masker(masked=False)


def masker_for(
    role: str | None, mask_for_roles: Collection[str], keep: int = DEFAULT_KEEP
) -> Masker:
    """The :class:`Masker` for a user of ``role``; ``None`` (no user) is masked too.

    ``mask_for_roles`` and ``keep`` come from ``policy.privacy``
    (``masker_for(user.role, policy.privacy.mask_for_roles, policy.privacy.keep_digits)``).
    """
    if role is not None and role not in mask_for_roles:
        return UNMASKED
    return Masker(masked=True, keep=keep)


MaskFn = Callable[[str | None], str | None]


def masker_for_policy(role: str | None, policy: Policy) -> Masker:
    """:func:`masker_for` with the policy's ``privacy`` section."""
    return masker_for(role, policy.privacy.mask_for_roles, policy.privacy.keep_digits)

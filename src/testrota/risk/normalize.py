"""Text normalisation for role titles, departments and vocabulary terms.

Rosters are typed by many clerks: Traditional or Simplified characters, full-width letters and
brackets from a Chinese input method, stray spaces inside words (``驾 驶 员``), mixed case in
English. Everything that is compared (titles, departments, vocabulary terms, category names) goes
through :func:`normalize` first, so the matcher only ever sees one spelling.
"""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache

import opencc

# Unicode general-category prefixes kept as text: letters, numbers, combining marks. Everything
# else (punctuation, brackets, symbols, spaces, control and format characters such as U+200B)
# separates words.
_KEPT = frozenset("LNM")
# A few passes always reach a fixed point in practice (NFKC and casefold can each expose work for
# the other); the bound only guards against a pathological cycle.
_MAX_PASSES = 4


@cache
def _to_simplified() -> tuple[opencc.OpenCC, ...]:
    # Built on first use, not at import: loading the dictionaries costs a few milliseconds that
    # commands which never match a role should not pay. Plain t2s misses the Hong Kong and
    # Taiwan variant characters (門衞 is how Hong Kong writes 门卫), so the regional converters
    # run first; each also does the full Traditional-to-Simplified step.
    return (opencc.OpenCC("hk2s"), opencc.OpenCC("tw2s"))


def is_spaced(ch: str) -> bool:
    """True for a letter or digit of a script that separates words with spaces (Latin, etc.).

    CJK characters (wide or full-width) are not: Chinese words are written without spaces, so a
    space between two Han characters is noise and a CJK/Latin transition is itself a boundary.
    """
    return ch.isalnum() and unicodedata.east_asian_width(ch) not in ("W", "F")


def _pass(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    # Separators become plain spaces before OpenCC sees the text: it cannot encode a lone
    # surrogate (a badly decoded cell), and spaces are what it segments phrases on anyway.
    text = "".join(ch if unicodedata.category(ch)[0] in _KEPT else " " for ch in text)
    for converter in _to_simplified():
        text = converter.convert(text)
    text = unicodedata.normalize("NFKC", text)
    runs: list[str] = []
    current: list[str] = []
    for ch in text:
        if unicodedata.category(ch)[0] in _KEPT:
            current.append(ch)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    if not runs:
        return ""
    out = [runs[0]]
    for run in runs[1:]:
        # Keep one space only where it separates two words of a spaced script ("gate guard");
        # drop it between Han characters ("门 卫" -> "门卫") and at a Han/Latin seam.
        if is_spaced(out[-1][-1]) and is_spaced(run[0]):
            out.append(" ")
        out.append(run)
    return "".join(out)


@lru_cache(maxsize=1 << 16)
def normalize(text: str) -> str:
    """The canonical spelling of ``text`` for matching.

    Full-width to half-width and compatibility forms (NFKC), case-folded, Traditional to
    Simplified (OpenCC, Hong Kong and Taiwan variants included), brackets, punctuation and
    symbols removed; spaces survive only as single separators between words of a spaced
    script. Idempotent: ``normalize(normalize(x)) == normalize(x)``.
    """
    current = text
    for _ in range(_MAX_PASSES):
        following = _pass(current)
        if following == current:
            return following
        current = following
    return current


def role_key(title: str) -> str:
    """The key a role title (or department) is stored under in ``RoleOverride``.

    Two titles that differ only in script, width, case, spacing or punctuation share a key, so an
    HR mapping of ``司机`` also covers ``司機`` and ``司 机（）``.
    """
    return normalize(title or "")

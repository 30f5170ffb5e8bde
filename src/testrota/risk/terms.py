"""Finding vocabulary terms in normalised text.

A term is found by exact substring lookup, never by edit distance: a steelworks is full of
words one character away from a high-risk one (冷轧/冷链, 司磅员/司机, 公司/公寓). Terms of a
spaced script (English) must stand as whole words, optionally followed by a plural ``s``/``es``,
so ``bus`` does not fire inside ``business`` nor ``driver`` inside ``screwdriver``; Chinese terms
have no word boundaries and match anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from testrota.risk.normalize import is_spaced

V = TypeVar("V")

_PLURAL_SUFFIXES = ("", "s", "es")
_BRACES = re.compile(r"\{([^{}]*)\}")
MAX_EXPANSIONS = 2000


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a term: ``text[start:end]`` (``end`` includes a plural suffix)."""

    start: int
    end: int
    term: str
    text: str

    def overlaps(self, other: Hit) -> bool:
        return self.start < other.end and other.start < self.end


class TermIndex(Generic[V]):
    """A dictionary of terms with a value each, searched by every substring of a text.

    Titles are short (rarely over 20 characters), so looking up each substring whose length is
    the length of some term is faster than a regular expression alternation of a thousand terms
    and needs no third-party automaton.
    """

    __slots__ = ("_entries", "_lengths")

    def __init__(self, entries: Mapping[str, V]) -> None:
        self._entries = dict(entries)
        self._lengths = tuple(sorted({len(term) for term in self._entries}, reverse=True))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, term: object) -> bool:
        return term in self._entries

    def get(self, term: str) -> V | None:
        return self._entries.get(term)

    def terms(self) -> Iterable[str]:
        return self._entries.keys()

    def find(self, text: str) -> list[tuple[Hit, V]]:
        """Every occurrence of every term in ``text`` (overlapping ones included)."""
        found: list[tuple[Hit, V]] = []
        size = len(text)
        for start in range(size):
            for length in self._lengths:
                stop = start + length
                if stop > size:
                    continue
                term = text[start:stop]
                value = self._entries.get(term)
                if value is None:
                    continue
                end = word_end(text, start, stop)
                if end is not None:
                    found.append((Hit(start, end, term, text[start:end]), value))
        return found


def word_end(text: str, start: int, stop: int) -> int | None:
    """Where a term found at ``text[start:stop]`` ends, or None when it is part of a longer word.

    Only the spaced-script edges of a term are checked: ``guard`` needs a boundary on both sides,
    ``门卫`` on neither, ``叉车forklift`` style seams count as boundaries.
    """
    if is_spaced(text[start]) and start > 0 and is_spaced(text[start - 1]):
        return None
    if not is_spaced(text[stop - 1]):
        return stop
    for suffix in _PLURAL_SUFFIXES:
        end = stop + len(suffix)
        if text[stop:end] == suffix and (end == len(text) or not is_spaced(text[end])):
            return end
    return None


def contains_term(text: str, term: str) -> bool:
    """True when ``term`` occurs in ``text`` as a whole word (see :func:`word_end`)."""
    start = text.find(term)
    while start >= 0:
        if word_end(text, start, start + len(term)) is not None:
            return True
        start = text.find(term, start + 1)
    return False


def expand(pattern: str) -> list[str]:
    """Expand ``{a|b}`` alternations: ``{天车|行车}{司机|驾驶员}`` is four terms.

    Raises ValueError for unbalanced or nested braces, or an expansion that would be huge.
    """
    if pattern.count("{") != pattern.count("}"):
        raise ValueError(f"unbalanced braces in {pattern!r}")
    match = _BRACES.search(pattern)
    if match is None:
        if "{" in pattern or "}" in pattern:
            raise ValueError(f"misplaced or nested braces in {pattern!r}")
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    if "{" in head or "}" in head:
        raise ValueError(f"misplaced or nested braces in {pattern!r}")
    results: list[str] = []
    for option in match.group(1).split("|"):
        for rest in expand(tail):
            results.append(head + option + rest)
            if len(results) > MAX_EXPANSIONS:
                raise ValueError(f"{pattern!r} expands to more than {MAX_EXPANSIONS} terms")
    return results

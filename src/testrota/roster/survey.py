"""What the reader learns about a sheet from the file itself, before calamine reads it.

calamine gives cell values but neither number formats nor a sheet's size without allocating
it whole; the format-specific modules (:mod:`~testrota.roster.biff`,
:mod:`~testrota.roster.xlsx_parts`, :mod:`~testrota.roster.ods_parts`) find both in one pass
over the file's own structures and report them in these shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class DamagedPart(ValueError):
    """A part of the file is inconsistent; the message says which and how."""


@dataclass
class SheetSurvey:
    """A sheet's extent and the cells whose number format changes their text."""

    name: str
    rows: int  # from row 1 to the last row with a cell (what calamine will allocate)
    columns: int  # from column A to the last column with a cell
    overrides: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) -> text
    # (row, col, rows, columns, text): a block of repeated cells showing the same text (.ods)
    spans: list[tuple[int, int, int, int, str]] = field(default_factory=list)


class SheetTooLarge(Exception):
    """A sheet is over a limit; ``rows`` and ``columns`` are what it spans (at least)."""

    def __init__(self, name: str | None, rows: int, columns: int, what: str) -> None:
        super().__init__(f"{name}: {rows} rows x {columns} columns ({what})")
        self.name = name
        self.rows = rows
        self.columns = columns
        self.what = what  # "rows" or "cells": the limit it is over


def less_or_equal(n: int, then: str) -> str:
    """A regular expression for the decimal integers from 1 to ``n`` (leading zeros allowed),
    followed by ``then``.

    Each alternative ends with ``then``, the longest come first and the runs of digits are
    possessive, so a number is decided without backtracking: the survey tests every cell of a
    sheet with this, 2.1 million in a group's results sheet, and a six-digit row used to be
    tried as each of its shorter prefixes first (0.26 s of the sheet's survey, now 0.16 s).
    """
    s = str(n)
    short = [rf"[1-9]\d{{0,{len(s) - 2}}}"] if len(s) > 1 else []
    full = []
    for i, ch in enumerate(s):
        rest = len(s) - i - 1
        low = "[1-9]" if i == 0 else "[0-9]"
        if ch != ("1" if i == 0 else "0"):
            top = int(ch) - 1
            cls = f"[{low[1]}-{top}]" if top > int(low[1]) else str(top)
            full.append(s[:i] + cls + (rf"\d{{{rest}}}" if rest else ""))
    full.append(s)
    then = re.escape(then)
    return "0*+(?:" + "|".join([p + then for p in full] + [p + "+" + then for p in short]) + ")"


def column_number(letters: str) -> int:
    """1 for A, 27 for AA, 16384 for XFD."""
    number = 0
    for c in letters:
        number = number * 26 + ord(c) - 64
    return number


_REF = re.compile(r"([A-Z]{1,3})0*(\d{1,7})")


def parse_ref(ref: str) -> tuple[int, int] | None:
    """``"B12"`` -> (11, 1), 0-based (row, column); None if it is not a cell reference.
    calamine reads ``b12`` as B12 too."""
    m = _REF.fullmatch(ref.upper())
    if m is None or m.group(2) == "0":
        return None
    return int(m.group(2)) - 1, column_number(m.group(1)) - 1

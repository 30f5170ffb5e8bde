"""A listing's table drawn as rich draws it by default (a heavy head, a light body, the title
centred above), without rich's layout engine.

Rich measures, wraps and crops every cell through its renderables: about 0.6 ms a row, so a
supervisor's list of 77 missed tests spent 50–110 ms of ``testrota missed`` drawing itself, more
than its query, and a list of 2,000 rows over a second. Left-aligned text in columns as wide as
their widest cell needs none of that. Where the table would not fit (a terminal narrower than
it), :func:`lines` returns None and rich draws it, wrapping cells as before; a pipe or a file
gets whole rows, one a line. Cells are text as it is: nothing in them is read as rich markup.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

_WIDE = frozenset("WF")  # East Asian wide and full-width characters take two columns


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal (CJK characters two, combining marks none)."""
    if text.isascii():
        return len(text)
    return sum(
        2 if unicodedata.east_asian_width(ch) in _WIDE else 0 if unicodedata.combining(ch) else 1
        for ch in text
    )


def _one_line(text: str) -> str:
    # a row is one line: a line break or a tab inside a cell would break the columns
    return " ".join(text.split("\n")).replace("\r", " ").replace("\t", " ")


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def lines(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    max_width: int | None = None,
    bold: bool = False,
) -> list[str] | None:
    """The table's lines, or None when it is wider than ``max_width`` (None: no limit) or the
    title is wider than the table (rich would wrap it).
    ``bold``: the headers in bold and the title in italics, as rich styles them on a terminal."""
    heads = [_one_line(h) for h in headers]
    body = [[_one_line(c) for c in row] for row in rows]
    widths = [width(h) for h in heads]
    for row in body:
        for i, cell in enumerate(row):
            w = width(cell)
            if w > widths[i]:
                widths[i] = w
    total = sum(widths) + 3 * len(widths) + 1
    title = _one_line(title)
    if (max_width is not None and total > max_width) or width(title) > total:
        return None  # rich wraps the cells, or the title over the table's width
    on, off, italic = ("\x1b[1m", "\x1b[0m", "\x1b[3m") if bold else ("", "", "")
    out = []
    if title:
        space = max(total - width(title), 0)
        left = space // 2
        out.append(" " * left + italic + title + off + " " * (space - left))
    out.append("┏" + "┳".join("━" * (w + 2) for w in widths) + "┓")
    out.append(
        "┃" + "┃".join(f" {on}{_pad(h, w)}{off} " for h, w in zip(heads, widths, strict=True)) + "┃"
    )
    out.append("┡" + "╇".join("━" * (w + 2) for w in widths) + "┩")
    for row in body:
        out.append(
            "│" + "│".join(f" {_pad(c, w)} " for c, w in zip(row, widths, strict=True)) + "│"
        )
    out.append("└" + "┴".join("─" * (w + 2) for w in widths) + "┘")
    return out

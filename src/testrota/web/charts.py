"""Server-rendered SVG charts: pure functions from numbers to markup (no JavaScript needed).

Text is escaped here; the result is marked safe for Jinja with :class:`markupsafe.Markup`.

SVG text does not wrap or shrink, so every label's width is estimated here (a CJK character is
one em wide, a Latin one about 0.6 em) and the chart is laid out around the widest one: a label
is shortened with "…" only when it cannot fit, never drawn past the chart's edge, and keeps its
full text in a ``<title>``. The estimate errs wide, so the real text always fits in its box.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

FONT_PX = 12  # .chart text in app.css
_WIDE_LATIN = frozenset("MWmw@%&")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # a share, 0..1; None = nothing required
    note: str = ""  # shown after the value, e.g. "12/14"


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def text_width(text: str, font_px: float = FONT_PX) -> float:
    """The width ``text`` takes at ``font_px``, estimated on the wide side (CJK and full-width
    characters one em, wide Latin letters one em, capitals 0.75 em, the rest 0.62 em)."""
    em = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WF" or ch in _WIDE_LATIN:
            em += 1.0
        elif ch.isupper():
            em += 0.75
        else:
            em += 0.62
    return em * font_px


def fit_text(text: str, max_width: float, font_px: float = FONT_PX) -> str:
    """``text`` as it fits in ``max_width``: whole, or cut and ended with "…"."""
    if text_width(text, font_px) <= max_width:
        return text
    out = text
    while out and text_width(out + "…", font_px) > max_width:
        out = out[:-1]
    return out.rstrip() + "…" if out else "…"


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    target: float | None = None,
    width: int = 640,
    narrow_width: int = 360,
    bar_height: int = 22,
    max_label_share: float = 0.4,
) -> Markup:
    """Horizontal bars, one per department, sorted as given; ``target`` draws a dashed line.

    Bars below the target are drawn red, within ten points of it amber. Two drawings of the
    same bars: labels beside the bars (``width``), and labels above them (``narrow_width``)
    for a phone, where the wide one would shrink its text to a third of its size; the page's
    CSS shows one of them.
    """
    beside = _bars_beside(bars, title, target, width, bar_height, max_label_share)
    above = _bars_above(bars, title, target, narrow_width)
    return Markup('<div class="bar-charts">') + beside + above + Markup("</div>")


def _value_text(bar: Bar) -> str:
    if bar.value is None:
        return "–"
    return _pct(bar.value) + (" · " + bar.note if bar.note else "")


def _kind(bar: Bar, target: float | None) -> str:
    if target is None or bar.value is None:
        return ""
    return " low" if bar.value < target - 0.1 else (" mid" if bar.value < target else "")


def _rect(bar: Bar, x: float, y: float, w: float, h: float, target: float | None) -> str:
    assert bar.value is not None
    return (
        f'<rect class="bar{_kind(bar, target)}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
        f'height="{h}" rx="3" data-label="{escape(bar.label)}" '
        f'data-value="{bar.value:.4f}"><title>{escape(bar.label)}: {_pct(bar.value)}'
        f"{' ' + escape(bar.note) if bar.note else ''}</title></rect>"
    )


def _open(kind: str, title: str, width: int, height: float) -> list[str]:
    return [
        f'<svg class="chart bars {kind}" viewBox="0 0 {width} {height:.0f}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]


def _bars_beside(
    bars: Sequence[Bar],
    title: str,
    target: float | None,
    width: int,
    bar_height: int,
    max_label_share: float,
) -> Markup:
    """Labels in a column left of the bars, as wide as the widest label (at most
    ``max_label_share`` of ``width``); the values after the bars get the room the widest
    needs."""
    gap, top, pad = 8, 8, 6
    labels = [fit_text(b.label, width * max_label_share - 2 * pad) for b in bars]
    label_width = max([40.0, *(text_width(t) + 2 * pad for t in labels)])
    values = [_value_text(b) for b in bars]
    value_width = max([20.0, *(text_width(v) + 2 * pad for v in values)])
    chart_w = max(40.0, width - label_width - value_width)
    height = top * 2 + max(1, len(bars)) * (bar_height + gap)
    parts = _open("wide", title, width, height)
    for tick in (0.0, 0.5, 1.0):
        x = label_width + tick * chart_w
        parts.append(
            f'<line class="gridline" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - top}"/>'
        )
    for i, (bar, label, shown) in enumerate(zip(bars, labels, values, strict=True)):
        y = top + i * (bar_height + gap)
        text_y = y + bar_height * 0.7
        parts.append(
            f'<text class="label" x="{label_width - pad:.1f}" y="{text_y:.1f}" '
            f'text-anchor="end"><title>{escape(bar.label)}</title>{escape(label)}</text>'
        )
        if bar.value is None:
            parts.append(
                f'<text class="value muted" x="{label_width + 4:.1f}" y="{text_y:.1f}">–</text>'
            )
            continue
        w = max(0.0, min(1.0, bar.value)) * chart_w
        parts.append(_rect(bar, label_width, y, w, bar_height, target))
        parts.append(
            f'<text class="value" x="{label_width + w + pad:.1f}" y="{text_y:.1f}">'
            f"{escape(shown)}</text>"
        )
    if target is not None:
        x = label_width + target * chart_w
        parts.append(
            f'<line class="target" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
            f'y2="{height - top + 4}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _bars_above(bars: Sequence[Bar], title: str, target: float | None, width: int) -> Markup:
    """Each label on its own line above its bar, the whole width for it; the values after the
    bars get the room the widest needs."""
    top, pad, label_h, bar_h, gap = 6, 2, 14, 14, 10
    values = [_value_text(b) for b in bars]
    value_width = max([20.0, *(text_width(v) + 2 * pad + 4 for v in values)])
    chart_w = max(40.0, width - pad - value_width)
    row = label_h + bar_h + gap
    height = top * 2 + max(1, len(bars)) * row
    parts = _open("narrow", title, width, height)
    for i, (bar, shown) in enumerate(zip(bars, values, strict=True)):
        y = top + i * row
        label = fit_text(bar.label, width - 2 * pad)
        parts.append(
            f'<text class="label" x="{pad}" y="{y + label_h - 3}">'
            f"<title>{escape(bar.label)}</title>{escape(label)}</text>"
        )
        bar_y = y + label_h
        if bar.value is None:
            parts.append(
                f'<text class="value muted" x="{pad}" y="{bar_y + bar_h - 3}">{escape(shown)}'
                "</text>"
            )
            continue
        w = max(0.0, min(1.0, bar.value)) * chart_w
        parts.append(_rect(bar, pad, bar_y, w, bar_h, target))
        parts.append(
            f'<text class="value" x="{pad + w + 4:.1f}" y="{bar_y + bar_h - 3}">'
            f"{escape(shown)}</text>"
        )
    if target is not None:
        x = pad + target * chart_w
        parts.append(
            f'<line class="target" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - top}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    no_data: str = "no data",
    width: int = 640,
    height: int = 220,
    narrow_width: int = 360,
    narrow_height: int = 200,
) -> Markup:
    """A line over weeks (oldest first); values are shares 0..1.

    A week whose value is None had no data: it is left empty (the line breaks there, no dot),
    its axis label is marked, and the chart's accessible name reads it as ``no_data``, so a
    screen reader hears every week, not only those plotted. Drawn twice, like
    :func:`bar_chart`: ``width`` wide, and ``narrow_width`` for a phone.
    """
    wide = _line(points, title, no_data, width, height, "wide")
    narrow = _line(points, title, no_data, narrow_width, narrow_height, "narrow")
    return Markup('<div class="line-charts">') + wide + narrow + Markup("</div>")


def _line(
    points: Sequence[tuple[str, float | None]],
    title: str,
    no_data: str,
    width: int,
    height: int,
    kind: str,
) -> Markup:
    left, right, top, bottom = 44, 16, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(points)
    spoken = ", ".join(
        f"{label} {no_data if value is None else _pct(value)}" for label, value in points
    )
    name = f"{title}: {spoken}" if points else title
    parts = [
        f'<svg class="chart line-chart {kind}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(name)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(name)}</title>",
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top + (1 - tick) * plot_h
        parts.append(
            f'<line class="gridline" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_pct(tick)}</text>')

    def x_of(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (label, value) in enumerate(points):
        x = x_of(i)
        if value is None:
            parts.append(
                f'<text class="week no-data" x="{x:.1f}" y="{height - 10}" '
                f'text-anchor="middle" data-week="{escape(label)}">'
                f"<title>{escape(label)}: {escape(no_data)}</title>{escape(label)}</text>"
            )
            if segment:
                segments.append(segment)
            segment = []
            continue
        parts.append(
            f'<text class="week" x="{x:.1f}" y="{height - 10}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
        y = top + (1 - max(0.0, min(1.0, value))) * plot_h
        segment.append(f"{x:.1f},{y:.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<polyline class="line" points="{" ".join(seg)}"/>')
    for i, (label, value) in enumerate(points):
        if value is None:
            continue
        y = top + (1 - max(0.0, min(1.0, value))) * plot_h
        parts.append(
            f'<circle class="dot" cx="{x_of(i):.1f}" cy="{y:.1f}" r="4" '
            f'data-week="{escape(label)}" data-value="{value:.4f}">'
            f"<title>{escape(label)}: {_pct(value)}</title></circle>"
        )
    parts.append(
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
        f'y2="{top + plot_h}"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))

"""Server-rendered SVG charts: pure functions from numbers to markup (no JavaScript needed).

Text is escaped here; the result is marked safe for Jinja with :class:`markupsafe.Markup`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # a share, 0..1; None = nothing required
    note: str = ""  # shown after the value, e.g. "12/14"


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    target: float | None = None,
    width: int = 640,
    bar_height: int = 22,
    label_width: int = 150,
) -> Markup:
    """Horizontal bars, one per department, sorted as given; ``target`` draws a dashed line.

    Bars below the target are drawn red, within ten points of it amber.
    """
    gap = 8
    top = 8
    chart_w = width - label_width - 90
    height = top * 2 + max(1, len(bars)) * (bar_height + gap)
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0.0, 0.5, 1.0):
        x = label_width + tick * chart_w
        parts.append(
            f'<line class="gridline" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - top}"/>'
        )
    for i, bar in enumerate(bars):
        y = top + i * (bar_height + gap)
        label = bar.label if len(bar.label) <= 14 else bar.label[:13] + "…"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end">'
            f"<title>{escape(bar.label)}</title>{escape(label)}</text>"
        )
        if bar.value is None:
            parts.append(
                f'<text x="{label_width + 4}" y="{y + bar_height * 0.7:.1f}" class="muted">–</text>'
            )
            continue
        value = max(0.0, min(1.0, bar.value))
        w = value * chart_w
        kind = ""
        if target is not None:
            kind = " low" if bar.value < target - 0.1 else (" mid" if bar.value < target else "")
        parts.append(
            f'<rect class="bar{kind}" x="{label_width}" y="{y}" width="{w:.1f}" '
            f'height="{bar_height}" rx="3" data-label="{escape(bar.label)}" '
            f'data-value="{bar.value:.4f}"><title>{escape(bar.label)}: {_pct(bar.value)}'
            f"{' ' + escape(bar.note) if bar.note else ''}</title></rect>"
        )
        parts.append(
            f'<text x="{label_width + w + 6:.1f}" y="{y + bar_height * 0.7:.1f}">'
            f"{_pct(bar.value)}{' · ' + escape(bar.note) if bar.note else ''}</text>"
        )
    if target is not None:
        x = label_width + target * chart_w
        parts.append(
            f'<line class="target" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
            f'y2="{height - top + 4}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    points: Sequence[tuple[str, float | None]], *, title: str, width: int = 640, height: int = 220
) -> Markup:
    """A line over weeks (oldest first); values are shares 0..1, None leaves a gap."""
    left, right, top, bottom = 44, 16, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(points)
    parts = [
        f'<svg class="chart line-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
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
        parts.append(
            f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{escape(label)}</text>'
        )
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
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

"""Drawing personal codes: the QR as inline SVG for a page, and printable badge sheets.

A badge sheet serves people without a smartphone: A4 pages of cut-out cards, each with the
QR, the name (masked when the reader's role demands), the employee number, the department or
grid unit and the last day the code is accepted. PNG holds one page; PDF any number.

No database, no clock: the caller passes the codes, already made and masked.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import segno

from testrota.errors import UserError

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

SheetFormat = Literal["png", "pdf"]
DPI = 150
PAGE = (1240, 1754)  # A4 at 150 dpi
MARGIN = 60
COLUMNS, ROWS = 3, 4
PER_PAGE = COLUMNS * ROWS
QR_SCALE = 7  # a module of 1.2 mm: read from a metre by a phone, from a hand by a scanner
# Fonts with Chinese glyphs, as Debian, Fedora, macOS and Windows install them.
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


@dataclass(frozen=True)
class Badge:
    name: str  # as the reader may see it (masked or not)
    employee_no: str
    unit: str  # department · grid unit
    code: str
    valid_until: date


def qr(code: str) -> segno.QRCode:
    # Level M: a smudged or creased badge still reads; the code stays at version 2 or 3.
    return segno.make_qr(code, error="m", boost_error=False)


def qr_svg(code: str, *, scale: int = 5, title: str | None = None) -> str:
    """An ``<svg>`` element of the code's QR, for inlining in a page (no file, no script)."""
    return str(
        qr(code).svg_inline(
            scale=scale,
            border=4,
            dark="#000",
            light="#fff",
            title=title,
            svgclass="personal-code",
            lineclass=None,
            omitsize=False,
        )
    )


def find_font(configured: str | None) -> str | None:
    """The font file the badges print names in: the policy's, else the first CJK font found."""
    if configured:
        if not Path(configured).is_file():
            raise UserError(
                "codes.badge_font {path} is not a font file on this machine", path=configured
            )
        return configured
    return next((f for f in CJK_FONTS if Path(f).is_file()), None)


def pages_needed(count: int) -> int:
    return max(1, -(-count // PER_PAGE))


def render_sheet(
    badges: Sequence[Badge], fmt: SheetFormat, font_file: str | None, title: str
) -> bytes:
    """The sheet as a PNG (one page at most) or a PDF (a page per twelve people)."""

    if not badges:
        raise UserError("nobody to print a badge for")
    pages = pages_needed(len(badges))
    if fmt == "png" and pages > 1:
        raise UserError(
            "{n} badges need {pages} pages and a PNG holds one ({per} badges): write a .pdf",
            n=len(badges),
            pages=pages,
            per=PER_PAGE,
        )
    images = [
        _page(badges[i : i + PER_PAGE], font_file, title, i // PER_PAGE + 1, pages)
        for i in range(0, len(badges), PER_PAGE)
    ]
    out = io.BytesIO()
    if fmt == "png":
        images[0].save(out, format="PNG", dpi=(DPI, DPI), optimize=True)
    else:
        first: Image.Image = images[0]
        first.save(
            out,
            format="PDF",
            resolution=DPI,
            save_all=True,
            append_images=images[1:],
            title=title,
            creator="testrota",
        )
    return out.getvalue()


def badge_origin(index: int) -> tuple[int, int, int, int]:
    """Left, top, width and height of the ``index``-th card on its page."""
    cell_w = (PAGE[0] - 2 * MARGIN) // COLUMNS
    cell_h = (PAGE[1] - 2 * MARGIN - 40) // ROWS
    row, column = divmod(index % PER_PAGE, COLUMNS)
    return MARGIN + column * cell_w, MARGIN + 40 + row * cell_h, cell_w, cell_h


def qr_box(index: int, code: str) -> tuple[int, int, int]:
    """Left, top and side in pixels of the ``index``-th card's QR (its quiet zone included)."""
    left, top, width, _ = badge_origin(index)
    side = qr(code).symbol_size(scale=QR_SCALE, border=4)[0]
    return left + (width - int(side)) // 2, top + 12, int(side)


def _font(font_file: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    if font_file:
        return ImageFont.truetype(font_file, size)
    return ImageFont.load_default(size)


def _page(
    badges: Sequence[Badge], font_file: str | None, title: str, number: int, pages: int
) -> Image.Image:
    from PIL import Image, ImageDraw

    page = Image.new("L", PAGE, 255)
    draw = ImageDraw.Draw(page)
    small = _font(font_file, 20)
    draw.text((MARGIN, MARGIN - 20), f"{title}   {number}/{pages}", fill=0, font=small)
    for index, badge in enumerate(badges):
        _card(draw, index, badge, font_file)
    return page.convert("1", dither=None)


def _card(draw: ImageDraw.ImageDraw, index: int, badge: Badge, font_file: str | None) -> None:
    left, top, width, height = badge_origin(index)
    # a dashed cutting frame
    for x in range(left, left + width, 12):
        draw.line([(x, top), (min(x + 6, left + width), top)], fill=128)
        draw.line([(x, top + height - 1), (min(x + 6, left + width), top + height - 1)], fill=128)
    for y in range(top, top + height, 12):
        draw.line([(left, y), (left, min(y + 6, top + height))], fill=128)
        draw.line([(left + width - 1, y), (left + width - 1, min(y + 6, top + height))], fill=128)
    x0, y0, side = qr_box(index, badge.code)
    for r, row in enumerate(qr(badge.code).matrix_iter(scale=1, border=4)):
        for c, dark in enumerate(row):
            if dark:
                draw.rectangle(
                    [
                        (x0 + c * QR_SCALE, y0 + r * QR_SCALE),
                        (x0 + (c + 1) * QR_SCALE - 1, y0 + (r + 1) * QR_SCALE - 1),
                    ],
                    fill=0,
                )
    y = y0 + side + 4
    for text, size in (
        (badge.name, 34),
        (badge.employee_no, 28),
        (badge.unit, 20),
        (f"有效期至 valid until {badge.valid_until.isoformat()}", 20),
    ):
        font = _font(font_file, size)
        text = _fit(draw, text, font, width - 24)
        w = draw.textlength(text, font=font)
        draw.text((left + (width - w) / 2, y), text, fill=0, font=font)
        y += size + 10


def _fit(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"

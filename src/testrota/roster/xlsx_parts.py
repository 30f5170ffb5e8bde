"""The parts of an .xlsx the reader checks and surveys before calamine reads them.

- Every XML part calamine reads when it opens the workbook (workbook, relationships, styles,
  shared strings) is inflated once with its declared size enforced, and the shared strings'
  ``uniqueCount`` — which calamine uses to reserve memory — must fit the part's size.
- A sheet is surveyed before calamine reads it: one streaming pass over its XML finds how far its
  cells reach (calamine allocates the rectangle from A1 to the farthest cell, so two cells in A1
  and XFD1048576 would ask for half a terabyte), refusing the sheet as soon as it passes a limit,
  and picks out the number cells whose style pads or decorates them (``000000``).

The usual sheet costs one search per megabyte for a cell tag that is not ``<c r="B12"`` with a
one-letter column and a row within the limit, as Excel, Calc, openpyxl and every common writer
lay them out; the search's literal prefix keeps it at about a tenth of calamine's own read. Wider
sheets take a second pass, and a sheet laid out otherwise (cells without ``r``, ``r`` not the
first attribute) is walked tag by tag, placing cells as calamine does (see :class:`_SheetScan`).
"""

from __future__ import annotations

import html
import math
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from xml.etree import ElementTree

from testrota.roster.numfmt import NumberFormat, changes_whole_numbers, parse_format
from testrota.roster.survey import (
    DamagedPart,
    SheetSurvey,
    SheetTooLarge,
    column_number,
    less_or_equal,
    parse_ref,
)
from testrota.roster.zip_parts import check_members, member_chunks, part_key, read_member

_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_METADATA_LIMIT = 64 << 20  # workbook.xml and relationship parts; real ones are kilobytes
_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_NUMFMT = re.compile(rb"<(?:\w+:)?numFmt\b([^>]*)>")
_NUMFMTS = re.compile(rb"<(?:\w+:)?numFmts\b[^>]*>(.*?)</(?:\w+:)?numFmts>", re.DOTALL)
_CELLXFS = re.compile(rb"<(?:\w+:)?cellXfs\b[^>]*>(.*?)</(?:\w+:)?cellXfs>", re.DOTALL)
_XF = re.compile(rb"<(?:\w+:)?xf\b([^>]*)>")
_SST_HEAD = re.compile(rb"<(?:\w+:)?sst\b([^>]*)>")
_ROOT = re.compile(rb"<(?:(\w+):)?worksheet\b")
_SHEETDATA = re.compile(rb"<(?:\w+:)?sheetData\b")
_COLUMNS: dict[bytes, int] = {}  # b"AB" -> 27, filled as letters are met
# What may follow a cell's r in the layout the quick passes trust: at most a style and a type,
# each once, a single space apart, then the tag's end. Anything else (a second r, a newline
# before r, another attribute) is walked tag by tag, as calamine reads it.
_CANONICAL_TAIL = rb'(?: [st]="[^"<>]*+"){0,2}+ ?/?>'
# A namespace prefix as calamine's XML reader takes one: everything before the first colon of
# a name (which ends at whitespace, "/" or ">"), even nothing; the local name is the rest.
_ANY_PREFIX = rb"[^\s/>:]*:"
_PREFIXED = re.compile(rb"<" + _ANY_PREFIX + rb"(?:c|row)[\s/>]")
_NOT_MARKUP = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)
_CELL_END = re.compile(rb"</(?:" + _ANY_PREFIX + rb")?c>")
_ANY_VALUE = re.compile(rb"<(?:" + _ANY_PREFIX + rb")?v>([^<]*)</(?:" + _ANY_PREFIX + rb")?v>")
# The exact walk's tags: a row or cell by local name, then its attributes read as XML reads
# them (quoted values, whitespace as XML counts it). A tag that does not read so (a value
# holding < or >, an attribute twice, a stray character) is refused, not guessed at.
_TAG = re.compile(rb"<(/?)(?:" + _ANY_PREFIX + rb")?(row|c)(?=[\s/>])")
_XML_SPACE = rb"[ \t\r\n]"
_TAG_REST = re.compile(
    rb"((?:"
    + _XML_SPACE
    + rb"+[^\s=/>\"']+"
    + _XML_SPACE
    + rb"*="
    + _XML_SPACE
    + rb"*(?:\"[^\"<>]*\"|'[^'<>]*'))*)"
    + _XML_SPACE
    + rb"*(/?)>"
)
_TAG_ATTR = re.compile(
    rb"([^\s=/>\"']+)" + _XML_SPACE + rb"*=" + _XML_SPACE + rb"*(?:\"([^\"]*)\"|'([^']*)')"
)
_CLOSE_ANY = re.compile(_XML_SPACE + rb"*>")


def _holds_value(prefix: bytes) -> bytes:
    """After a canonical cell's ``r="A1"`` (digits on): the cell holds something, neither
    self-closing nor closed with nothing but whitespace inside (``<c r="A9" s="1"></c>``),
    which calamine reads as no cell. Its attribute values hold no ``>``: the first ends it."""
    return rb'(?!\d*"[^>]*(?:/>|>\s*</' + re.escape(prefix) + rb"c\s*>))"


_EMPTY_BODY = re.compile(rb"\s*</(?:" + _ANY_PREFIX + rb")?c\s*>")


def _attrs(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(raw):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        out[m.group(1).decode("utf-8", "replace")] = html.unescape(value.decode("utf-8", "replace"))
    return out


def _local(attrs: dict[str, str], name: str) -> str | None:
    """An attribute by local name, whatever its namespace prefix (``r:id``)."""
    if name in attrs:
        return attrs[name]
    return next((v for k, v in attrs.items() if k.rpartition(":")[2] == name), None)


@dataclass
class XlsxPackage:
    """An .xlsx whose zip directory has been read; parts are checked as they are used."""

    data: bytes
    members: dict[str, zipfile.ZipInfo]

    @classmethod
    def open(cls, data: bytes, archive: zipfile.ZipFile) -> XlsxPackage:
        package = cls(data, check_members(archive))
        package.check_open_parts()
        return package

    @cached_property
    def _by_key(self) -> dict[str, zipfile.ZipInfo]:
        # calamine finds a part whatever the case of its name, as OPC's names are compared
        return {part_key(name): info for name, info in self.members.items()}

    def _member(self, name: str) -> zipfile.ZipInfo | None:
        return self._by_key.get(part_key(name))

    def _part(self, name: str, limit: int | None = None) -> bytes | None:
        info = self._member(name)
        if info is None:
            return None
        if limit is not None and info.file_size > limit:
            raise DamagedPart(f"{name} is implausibly large")
        return read_member(self.data, info)

    @cached_property
    def workbook_path(self) -> str:
        rels = self._part("_rels/.rels", _METADATA_LIMIT)
        if rels is not None:
            for rel in _relationships(rels):
                if rel[0].endswith("/officeDocument"):
                    return _resolve("", rel[1])
        return "xl/workbook.xml"

    @cached_property
    def sheet_parts(self) -> dict[str, str]:
        """Sheet name -> the part holding its XML."""
        book = self._part(self.workbook_path, _METADATA_LIMIT)
        if book is None:
            raise DamagedPart("the workbook part is missing")
        folder = posixpath.dirname(self.workbook_path)
        base = posixpath.basename(self.workbook_path)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        rels = self._part(rels_name, _METADATA_LIMIT)
        targets = {rid: _resolve(folder, target) for _, target, rid in _relationships(rels or b"")}
        parts: dict[str, str] = {}
        # A sheet in a comment or CDATA is no sheet: calamine reads the elements only.
        for m in re.finditer(rb"<(?:\w+:)?sheet\b([^>]*)>", _NOT_MARKUP.sub(b"", book)):
            attrs = _attrs(m.group(1))
            rid, name = _local(attrs, "id"), attrs.get("name")
            if name is not None and rid in targets:
                if name in parts:
                    raise DamagedPart(f"the workbook names sheet {name!r} twice")
                parts[name] = targets[rid]
        return parts

    @cached_property
    def styles_path(self) -> str | None:
        """The workbook's styles part, as its relationships name it."""
        folder = posixpath.dirname(self.workbook_path)
        base = posixpath.basename(self.workbook_path)
        rels = self._part(posixpath.join(folder, "_rels", base + ".rels"), _METADATA_LIMIT)
        for kind, target, _ in _relationships(rels or b""):
            if kind.endswith("/styles"):
                return _resolve(folder, target)
        fallback = posixpath.join(folder, "styles.xml")
        return fallback if self._member(fallback) is not None else None

    def check_open_parts(self) -> None:
        """Inflate what calamine reads on opening, with sizes enforced; check the string count."""
        sheets = {part_key(p) for p in self.sheet_parts.values()}
        for name, info in self.members.items():
            if part_key(name) in sheets or not name.lower().endswith((".xml", ".rels")):
                continue
            head = b""
            for piece in member_chunks(self.data, info):
                if not head:
                    head = piece[:4096]
            if _SST_HEAD.search(head) and name.endswith("sharedStrings.xml"):
                _check_string_count(name, head, info.file_size)

    @cached_property
    def padded_styles(self) -> dict[int, NumberFormat]:
        """Cell style index -> its number format, for the formats that pad whole numbers."""
        styles = self._part(self.styles_path, _METADATA_LIMIT) if self.styles_path else None
        if not styles:
            return {}
        padded: dict[int, NumberFormat] = {}
        # The cell formats' own list: a conditional format's (in <dxfs>) may reuse an id.
        listed = _NUMFMTS.search(styles)
        for m in _NUMFMT.finditer(listed.group(1) if listed else b""):
            attrs = _attrs(m.group(1))
            fmt = parse_format(attrs.get("formatCode", ""))
            number = attrs.get("numFmtId", "")
            if fmt is not None and changes_whole_numbers(fmt) and number.isdigit():
                padded[int(number)] = fmt
        if not padded:
            return {}  # the usual case: no cell style can pad a number
        section = _CELLXFS.search(styles)
        if section is None:
            return {}
        out: dict[int, NumberFormat] = {}
        for index, m in enumerate(_XF.finditer(section.group(1))):
            number_format = _attrs(m.group(1)).get("numFmtId", "0")
            if number_format.isdigit() and int(number_format) in padded:
                out[index] = padded[int(number_format)]
        return out

    def survey(
        self, sheet: str, max_rows: int, max_cells: int, *, formats: bool = True
    ) -> SheetSurvey:
        """The sheet's extent and (``formats``) padded number cells; SheetTooLarge past a
        limit."""
        part = self.sheet_parts.get(sheet)
        if part is None:
            # calamine found a sheet this module did not: bound it by every sheet part there is.
            parts = self.sheet_parts.values()
            surveys = [self._scan(sheet, p, max_rows, max_cells, {}) for p in parts]
            rows = max((s.rows for s in surveys), default=0)
            columns = max((s.columns for s in surveys), default=0)
            return SheetSurvey(sheet, rows, columns)
        return self._scan(sheet, part, max_rows, max_cells, self.padded_styles if formats else {})

    def _scan(
        self,
        sheet: str,
        part: str,
        max_rows: int,
        max_cells: int,
        padded: dict[int, NumberFormat],
    ) -> SheetSurvey:
        info = self._member(part)
        if info is None:
            raise DamagedPart(f"the part of sheet {sheet!r} is missing")
        data = self.data
        return _SheetScan(sheet, max_rows, max_cells, padded).run(lambda: member_chunks(data, info))


def _relationships(raw: bytes) -> Iterator[tuple[str, str, str]]:
    """(type, target, id) of each relationship in a .rels part."""
    try:
        root = ElementTree.fromstring(raw) if raw else None
    except ElementTree.ParseError as exc:
        raise DamagedPart(f"a relationships part is not XML ({exc})") from exc
    if root is None:
        return
    for rel in root.iter(f"{{{_REL_NS}}}Relationship"):
        yield rel.get("Type", ""), rel.get("Target", ""), rel.get("Id", "")


def _resolve(folder: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(folder, target))


def _check_string_count(name: str, head: bytes, size: int) -> None:
    m = _SST_HEAD.search(head)
    attrs = _attrs(m.group(1)) if m else {}
    for key in ("uniqueCount", "count"):
        value = attrs.get(key, "0")
        # Each string takes at least "<si><t/></si>": 13 bytes of the part.
        if not value.isdigit() or int(value) * 13 > size + 13:
            raise DamagedPart(f"{name} claims {value} strings, more than it can hold")


class _SheetScan:
    """Passes over a sheet's XML, each in chunks cut after a complete cell or row.

    1. One search per chunk for any cell that is not ``<c r="A123"`` with a single-letter
       column and a row within the limit. None (the usual roster): every cell lies within
       ``max_rows`` x 26, which the caller's limits allow.
    2. Otherwise a pass that still relies on ``r`` being the first attribute: the widest column
       and the highest row, each from one regular expression.
    3. A sheet laid out otherwise is walked tag by tag, placing cells as calamine does.
    """

    def __init__(
        self, name: str, max_rows: int, max_cells: int, padded: dict[int, NumberFormat]
    ) -> None:
        self.name = name
        self.max_rows = max_rows
        self.max_cells = max_cells
        self.padded = padded
        self.overrides: dict[tuple[int, int], str] = {}
        self.prefix = b""  # the root element's namespace prefix with its colon, or nothing
        self._other_prefix: re.Pattern[bytes] | None = None

    def run(self, chunks: Callable[[], Iterator[bytes]]) -> SheetSurvey:
        prefix = self._head(chunks())
        p = re.escape(prefix)
        self.prefix = prefix
        self._other_prefix = re.compile(
            rb"<(?!" + p + rb"(?:c|row)[\s/>])(?:" + _ANY_PREFIX + rb")?(?:c|row)[\s/>]"
        )
        within = less_or_equal(self.max_rows, then='"').encode()
        self.cell_end = b"</" + prefix + b"c>"
        self.row_end = b"</" + prefix + b"row>"
        if self.padded:
            styles = b"|".join(str(i).encode() for i in sorted(self.padded))
            # A number cell in a padded style, through its value: <c r="A2" s="3"><v>3002</v>.
            # The first form is how Excel, Calc and openpyxl lay it out, and quick to look for;
            # a chunk with more padded style attributes than it found gets the general one.
            value = (
                rb"\s*(?:<" + p + rb"f\b[^>]*/>\s*|<" + p + rb"f\b[^>]*>[^<]*</" + p + rb"f>\s*)?"
                rb"<" + p + rb"v>([^<]*)</" + p + rb"v>"
            )
            self.padded_cells = (
                re.compile(
                    rb"<"
                    + p
                    + rb"c r=\"([A-Z]{1,3})(\d+)\"()\ss=\"("
                    + styles
                    + rb")\"([^>]*)>"
                    + value
                ),
                re.compile(
                    rb"<"
                    + p
                    + rb"c r=\"([A-Z]{1,3})(\d+)\"([^>]*?)\ss=\"("
                    + styles
                    + rb")\"([^>]*)>"
                    + value
                ),
            )
            self.padded_styles = [b' s="%d"' % i for i in sorted(self.padded)]
            # Every cell either pattern matches holds one of these: a chunk without any (a
            # template's style no cell uses) is passed over at the speed of a plain search.
            self.padded_any = re.compile(rb's="(?:' + styles + rb')"')
        if self.max_rows * 26 <= self.max_cells:
            odd = re.compile(rb"<" + p + rb"c(?! r=\"[A-Z]" + within + _CANONICAL_TAIL + rb")")
            if not any(
                odd.search(text) or self._foreign(text)
                for text in self._pieces(chunks(), prefix, True)
            ):
                return SheetSurvey(self.name, self.max_rows, 26, self.overrides)
            self.overrides = {}
        return self._wide(chunks, prefix, within)

    def _foreign(self, text: bytes) -> bool:
        """A cell or row tag under another prefix than the sheet's root (calamine reads an
        element by its local name): the quick passes, which look for the root's, would miss it."""
        if not self.prefix:
            # Nothing but tags of the root's default namespace has a colon before a name.
            return text.find(b":") >= 0 and _PREFIXED.search(text) is not None
        return self._other_prefix is not None and self._other_prefix.search(text) is not None

    def _head(self, chunks: Iterator[bytes]) -> bytes:
        head = b""
        for piece in chunks:
            head += piece
            data_at = _SHEETDATA.search(head)
            if data_at is not None:
                # No refusal by <dimension>: it spans formatted empty cells too (a column
                # styled to row 1,048,576), which calamine neither reads nor makes room for.
                root = _ROOT.search(head, 0, data_at.start())
                return (root.group(1) + b":") if root and root.group(1) else b""
            if len(head) > 1 << 24:
                break
        raise DamagedPart(f"sheet {self.name!r} has no cells where expected")

    def _pieces(self, chunks: Iterator[bytes], prefix: bytes, overrides: bool) -> Iterator[bytes]:
        """The XML from <sheetData> on, cut after a row (or a cell) so no cell is split."""
        buffer = b""
        started = False
        for piece in chunks:
            buffer += piece
            if not started:
                data_at = _SHEETDATA.search(buffer)
                if data_at is None:
                    continue
                buffer = buffer[data_at.start() :]
                started = True
            cut = buffer.rfind(self.row_end)
            if cut >= 0:
                cut += len(self.row_end)
            else:
                cut = buffer.rfind(self.cell_end)
                cut = cut + len(self.cell_end) if cut >= 0 else 0
            if cut <= 0 and len(buffer) > 1 << 24:
                cut = buffer.rfind(b">") + 1
            if cut > 0:
                text, buffer = buffer[:cut], buffer[cut:]
                if overrides and self.padded:
                    self._find_overrides(text)
                yield text
        if buffer:
            if overrides and self.padded:
                self._find_overrides(buffer)
            yield buffer

    def _find_overrides(self, text: bytes) -> None:
        # One match per padded cell, each a few operations: 100,000 of them take a fraction
        # of calamine's own read.
        render = {str(i).encode(): fmt.render for i, fmt in self.padded.items()}
        overrides, columns = self.overrides, _COLUMNS
        quick, general = self.padded_cells
        if self.padded_any.search(text) is None:
            return
        matches = quick.findall(text)
        if len(matches) < sum(text.count(style) for style in self.padded_styles):
            matches = general.findall(text)
        for letters, digits, before, style, after, number in matches:
            if (b"t=" in before or b"t=" in after) and _attrs(before + after).get("t") != "n":
                continue  # text, a boolean, an error or a date: not a number to format
            try:
                value = float(number)
            except ValueError:
                continue
            if value - value == 0:  # neither infinite nor NaN
                col = columns.get(letters)
                if col is None:
                    col = columns[letters] = column_number(letters.decode()) - 1
                overrides[int(digits) - 1, col] = render[style](value)

    def _wide(
        self, chunks: Callable[[], Iterator[bytes]], prefix: bytes, within: bytes
    ) -> SheetSurvey:
        p = re.escape(prefix)
        irregular = re.compile(
            rb"<" + p + rb"c(?! r=\"[A-Z]{1,3}\d{1,7}\"" + _CANONICAL_TAIL + rb")"
        )
        # A self-closing cell holds nothing: calamine skips it, and so do the extent's
        # searches (a clerk's formatting to the sheet's last row or column is no cell).
        holds = _holds_value(prefix)
        beyond = re.compile(rb"<" + p + rb"c r=\"[A-Z]{1,3}(?=\d)(?!" + within + rb")" + holds)
        letters = re.compile(rb"<" + p + rb"c r=\"([A-Z]{2,3})(?=\d)" + holds)
        row_r = re.compile(rb"<" + p + rb"row r=\"(\d+)\"")
        wide: set[bytes] = set()
        last_row = 0
        over = False
        for text in self._pieces(chunks(), prefix, True):
            if irregular.search(text) or self._foreign(text):
                self.overrides = {}
                return self._exact(chunks(), prefix)
            rows = row_r.findall(text)
            if rows:
                last_row = max(last_row, *map(int, rows))
            if over:
                continue  # only counting rows now, for the message
            over = beyond.search(text) is not None
            wide.update(letters.findall(text))
        columns = max((column_number(w.decode()) for w in wide), default=26)
        if over:
            raise SheetTooLarge(self.name, max(last_row, self.max_rows + 1), columns, "rows")
        if self.max_rows * columns <= self.max_cells:
            return SheetSurvey(self.name, self.max_rows, columns, self.overrides)
        # The row tags say where the sheet ends; no cell may lie below them.
        below = re.compile(
            rb"<"
            + p
            + rb"c r=\"[A-Z]{1,3}(?=\d)(?!"
            + less_or_equal(max(last_row, 1), then='"').encode()
            + rb")"
            + holds
        )
        # Rows of formatted empty cells count in the row tags, not for calamine: past the
        # limit, the walk of what it reads decides.
        if last_row * columns > self.max_cells or any(
            below.search(text) for text in self._pieces(chunks(), prefix, False)
        ):
            self.overrides = {}
            return self._exact(chunks(), prefix)
        return SheetSurvey(self.name, last_row, columns, self.overrides)

    def _exact(self, chunks: Iterator[bytes], prefix: bytes) -> SheetSurvey:
        # calamine's walk, by local names whatever their prefix: a row's r sets the row and a
        # row's end moves to the next; a cell's r sets its place and a cell without one takes
        # the next column. A self-closing row ends where it starts; a self-closing cell, or
        # one with nothing inside, holds nothing and takes its column without reaching it.
        rows = columns = row_index = col_index = tags = 0
        for text in self._pieces(chunks, prefix, False):
            for m in _TAG.finditer(text):
                closing, kind = m.group(1), m.group(2)
                rest = (_CLOSE_ANY if closing else _TAG_REST).match(text, m.end())
                if rest is None:
                    raise DamagedPart(
                        f"sheet {self.name!r} has a {kind.decode()} tag that XML cannot read"
                    )
                attrs = {} if closing else self._tag_attrs(rest.group(1))
                # a cell closed with nothing inside holds nothing, as a self-closing one
                empty = not closing and (
                    rest.group(2) == b"/"
                    or (kind == b"c" and _EMPTY_BODY.match(text, rest.end()) is not None)
                )
                if kind == b"row":
                    if not closing:
                        r = attrs.get("r")
                        if r is not None:
                            if not r.isdigit() or not 1 <= int(r) <= 1 << 24:
                                raise DamagedPart(f"sheet {self.name!r} has a bad row number")
                            row_index = int(r) - 1
                    if closing or empty:
                        row_index, col_index = row_index + 1, 0
                    continue
                if closing:
                    continue
                ref = attrs.get("r")
                place = parse_ref(ref) if ref is not None else (row_index, col_index)
                if place is None:
                    raise DamagedPart(f"sheet {self.name!r} has a bad cell reference")
                row, col = place
                col_index = col + 1
                if empty:
                    continue
                tags += 1
                rows, columns = max(rows, row + 1), max(columns, col + 1)
                if rows > self.max_rows:
                    raise SheetTooLarge(self.name, rows, columns, "rows")
                if rows * columns > self.max_cells or tags > self.max_cells:
                    raise SheetTooLarge(self.name, rows, columns, "cells")
                if self.padded:
                    self._override(text, rest.end(), row, col, attrs)
        return SheetSurvey(self.name, rows, columns, self.overrides)

    def _tag_attrs(self, raw: bytes) -> dict[str, str]:
        """A tag's attributes by their whole names, as calamine compares them (``x:r`` is not
        ``r``); a name twice is refused: which one a reader takes is a guess."""
        out: dict[str, str] = {}
        for m in _TAG_ATTR.finditer(raw):
            name = m.group(1).decode("utf-8", "replace")
            if name in out:
                raise DamagedPart(f"sheet {self.name!r} has a cell or row with {name} twice")
            value = m.group(2) if m.group(2) is not None else m.group(3)
            out[name] = html.unescape(value.decode("utf-8", "replace"))
        return out

    def _override(self, text: bytes, at: int, row: int, col: int, attrs: dict[str, str]) -> None:
        style = attrs.get("s")
        if style is None or not style.isdigit() or attrs.get("t", "n") != "n":
            return
        fmt = self.padded.get(int(style))
        if fmt is None:
            return
        end = _CELL_END.search(text, at)
        m = _ANY_VALUE.search(text, at, end.start() if end is not None else len(text))
        if m is None:
            return
        try:
            value = float(m.group(1))
        except ValueError:
            return
        if math.isfinite(value):
            self.overrides[row, col] = fmt.render(value)

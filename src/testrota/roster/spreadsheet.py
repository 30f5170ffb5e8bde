"""Open an uploaded file as raw grids of cells, refusing anything that is not a safe spreadsheet.

The file's bytes decide what it is, not its name: HR systems export HTML or text with an
``.xls`` name, and people rename files. Every refusal is a :class:`UserError` with one line
that says what is wrong and what to do; nothing here lets a library traceback through.
"""

from __future__ import annotations

import codecs
import csv
import io
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testrota.errors import UserError
from testrota.policy import ImportPolicy

MB = 1024 * 1024
TEXT_SUFFIXES = frozenset({".csv", ".txt", ".tsv", ""})
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_SAVE_AS = "open it in Excel or WPS and save it as .xlsx"


@dataclass
class RawSheet:
    """One sheet as the library gives it: rows of cells, row 0 is Excel's row 1."""

    name: str
    rows: list[list[Any]]
    merged: list[tuple[tuple[int, int], tuple[int, int]]]  # ((row, col), (row, col)), 0-based


@dataclass
class OpenedFile:
    file_name: str
    data: bytes
    format: str  # xlsx | xlsb | xls | ods | csv
    encoding: str | None = None  # csv only


def load_file(path: Path, limits: ImportPolicy) -> OpenedFile:
    """Read the file's bytes and decide its format; refuse oversize, empty and unsafe files."""
    name = path.name
    if not path.exists():
        raise UserError(f"{path}: file not found")
    if not path.is_file():
        raise UserError(f"{path}: not a file")
    _check_size(name, path.stat().st_size, limits)
    data = path.read_bytes()
    _check_size(name, len(data), limits)  # it may have grown since: the bytes read decide
    return OpenedFile(name, data, sniff_format(name, data, limits))


def _check_size(name: str, size: int, limits: ImportPolicy) -> None:
    if size > limits.max_file_mb * MB:
        raise UserError(
            f"{name}: the file is {size / MB:.1f} MB, over the {limits.max_file_mb:g} MB limit "
            "(import.max_file_mb in policy.yaml); split it or raise the limit"
        )
    if size == 0:
        raise UserError(f"{name}: the file is empty (0 bytes)")


def sniff_format(name: str, data: bytes, limits: ImportPolicy) -> str:
    """``xlsx``, ``xlsb``, ``ods``, ``xls`` or ``csv`` from the bytes, or a UserError."""
    if data[:2] == b"PK":
        return _zip_format(name, data, limits)
    if data[:8] == _OLE_MAGIC:
        return _ole_format(name, data)
    head = data[:4096]
    low = head.lstrip(codecs.BOM_UTF8).lstrip().lower()
    if low.startswith(b"%pdf"):
        raise UserError(f"{name}: this is a PDF, not a spreadsheet; upload the Excel file instead")
    if low.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")):
        raise UserError(
            f"{name}: this is a web page (HTML) saved with a spreadsheet name; {_SAVE_AS}"
        )
    if low.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in head:
        raise UserError(f"{name}: this is an Excel 2003 XML spreadsheet; {_SAVE_AS}")
    if _looks_like_text(head):
        suffix = Path(name).suffix.lower()
        if suffix in TEXT_SUFFIXES:
            return "csv"
        raise UserError(
            f"{name}: not a spreadsheet: the file is plain text; if it is a CSV export, "
            "rename it to .csv"
        )
    raise UserError(
        f"{name}: not a spreadsheet; upload an Excel (.xlsx, .xls), OpenDocument (.ods) or "
        "CSV file"
    )


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" in head:
        return False
    # Control bytes other than tab/CR/LF/FF mean binary; multi-byte text never has them.
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls == 0


def _zip_format(name: str, data: bytes, limits: ImportPolicy) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UserError(
            f"{name}: the workbook is damaged (its zip container cannot be read: {exc}); "
            f"{_SAVE_AS}"
        ) from exc
    # Checked from the zip directory alone, before anything is decompressed.
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_uncompressed_mb * MB:
        raise UserError(
            f"{name}: refused: the workbook would unpack to {unpacked / MB:,.0f} MB, over the "
            f"{limits.max_uncompressed_mb:g} MB limit (import.max_uncompressed_mb); a real "
            "roster is far smaller, so this file is damaged or malicious"
        )
    names = {info.filename for info in infos}
    if any(info.flag_bits & 0x1 for info in infos):
        raise UserError(f"{name}: the file is password-protected; remove the password and save")
    if "xl/workbook.xml" in names or any(n.endswith("/workbook.xml") for n in names):
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "mimetype" in names:
        if archive.read("mimetype").strip() == _ODS_MIMETYPE:
            return "ods"
        raise UserError(
            f"{name}: an OpenDocument file but not a spreadsheet; upload an .ods, .xlsx or .csv"
        )
    if "word/document.xml" in names:
        raise UserError(f"{name}: this is a Word document, not a spreadsheet")
    if "ppt/presentation.xml" in names:
        raise UserError(f"{name}: this is a PowerPoint file, not a spreadsheet")
    raise UserError(f"{name}: a zip archive, not a spreadsheet; unpack it and upload the roster")


def _ole_format(name: str, data: bytes) -> str:
    try:
        streams = ole_stream_names(data)
    except ValueError as exc:
        raise UserError(f"{name}: the workbook is damaged ({exc}); {_SAVE_AS}") from exc
    if {"EncryptedPackage", "EncryptionInfo"} & streams:
        # Excel keeps a password-protected .xlsx inside an OLE container.
        raise UserError(
            f"{name}: the workbook is password-protected; open it, remove the password "
            "(File > Info > Protect Workbook) and save it again"
        )
    if "Workbook" in streams or "Book" in streams:
        return "xls"
    if "WordDocument" in streams:
        raise UserError(f"{name}: this is a Word document, not a spreadsheet")
    if "PowerPoint Document" in streams:
        raise UserError(f"{name}: this is a PowerPoint file, not a spreadsheet")
    raise UserError(f"{name}: an Office file that holds no workbook; {_SAVE_AS}")


_FREE, _END = 0xFFFFFFFF, 0xFFFFFFFE


def ole_stream_names(data: bytes) -> set[str]:
    """Names of the entries in an OLE2 (compound file) directory, e.g. ``{"Workbook"}``.

    Enough of [MS-CFB] to tell a legacy workbook from an encrypted .xlsx or a Word file
    without a dependency; raises ValueError on a damaged container.
    """
    if len(data) < 512 or data[:8] != _OLE_MAGIC:
        raise ValueError("not an OLE2 compound file")
    shift = struct.unpack_from("<H", data, 30)[0]
    if shift not in (9, 12):
        raise ValueError("bad sector size")
    size = 1 << shift
    n_fat, first_dir = struct.unpack_from("<II", data, 44)
    first_difat, n_difat = struct.unpack_from("<II", data, 68)
    # The header fills sector -1: 512 bytes, padded to 4096 in version 4 files.
    n_sectors = (len(data) - 1) // size

    def sector(i: int) -> bytes:
        if i >= n_sectors:
            raise ValueError("sector out of range")
        return data[(i + 1) * size : (i + 2) * size]

    fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s != _FREE]
    next_difat, hops = first_difat, 0
    while next_difat not in (_FREE, _END) and hops < n_difat + 1:
        entries = struct.unpack(f"<{size // 4}I", sector(next_difat))
        fat_sectors.extend(s for s in entries[:-1] if s != _FREE)
        next_difat, hops = entries[-1], hops + 1
    if len(fat_sectors) < n_fat or n_fat == 0:
        raise ValueError("the allocation table is incomplete")
    fat: list[int] = []
    for s in fat_sectors[:n_fat]:
        fat.extend(struct.unpack(f"<{size // 4}I", sector(s)))

    names: set[str] = set()
    current, seen = first_dir, set()
    while current not in (_END, _FREE):
        if current in seen or current >= len(fat):
            raise ValueError("the directory chain is broken")
        seen.add(current)
        block = sector(current)
        for off in range(0, size, 128):
            length = struct.unpack_from("<H", block, off + 64)[0]
            kind = block[off + 66]
            if kind in (1, 2, 5) and 2 <= length <= 64:
                names.add(block[off : off + length - 2].decode("utf-16-le", errors="replace"))
        current = fat[current]
    return names


# --- workbooks through calamine -----------------------------------------------------------


def _calamine_failure(name: str, exc: BaseException) -> UserError:
    from python_calamine import PasswordError

    if isinstance(exc, PasswordError):
        return UserError(
            f"{name}: the workbook is password-protected; open it, remove the password and "
            "save it again"
        )
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UserError(f"{name}: the workbook is damaged and cannot be read ({detail}); {_SAVE_AS}")


def _guarded(name: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # a parser panic in Rust arrives as a BaseException
        raise _calamine_failure(name, exc) from exc


def _open_book(opened: OpenedFile) -> Any:
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(opened.data))
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException:
        pass
    # Opening from memory tries every format and reports only "Cannot detect file format";
    # opened once more under the right extension, calamine says what is really wrong
    # (a password, a damaged record).
    with tempfile.TemporaryDirectory(prefix="testrota-") as folder:
        copy = Path(folder) / f"upload.{opened.format}"
        copy.write_bytes(opened.data)
        book = _guarded(opened.file_name, CalamineWorkbook.from_path, copy)
        book.close()
    raise UserError(f"{opened.file_name}: the workbook is damaged and cannot be read; {_SAVE_AS}")


def workbook_sheet_names(opened: OpenedFile) -> tuple[Any, list[tuple[str, bool, str]]]:
    """The open calamine workbook and ``(name, hidden, kind)`` for each of its sheets."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    book = _open_book(opened)
    sheets = []
    for meta in _guarded(opened.file_name, lambda: book.sheets_metadata):
        kind = "worksheet" if meta.typ == SheetTypeEnum.WorkSheet else str(meta.typ.name).lower()
        sheets.append((meta.name, meta.visible != SheetVisibleEnum.Visible, kind))
    return book, sheets


def read_calamine_sheet(opened: OpenedFile, book: Any, name: str) -> RawSheet:
    sheet = _guarded(opened.file_name, book.get_sheet_by_name, name)
    rows = _guarded(opened.file_name, sheet.to_python, skip_empty_area=False)
    merged = _guarded(opened.file_name, lambda: sheet.merged_cell_ranges) or []
    return RawSheet(name=name, rows=rows, merged=list(merged))


# --- delimited text -------------------------------------------------------------------------

_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936"}
_BIG5_FAMILY = {"big5", "big5hkscs", "cp950"}


def decode_text(name: str, data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read with.

    UTF-8 (with or without a byte-order mark) and UTF-16 with a mark are certain; anything
    else is detected, with the GB family read as GB18030 (a superset of what Excel in China
    writes) and Big5 as cp950.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _strict(name, data[3:], "utf-8", "utf-8-sig"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(name, data, "utf-16", "utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    encoding = (best.encoding if best is not None else "gb18030").lower().replace("-", "")
    if encoding.replace("_", "") in _GB_FAMILY:
        encoding = "gb18030"
    elif encoding.replace("_", "") in _BIG5_FAMILY:
        encoding = "cp950"
    return _strict(name, data, encoding, encoding), encoding


def _strict(name: str, data: bytes, codec: str, label: str) -> str:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError) as exc:
        raise UserError(
            f"{name}: cannot read the text as {label}; save it from Excel as "
            "'CSV UTF-8 (Comma delimited)'"
        ) from exc


def _delimiter(text: str) -> str:
    lines = [line for line in text[:65536].splitlines()[:40] if line.strip()]
    best, best_score = ",", 0
    for delim in (",", "\t", ";", "|"):
        counts = sorted(line.count(delim) for line in lines)
        # The median line's count: a title row or a footer line does not sway it.
        score = counts[len(counts) // 2] if counts else 0
        if score > best_score:
            best, best_score = delim, score
    return best


def _unguard(cell: str) -> str:
    # Excel's ="00123" trick keeps leading zeros in a CSV; the person sees 00123.
    if len(cell) >= 3 and cell[0] == "=" and cell[1] == '"' and cell[-1] == '"':
        return cell[2:-1].replace('""', '"')
    return cell


def read_csv_sheet(opened: OpenedFile) -> RawSheet:
    text, encoding = decode_text(opened.file_name, opened.data)
    opened.encoding = encoding
    delimiter = _delimiter(text)
    lines = io.StringIO(text, newline="")
    first_line = text[:8].partition("\n")[0].strip()
    if first_line.lower().startswith("sep=") and len(first_line) == 5:
        # Excel's hint line "sep=;" names the delimiter; Excel does not show it as a row.
        delimiter = first_line[4]
        lines.readline()
    try:
        rows: list[list[Any]] = []
        for row in csv.reader(lines, delimiter=delimiter):
            rows.append([_unguard(c) if c[:2] == '="' else c for c in row])
    except csv.Error as exc:
        raise UserError(f"{opened.file_name}: the CSV file is damaged ({exc})") from exc
    width = max((len(r) for r in rows), default=0)
    for row in rows:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
    return RawSheet(name=opened.file_name, rows=rows, merged=[])

"""Open an uploaded file as raw grids of cells, refusing anything that is not a safe spreadsheet.

The file's bytes decide what it is, not its name: HR systems export HTML or text with an
``.xls`` name, and people rename files. Every refusal is a :class:`UserError` with one line
that says what is wrong and what to do; nothing here lets a library traceback through.

Before calamine parses a workbook, its container is checked with every walk bounded
(:mod:`~testrota.roster.ole2`, :mod:`~testrota.roster.zip_parts`), a legacy workbook's record
stream too (:mod:`~testrota.roster.biff`), and each sheet is surveyed for its extent and its
padded number formats (:mod:`~testrota.roster.xlsx_parts`, :mod:`~testrota.roster.ods_parts`):
a sheet over ``import.max_rows`` or ``import.max_cells`` is refused before it is read whole, and
a number formatted ``000000`` comes out as the ``003002`` the clerk sees (read in the bounded
child of :mod:`~testrota.roster.isolation`, an .xlsx sheet without such formats is surveyed
only when the read fails). calamine reads a legacy workbook from a container rebuilt here,
never from the uploaded one.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testrota.errors import Phrase, UserError
from testrota.policy import ImportPolicy
from testrota.roster.biff import EncryptedWorkbook, read_biff
from testrota.roster.ods_parts import OdsPackage
from testrota.roster.ole2 import read_compound, write_compound
from testrota.roster.survey import SheetSurvey, SheetTooLarge
from testrota.roster.xlsx_parts import XlsxPackage
from testrota.roster.zip_parts import check_members, member_chunks

MB = 1024 * 1024
TEXT_SUFFIXES = frozenset({".csv", ".txt", ".tsv", ""})
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


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
    parser_data: bytes = b""  # what calamine reads: the file, or for .xls a rebuilt container
    xlsx: XlsxPackage | None = None  # .xlsx: surveys its sheets when they are read
    surveys: dict[str, SheetSurvey] = field(default_factory=dict)  # .xls/.ods: every sheet


def load_file(path: Path, limits: ImportPolicy) -> OpenedFile:
    """Read the file's bytes and decide its format; refuse oversize, empty and unsafe files.

    A workbook's container is checked here, before any parser sees it.
    """
    name = path.name
    if not path.exists():
        raise UserError("{path}: file not found", path=str(path))
    if not path.is_file():
        raise UserError("{path}: not a file", path=str(path))
    _check_size(name, path.stat().st_size, limits)
    data = path.read_bytes()
    _check_size(name, len(data), limits)  # it may have grown since: the bytes read decide
    opened = OpenedFile(name, data, sniff_format(name, data, limits))
    if opened.format != "csv":
        _check_container(opened, limits)
    return opened


def _damaged(name: str, detail: object) -> UserError:
    return UserError(
        "{name}: the workbook is damaged ({detail}); open it in Excel or WPS and save it as .xlsx",
        name=name,
        detail=str(detail),
    )


def _password(name: str) -> UserError:
    return UserError(
        "{name}: the workbook is password-protected; open it, remove the password and "
        "save it again",
        name=name,
    )


def _check_container(opened: OpenedFile, limits: ImportPolicy) -> None:
    """Check the container's structure and survey what calamine parses on opening."""
    name, data = opened.file_name, opened.data
    opened.parser_data = data
    try:
        if opened.format == "xls":
            compound = read_compound(data)
            stream_name = compound.find("Workbook", "Book") or "Workbook"
            book = read_biff(compound.stream(stream_name))
            opened.parser_data = write_compound({stream_name: book.stream})
            opened.surveys = {s.name: s for s in book.sheets}
        else:
            archive = zipfile.ZipFile(io.BytesIO(data))
            if opened.format == "xlsx":
                opened.xlsx = XlsxPackage.open(data, archive)
            elif opened.format == "ods":
                opened.surveys = OdsPackage.open(data, archive, limits.max_cells).surveys
            else:  # .xlsb: binary parts; their sizes and checksums at least
                for info in check_members(archive).values():
                    for _ in member_chunks(data, info):
                        pass
    except EncryptedWorkbook as exc:
        raise _password(name) from exc
    except SheetTooLarge as exc:
        raise too_large(name, exc, limits) from exc
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        raise _damaged(name, exc) from exc
    # calamine parses every sheet of an .xls or .ods when it opens one.
    for survey in opened.surveys.values():
        if survey.rows * survey.columns > limits.max_cells:
            raise too_large(
                name, SheetTooLarge(survey.name, survey.rows, survey.columns, "cells"), limits
            )


def too_large(file_name: str, exc: SheetTooLarge, limits: ImportPolicy) -> UserError:
    """The one-line refusal of a sheet over ``import.max_rows`` or ``import.max_cells``."""
    where = Phrase("the file") if exc.name is None else Phrase("sheet {sheet!r}", sheet=exc.name)
    if exc.what == "rows":
        return UserError(
            "{file}: {where} has {rows:,} rows, over the {limit:,} limit "
            "(import.max_rows in policy.yaml); split it into smaller files or raise the limit",
            file=file_name,
            where=where,
            rows=exc.rows,
            limit=limits.max_rows,
        )
    return UserError(
        "{file}: {where} spans {rows:,} rows x {columns:,} columns "
        "({cells:,} cells), over the {limit:,} limit "
        "(import.max_cells in policy.yaml); delete stray cells far below or to the right of "
        "the table, or raise the limit",
        file=file_name,
        where=where,
        rows=exc.rows,
        columns=exc.columns,
        cells=exc.rows * exc.columns,
        limit=limits.max_cells,
    )


def _check_size(name: str, size: int, limits: ImportPolicy) -> None:
    if size > limits.max_file_mb * MB:
        raise UserError(
            "{name}: the file is {mb:.1f} MB, over the {limit:g} MB limit "
            "(import.max_file_mb in policy.yaml); split it or raise the limit",
            name=name,
            mb=size / MB,
            limit=limits.max_file_mb,
        )
    if size == 0:
        raise UserError("{name}: the file is empty (0 bytes)", name=name)


def sniff_format(name: str, data: bytes, limits: ImportPolicy) -> str:
    """``xlsx``, ``xlsb``, ``ods``, ``xls`` or ``csv`` from the bytes, or a UserError."""
    if data[:2] == b"PK":
        return _zip_format(name, data, limits)
    if data[:8] == _OLE_MAGIC:
        return _ole_format(name, data)
    head = data[:4096]
    low = head.lstrip(codecs.BOM_UTF8).lstrip().lower()
    if low.startswith(b"%pdf"):
        raise UserError(
            "{name}: this is a PDF, not a spreadsheet; upload the Excel file instead", name=name
        )
    if low.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")):
        raise UserError(
            "{name}: this is a web page (HTML) saved with a spreadsheet name; "
            "open it in Excel or WPS and save it as .xlsx",
            name=name,
        )
    if low.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in head:
        raise UserError(
            "{name}: this is an Excel 2003 XML spreadsheet; "
            "open it in Excel or WPS and save it as .xlsx",
            name=name,
        )
    if _looks_like_text(head):
        suffix = Path(name).suffix.lower()
        if suffix in TEXT_SUFFIXES:
            return "csv"
        raise UserError(
            "{name}: not a spreadsheet: the file is plain text; if it is a CSV export, "
            "rename it to .csv",
            name=name,
        )
    raise UserError(
        "{name}: not a spreadsheet; upload an Excel (.xlsx, .xls), OpenDocument (.ods) or CSV file",
        name=name,
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
            "{name}: the workbook is damaged (its zip container cannot be read: {detail}); "
            "open it in Excel or WPS and save it as .xlsx",
            name=name,
            detail=str(exc),
        ) from exc
    # Checked from the zip directory alone, before anything is decompressed.
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_uncompressed_mb * MB:
        raise UserError(
            "{name}: refused: the workbook would unpack to {mb:,.0f} MB, over the "
            "{limit:g} MB limit (import.max_uncompressed_mb); a real "
            "roster is far smaller, so this file is damaged or malicious",
            name=name,
            mb=unpacked / MB,
            limit=limits.max_uncompressed_mb,
        )
    names = {info.filename for info in infos}
    if any(info.flag_bits & 0x1 for info in infos):
        raise UserError(
            "{name}: the file is password-protected; remove the password and save", name=name
        )
    if "xl/workbook.xml" in names or any(n.endswith("/workbook.xml") for n in names):
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "mimetype" in names:
        try:
            mimetype = archive.read("mimetype")
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise _damaged(name, exc) from exc
        if mimetype.strip() == _ODS_MIMETYPE:
            return "ods"
        raise UserError(
            "{name}: an OpenDocument file but not a spreadsheet; upload an .ods, .xlsx or .csv",
            name=name,
        )
    if "word/document.xml" in names:
        raise UserError("{name}: this is a Word document, not a spreadsheet", name=name)
    if "ppt/presentation.xml" in names:
        raise UserError("{name}: this is a PowerPoint file, not a spreadsheet", name=name)
    raise UserError(
        "{name}: a zip archive, not a spreadsheet; unpack it and upload the roster", name=name
    )


def _ole_format(name: str, data: bytes) -> str:
    try:
        streams = ole_stream_names(data)
    except ValueError as exc:
        raise _damaged(name, exc) from exc
    if {"EncryptedPackage", "EncryptionInfo"} & streams:
        # Excel keeps a password-protected .xlsx inside an OLE container.
        raise UserError(
            "{name}: the workbook is password-protected; open it, remove the password "
            "(File > Info > Protect Workbook) and save it again",
            name=name,
        )
    if "Workbook" in streams or "Book" in streams:
        return "xls"
    if "WordDocument" in streams:
        raise UserError("{name}: this is a Word document, not a spreadsheet", name=name)
    if "PowerPoint Document" in streams:
        raise UserError("{name}: this is a PowerPoint file, not a spreadsheet", name=name)
    raise UserError(
        "{name}: an Office file that holds no workbook; "
        "open it in Excel or WPS and save it as .xlsx",
        name=name,
    )


def ole_stream_names(data: bytes) -> set[str]:
    """Names of the entries in an OLE2 (compound file) directory, e.g. ``{"Workbook"}``.

    Raises ValueError on a damaged container (every chain is checked; see :mod:`ole2`).
    """
    return read_compound(data).names


# --- workbooks through calamine -----------------------------------------------------------


def _calamine_failure(name: str, exc: BaseException) -> UserError:
    from python_calamine import PasswordError

    if isinstance(exc, PasswordError):
        return _password(name)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UserError(
        "{name}: the workbook is damaged and cannot be read ({detail}); "
        "open it in Excel or WPS and save it as .xlsx",
        name=name,
        detail=detail,
    )


def _guarded(name: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # a parser panic in Rust arrives as a BaseException
        raise _calamine_failure(name, exc) from exc


def _open_book(opened: OpenedFile) -> Any:
    from python_calamine import CalamineWorkbook

    data = opened.parser_data or opened.data
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException:
        pass
    # Opening from memory tries every format and reports only "Cannot detect file format";
    # opened once more under the right extension, calamine says what is really wrong
    # (a password, a damaged record).
    with tempfile.TemporaryDirectory(prefix="testrota-") as folder:
        copy = Path(folder) / f"upload.{opened.format}"
        copy.write_bytes(data)
        book = _guarded(opened.file_name, CalamineWorkbook.from_path, copy)
        book.close()
    raise UserError(
        "{name}: the workbook is damaged and cannot be read; "
        "open it in Excel or WPS and save it as .xlsx",
        name=opened.file_name,
    )


def workbook_sheet_names(opened: OpenedFile) -> tuple[Any, list[tuple[str, bool, str]]]:
    """The open calamine workbook and ``(name, hidden, kind)`` for each of its sheets."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    book = _open_book(opened)
    sheets = []
    for meta in _guarded(opened.file_name, lambda: book.sheets_metadata):
        kind = "worksheet" if meta.typ == SheetTypeEnum.WorkSheet else str(meta.typ.name).lower()
        sheets.append((meta.name, meta.visible != SheetVisibleEnum.Visible, kind))
    return book, sheets


def read_calamine_sheet(
    opened: OpenedFile, book: Any, name: str, limits: ImportPolicy, *, bounded: bool = False
) -> RawSheet:
    """One sheet's cells as the clerk sees them; refused first if it is over the limits.

    ``bounded``: this process is a child capped in memory and time, so an .xlsx sheet's
    survey (a tenth of a big sheet's read) runs only where it finds what calamine cannot (the
    digits a padding number format shows); calamine's own extent is checked after its parse,
    and a read that ends the child is surveyed then (:func:`survey_failed_read`)."""
    file_name = opened.file_name
    survey = opened.surveys.get(name)
    if survey is None and opened.xlsx is not None and (not bounded or opened.xlsx.padded_styles):
        survey = _survey_xlsx(opened, opened.xlsx, name, limits)
    if survey is not None:
        _check_extent(file_name, name, survey.rows, survey.columns, limits)
    sheet = _guarded(file_name, book.get_sheet_by_name, name)
    # calamine's own extent, before a Python object is made for any cell: the check for
    # formats without a survey (.xlsb), and a second one for the others.
    end = _guarded(file_name, lambda: sheet.end)
    if end is not None:
        _check_extent(file_name, name, end[0] + 1, end[1] + 1, limits)
    rows = _guarded(file_name, sheet.to_python, skip_empty_area=False)
    if survey is not None:
        _show_formats(rows, survey)
    merged = _guarded(file_name, lambda: sheet.merged_cell_ranges) or []
    return RawSheet(name=name, rows=rows, merged=list(merged))


def _survey_xlsx(
    opened: OpenedFile, xlsx: XlsxPackage, name: str, limits: ImportPolicy, formats: bool = True
) -> SheetSurvey:
    try:
        return xlsx.survey(name, limits.max_rows, limits.max_cells, formats=formats)
    except SheetTooLarge as exc:
        raise too_large(opened.file_name, exc, limits) from exc
    except (ValueError, zipfile.BadZipFile) as exc:
        raise _damaged(opened.file_name, exc) from exc


def survey_failed_read(opened: OpenedFile, wanted: str | None, limits: ImportPolicy) -> None:
    """After a bounded read ended at its limits: the sheet over ``import.max_rows`` or
    ``import.max_cells`` (or damaged) named, as the survey first would have, when the survey
    finds one (the sheet named, else every sheet of an .xlsx). The extent only: the caller
    runs it bounded too, since the file is one that exhausted a child already."""
    if opened.xlsx is None:
        return
    try:
        names = [wanted] if wanted is not None else list(opened.xlsx.sheet_parts)
    except (ValueError, zipfile.BadZipFile):
        return
    for name in names:
        if name in opened.xlsx.sheet_parts:
            _survey_xlsx(opened, opened.xlsx, name, limits, formats=False)


def _check_extent(file_name: str, name: str, rows: int, columns: int, limits: ImportPolicy) -> None:
    if rows > limits.max_rows:
        raise too_large(file_name, SheetTooLarge(name, rows, columns, "rows"), limits)
    if rows * columns > limits.max_cells:
        raise too_large(file_name, SheetTooLarge(name, rows, columns, "cells"), limits)


def _show_formats(rows: list[list[Any]], survey: SheetSurvey) -> None:
    """Put the text the clerk sees into the number cells whose format pads or decorates them."""
    for (r, c), text in survey.overrides.items():
        if r < len(rows) and c < len(rows[r]) and _is_number(rows[r][c]):
            rows[r][c] = text
    for r0, c0, n_rows, n_cols, text in survey.spans:
        for r in range(r0, min(r0 + n_rows, len(rows))):
            row = rows[r]
            for c in range(c0, min(c0 + n_cols, len(row))):
                if _is_number(row[c]):
                    row[c] = text


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


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
            "{name}: cannot read the text as {label}; save it from Excel as "
            "'CSV UTF-8 (Comma delimited)'",
            name=name,
            label=label,
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


def read_csv_sheet(opened: OpenedFile, limits: ImportPolicy) -> RawSheet:
    """The rows of a delimited text file; refused past ``import.max_rows``/``max_cells``."""
    text, encoding = decode_text(opened.file_name, opened.data)
    opened.encoding = encoding
    delimiter = _delimiter(text)
    lines = io.StringIO(text, newline="")
    first_line = text[:8].partition("\n")[0].strip()
    if first_line.lower().startswith("sep=") and len(first_line) == 5:
        # Excel's hint line "sep=;" names the delimiter; Excel does not show it as a row.
        delimiter = first_line[4]
        lines.readline()
    rows: list[list[Any]] = []
    width = 0
    try:
        reader = csv.reader(lines, delimiter=delimiter)
        for row in reader:
            rows.append([_unguard(c) if c[:2] == '="' else c for c in row])
            if len(row) > width:
                width = len(row)
            if len(rows) > limits.max_rows or len(rows) * width > limits.max_cells:
                # Stop keeping rows; count the rest for the message.
                total = len(rows) + sum(1 for _ in reader)
                what = "rows" if total > limits.max_rows else "cells"
                raise too_large(opened.file_name, SheetTooLarge(None, total, width, what), limits)
    except csv.Error as exc:
        raise UserError(
            "{name}: the CSV file is damaged ({detail})", name=opened.file_name, detail=str(exc)
        ) from exc
    for row in rows:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
    return RawSheet(name=opened.file_name, rows=rows, merged=[])

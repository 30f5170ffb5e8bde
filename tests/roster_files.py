"""Writers for the roster files the tests read: every format, every way a file goes wrong.

Each writer takes plain rows (lists of cell values) so a test shows exactly what is in the file.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import xlwt

Rows = Sequence[Sequence[Any]]

HEADER = ["序号", "工号", "姓名", "部门", "网格", "岗位", "手机号", "人员类别", "共同居住职工工号"]
TITLE = "XX钢铁厂职工花名册（2022年5月）"


def roster_rows(n: int = 3, start: int = 10001) -> list[list[Any]]:
    """``n`` ordinary people under :data:`HEADER`, employee numbers as numbers."""
    return [
        [i + 1, start + i, f"张{i + 1}", "炼钢厂", "甲班", "炼钢工", 13812345600 + i, "职工", ""]
        for i in range(n)
    ]


def write_xlsx(
    path: Path,
    sheets: Mapping[str, Rows],
    *,
    merges: Mapping[str, Sequence[str]] | None = None,
    hidden: Sequence[str] = (),
    text_cells: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """An .xlsx with one sheet per entry; ``text_cells`` forces cells (e.g. "A3") to text."""
    book = openpyxl.Workbook()
    assert book.active is not None
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None and value != "":
                    ws.cell(row=r, column=c, value=value)
        for ref in (merges or {}).get(name, ()):
            ws.merge_cells(ref)
        for ref in (text_cells or {}).get(name, ()):
            ws[ref].data_type = "s"
        if name in hidden:
            ws.sheet_state = "hidden"
    book.save(path)
    return path


def write_xls(path: Path, sheets: Mapping[str, Rows]) -> Path:
    """A legacy BIFF8 .xls through xlwt (ints, floats, text and dates)."""
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for name, rows in sheets.items():
        ws = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, date | datetime):
                    ws.write(r, c, value, date_style)
                else:
                    ws.write(r, c, value)
    book.save(str(path))
    return path


def write_ods(path: Path, sheets: Mapping[str, Rows]) -> Path:
    """An OpenDocument spreadsheet through odfpy; numbers are stored as numbers."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            tr = TableRow()
            for value in row:
                if value is None or value == "":
                    cell = TableCell()
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    cell = TableCell(valuetype="float", value=value)
                    cell.addElement(P(text=str(value)))
                else:
                    cell = TableCell(valuetype="string")
                    cell.addElement(P(text=str(value)))
                tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def write_csv(
    path: Path, rows: Rows, encoding: str = "utf-8", *, bom: bool = False, delimiter: str = ","
) -> Path:
    lines = [delimiter.join(_csv_cell(v, delimiter) for v in row) for row in rows]
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


def _csv_cell(value: Any, delimiter: str) -> str:
    text = "" if value is None else str(value)
    if delimiter in text or '"' in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


# --- containers that are not what they claim ------------------------------------------------

_END, _FREE, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def write_ole(path: Path, streams: Mapping[str, bytes]) -> Path:
    """A minimal OLE2 compound file (version 3) holding ``streams``.

    Excel keeps a password-protected .xlsx in such a file (streams EncryptionInfo and
    EncryptedPackage); a .doc has WordDocument; a legacy .xls has Workbook.
    """
    sector = 512
    names = list(streams)
    # Streams of 4096 bytes or more live in ordinary sectors, so no mini stream is needed.
    payloads = [streams[n].ljust(4096, b"\0") for n in names]
    counts = [(len(p) + sector - 1) // sector for p in payloads]
    n_dir = (len(names) + 1 + 3) // 4
    total = 1 + n_dir + sum(counts)
    n_fat = (total + 127) // 128
    fat = [_FATSECT] * n_fat
    dir_start = len(fat)
    fat += [dir_start + i + 1 for i in range(n_dir - 1)] + [_END]
    starts = []
    for count in counts:
        first = len(fat)
        starts.append(first)
        fat += [first + i + 1 for i in range(count - 1)] + [_END]
    fat += [_FREE] * (n_fat * 128 - len(fat))

    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, n_fat, dir_start, 0, 4096, _END, 0, _END, 0)
    difat = list(range(n_fat)) + [_FREE] * (109 - n_fat)
    struct.pack_into("<109I", header, 76, *difat)

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        out = bytearray(128)
        out[0 : len(raw)] = raw
        struct.pack_into("<HBB", out, 64, len(raw), kind, 1)
        struct.pack_into("<III", out, 68, _NOSTREAM, right, child)
        struct.pack_into("<II", out, 116, start, size)
        return bytes(out)

    entries = [entry("Root Entry", 5, 1 if names else _NOSTREAM, _NOSTREAM, _END, 0)]
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else _NOSTREAM
        entries.append(entry(name, 2, _NOSTREAM, right, starts[i], len(payloads[i])))
    while len(entries) % 4:
        blank = bytearray(128)
        struct.pack_into("<III", blank, 68, _NOSTREAM, _NOSTREAM, _NOSTREAM)
        entries.append(bytes(blank))

    body = io.BytesIO()
    body.write(bytes(header))
    body.write(struct.pack(f"<{len(fat)}I", *fat))
    body.write(b"".join(entries))
    for payload, count in zip(payloads, counts, strict=True):
        body.write(payload.ljust(count * sector, b"\0"))
    path.write_bytes(body.getvalue())
    return path


def write_encrypted_xlsx(path: Path) -> Path:
    """What Excel writes for a workbook with a password to open (the content is opaque)."""
    return write_ole(
        path,
        {"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00", "EncryptedPackage": b"\x99" * 5000},
    )


def write_zip_bomb(path: Path, unpacked_mb: int) -> Path:
    """An .xlsx-shaped zip whose sheet unpacks to ``unpacked_mb`` MB of spaces (tiny packed)."""
    chunk = b" " * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for _ in range(unpacked_mb):
                sheet.write(chunk)
    return path


def write_truncated(path: Path, source: Path, keep: float = 0.5) -> Path:
    """The first part of a real file, as a broken upload leaves it."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_bad_xml_xlsx(path: Path, source: Path) -> Path:
    """A valid zip whose worksheet XML is garbage: a workbook damaged inside."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = b"<worksheet><sheetData><row r='1'><c r='A1' t='s'><v>9</v></c"
            dst.writestr(info, data)
    return path


def write_password_xls(path: Path, rows: Rows) -> Path:
    """A real BIFF8 workbook carrying a FILEPASS record, as Excel saves one with a password.

    The cells stay readable bytes (no real RC4 here), but any reader must stop at FILEPASS.
    """
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("Sheet1")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            ws.write(r, c, value)
    for r in range(len(rows), len(rows) + 300):  # a stream of 4096+ bytes needs no mini stream
        ws.write(r, 20, "")
    biff = book.get_biff_data()
    records, pos = [], 0
    while pos < len(biff):
        kind, length = struct.unpack_from("<HH", biff, pos)
        records.append((kind, pos, length))
        pos += 4 + length
    body = struct.pack("<HHH", 1, 1, 1) + b"\x11" * 48  # RC4, version 1.1, salt and verifier
    filepass = struct.pack("<HH", 0x002F, len(body)) + body
    bof_end = records[0][1] + 4 + records[0][2]
    stream = bytearray(biff[:bof_end] + filepass + biff[bof_end:])
    pos = 0
    while pos < len(stream):  # BOUNDSHEET records point at their sheets: shift them
        kind, length = struct.unpack_from("<HH", stream, pos)
        if kind == 0x0085:
            offset = struct.unpack_from("<I", stream, pos + 4)[0]
            struct.pack_into("<I", stream, pos + 4, offset + len(filepass))
        pos += 4 + length
    return write_ole(path, {"Workbook": bytes(stream)})

"""Crafted and damaged workbooks: the attacks on the readers, built byte by byte.

Each builder returns the bytes of a small file whose structure points a naive reader into a
loop or an enormous allocation. :func:`corpus` derives truncated, bit-flipped and looping
variants from real small workbooks for the fuzz test.
"""

from __future__ import annotations

import io
import random
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import xlwt

from tests.roster_files import write_ole

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
END, FREE, FATSECT, DIFSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFC, 0xFFFFFFFF
OFFICE = Path(__file__).resolve().parent / "data" / "office"


def _header(
    *,
    n_fat: int,
    first_dir: int,
    first_mini: int = END,
    n_mini: int = 0,
    first_difat: int = END,
    n_difat: int = 0,
    difat: list[int] | None = None,
) -> bytes:
    header = bytearray(512)
    header[0:8] = MAGIC
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into(
        "<IIIIIIIII",
        header,
        40,
        0,
        n_fat,
        first_dir,
        0,
        4096,
        first_mini,
        n_mini,
        first_difat,
        n_difat,
    )
    listed = (difat or [0]) + [FREE] * (109 - len(difat or [0]))
    struct.pack_into("<109I", header, 76, *listed)
    return bytes(header)


def _entry(name: str, kind: int, start: int, size: int, child: int = NOSTREAM) -> bytes:
    raw = name.encode("utf-16-le") + b"\0\0"
    out = bytearray(128)
    out[0 : len(raw)] = raw
    struct.pack_into("<HBB", out, 64, len(raw), kind, 1)
    struct.pack_into("<III", out, 68, NOSTREAM, NOSTREAM, child)
    struct.pack_into("<II", out, 116, start, size)
    return bytes(out)


def _directory(*entries: bytes) -> bytes:
    blank = bytearray(128)
    struct.pack_into("<III", blank, 68, NOSTREAM, NOSTREAM, NOSTREAM)
    padded = list(entries) + [bytes(blank)] * (-len(entries) % 4)
    return b"".join(padded)


def _fat(entries: list[int]) -> bytes:
    return struct.pack("<128I", *(entries + [FREE] * (128 - len(entries))))


def looping_difat_xls() -> bytes:
    """1.5 KB: the FAT sector is also the DIFAT sector, and its last entry points at itself.

    A reader that follows the DIFAT chain without remembering where it has been appends 127
    sector numbers per turn, forever.
    """
    fat = [FATSECT, END] + [FREE] * 125 + [0]  # entry 127 = "next DIFAT sector": sector 0 again
    directory = _directory(_entry("Root Entry", 5, END, 0, child=1), _entry("Workbook", 2, END, 0))
    header = _header(n_fat=1, first_dir=1, first_difat=0, n_difat=1)
    return header + struct.pack("<128I", *fat) + directory


def looping_stream_xls() -> bytes:
    """The Workbook stream's sector chain points back at itself; its size says 4 GB."""
    fat = _fat([FATSECT, END, 2])  # sector 2 -> sector 2 -> ...
    directory = _directory(
        _entry("Root Entry", 5, END, 0, child=1), _entry("Workbook", 2, 2, 0xFFFFF000)
    )
    return _header(n_fat=1, first_dir=1) + fat + directory + b"\x09\x08" + b"\0" * 510


def looping_mini_stream_xls() -> bytes:
    """The root entry's mini stream chain loops, with a size of 4 GB and a mini FAT."""
    fat = _fat([FATSECT, END, 2, END])  # the mini stream at 2 loops; the mini FAT is sector 3
    directory = _directory(
        _entry("Root Entry", 5, 2, 0xFFFFF000, child=1), _entry("Workbook", 2, 0, 100)
    )
    minifat = struct.pack("<128I", *([1, END] + [FREE] * 126))
    return (
        _header(n_fat=1, first_dir=1, first_mini=3, n_mini=1)
        + fat
        + directory
        + b"\0" * 512
        + minifat
    )


def looping_directory_xls() -> bytes:
    """The directory's own chain points back at its first sector."""
    fat = _fat([FATSECT, 1])  # sector 1 -> sector 1 -> ...
    directory = _directory(_entry("Root Entry", 5, END, 0, child=1), _entry("Workbook", 2, END, 0))
    return _header(n_fat=1, first_dir=1) + fat + directory


def looping_mini_fat_xls() -> bytes:
    """A small stream whose chain in the mini FAT loops."""
    fat = _fat([FATSECT, END, END, END])
    directory = _directory(_entry("Root Entry", 5, 2, 512, child=1), _entry("Workbook", 2, 0, 300))
    minifat = struct.pack("<128I", *([1, 0] + [FREE] * 126))  # 0 -> 1 -> 0 -> ...
    return (
        _header(n_fat=1, first_dir=1, first_mini=3, n_mini=1)
        + fat
        + directory
        + b"\0" * 512
        + minifat
    )


CRAFTED_XLS = {
    "looping-difat": looping_difat_xls,
    "looping-stream": looping_stream_xls,
    "looping-mini-stream": looping_mini_stream_xls,
    "looping-directory": looping_directory_xls,
    "looping-mini-fat": looping_mini_fat_xls,
}


# --- records and parts that make a parser allocate ---------------------------------------------


def _biff_records(stream: bytes) -> Iterator[tuple[int, int, int]]:
    """(offset, type, length) of each record of a BIFF stream."""
    pos = 0
    while pos + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, pos)
        yield pos, kind, length
        pos += 4 + length


def xls_with_stream(stream: bytes) -> bytes:
    """A sound compound file holding ``stream`` as its Workbook."""
    with tempfile.TemporaryDirectory() as folder:
        return write_ole(Path(folder) / "book.xls", {"Workbook": stream}).read_bytes()


def workbook_stream(rows: int = 20) -> bytes:
    """The BIFF8 Workbook stream of a small real roster, as xlwt writes it."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("花名册")
    padded = xlwt.easyxf(num_format_str="000000")
    for c, text in enumerate(["工号", "姓名", "手机号"]):
        sheet.write(0, c, text)
    for r in range(1, rows + 1):
        sheet.write(r, 0, 3000 + r, padded)
        sheet.write(r, 1, f"张{r}")
        sheet.write(r, 2, 13812345600 + r)
    return bytes(book.get_biff_data())


def xls_claiming_huge_dimensions() -> bytes:
    """A real workbook whose DIMENSIONS records claim 4 billion rows x 256 columns."""
    stream = bytearray(workbook_stream())
    for pos, kind, length in list(_biff_records(bytes(stream))):
        if kind == 0x0200 and length == 14:
            struct.pack_into("<IIHH", stream, pos + 4, 0, 0xFFFFFFFF, 0, 256)
    return xls_with_stream(bytes(stream))


def xls_with_far_cell() -> bytes:
    """A real workbook with one more number cell in IV65536: the grid becomes 16.7 M cells."""
    stream = workbook_stream()
    records = list(_biff_records(stream))
    # A NUMBER record just before the first sheet's EOF.
    at = [pos for pos, kind, _ in records if kind == 0x000A][1]
    number = struct.pack("<HHHHHd", 0x0203, 14, 65535, 255, 15, 1.0)
    grown = bytearray(stream[:at] + number + stream[at:])
    for pos, kind, _length in _biff_records(bytes(grown)):
        if kind == 0x0085:  # sheets after the new record start later
            offset = struct.unpack_from("<I", grown, pos + 4)[0]
            if offset > at:
                struct.pack_into("<I", grown, pos + 4, offset + len(number))
    return xls_with_stream(bytes(grown))


def _xlsx(parts: dict[str, bytes | str]) -> bytes:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    base: dict[str, bytes | str] = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
        '.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{ns}" xmlns:r="{rel}"><sheets><sheet name="花名册" '
        'sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" '
        f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
        f'Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/sharedStrings.xml": f'<sst xmlns="{ns}" count="2" uniqueCount="2"><si><t>工号</t>'
        "</si><si><t>姓名</t></si></sst>",
    }
    base.update(parts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in base.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def sheet_xml(rows: str, dimension: str | None = None) -> str:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    header = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    return f'<worksheet xmlns="{ns}">{dim}<sheetData>{header}{rows}</sheetData></worksheet>'


def people_rows(first: int, last: int) -> str:
    return "".join(
        f'<row r="{r}"><c r="A{r}"><v>{10000 + r}</v></c><c r="B{r}" t="inlineStr"><is><t>张'
        f"</t></is></c></row>"
        for r in range(first, last + 1)
    )


def xlsx_with_far_cells() -> bytes:
    """Two cells, A2 and XFD1048576: half a terabyte for a reader that allocates the grid."""
    far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return _xlsx({"xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 3) + far)})


def xlsx_with_far_column(rows: int = 700) -> bytes:
    """A small table with one stray cell in column XFD: rows x 16,384 cells."""
    stray = f'<row r="{rows + 1}"><c r="XFD{rows + 1}"><v>1</v></c></row>'
    return _xlsx({"xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, rows) + stray)})


def xlsx_with_huge_string_count() -> bytes:
    """The shared strings claim four billion entries: a reader reserves room for them."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sst = (
        f'<sst xmlns="{ns}" count="4000000000" uniqueCount="4000000000"><si><t>工号</t></si>'
        "<si><t>姓名</t></si></sst>"
    )
    return _xlsx(
        {"xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 3)), "xl/sharedStrings.xml": sst}
    )


def xlsx_with_million_row_dimension() -> bytes:
    """Five people, but the sheet says (and its last row is) row 1,000,001; a few KB on disk."""
    last = '<row r="1000001"><c r="A1000001"><v>1</v></c></row>'
    return _xlsx({"xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 6) + last, "A1:B1000001")})


def xlsx_with_lying_member_size() -> bytes:
    """A sheet whose deflate stream goes on far past the size the zip directory states."""
    data = bytearray(_xlsx({"xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 2000))}))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("xl/worksheets/sheet1.xml")
    stated = 512  # and the checksum of those first 512 bytes, so only the size gives it away
    crc = zlib.crc32(archive.read(info)[:stated])
    name = info.filename.encode()
    headers = [info.header_offset]
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46 : at + 46 + length]) == name:
            headers.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    for offset in headers:
        crc_at = offset + (14 if data[offset + 2] == 3 else 16)
        struct.pack_into("<I", data, crc_at, crc)
        struct.pack_into("<I", data, crc_at + 8, stated)
    return bytes(data)


def ods_with_repeated_rows() -> bytes:
    """One row of 1,000 numbers repeated a million times, in a file of a few hundred bytes."""
    table = (
        '<table:table table:name="花名册"><table:table-row table:number-rows-repeated='
        '"1000000"><table:table-cell office:value-type="float" office:value="1" '
        'table:number-columns-repeated="1000"><text:p>1</text:p></table:table-cell>'
        "</table:table-row></table:table>"
    )
    return _ods(table)


def _ods(table: str) -> bytes:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{table}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        mimetype = "application/vnd.oasis.opendocument.spreadsheet"
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        archive.writestr(
            "META-INF/manifest.xml",
            (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<manifest:manifest xmlns:manifest="urn:oasis:'
                'names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path='
                f'"/" manifest:media-type="{mimetype}"/><manifest:file-entry manifest:full-path='
                '"content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
            ),
        )
        archive.writestr("content.xml", content)
    return buffer.getvalue()


# --- the fuzz corpus ------------------------------------------------------------------------------


def corpus(seed: int = 11) -> Iterator[tuple[str, str, bytes]]:
    """(kind, name, bytes): truncated, bit-flipped and looping variants of real small files."""
    rng = random.Random(seed)
    sources = {
        "calc.xlsx": (OFFICE / "roster.xlsx").read_bytes(),
        "calc.xls": (OFFICE / "roster.xls").read_bytes(),
        "calc.ods": (OFFICE / "roster.ods").read_bytes(),
    }
    for name, data in sources.items():
        stem, suffix = name.rsplit(".", 1)
        for i in range(1, 12):
            cut = len(data) * i // 12
            yield "truncated", f"{stem}-cut{cut}.{suffix}", data[:cut]
        for i in range(40):
            flipped = bytearray(data)
            for _ in range(rng.choice((1, 2, 4, 16))):
                at = rng.randrange(len(flipped))
                flipped[at] ^= 1 << rng.randrange(8)
            yield "flipped", f"{stem}-flip{i}.{suffix}", bytes(flipped)
    xls = sources["calc.xls"]
    for i in range(30):
        # The compound file header's counts and chain starts set to other sectors' numbers.
        mutated = bytearray(xls)
        field = rng.choice((44, 48, 60, 64, 68, 72, 76, 80))
        value = rng.choice((0, 1, 2, 3, 7, 0xFFFFFFFA, 0xFFFFFFFE, 0xFFFFFFFF, len(xls) // 512))
        struct.pack_into("<I", mutated, field, value)
        yield "header", f"calc-header{i}.xls", bytes(mutated)
    for name, build in CRAFTED_XLS.items():
        yield "looping", f"{name}.xls", build()
    yield "allocating", "huge-dimensions.xls", xls_claiming_huge_dimensions()
    yield "allocating", "far-cell.xls", xls_with_far_cell()
    yield "allocating", "far-cells.xlsx", xlsx_with_far_cells()
    yield "allocating", "far-column.xlsx", xlsx_with_far_column()
    yield "allocating", "string-count.xlsx", xlsx_with_huge_string_count()
    yield "allocating", "lying-size.xlsx", xlsx_with_lying_member_size()
    yield "allocating", "repeated-rows.ods", ods_with_repeated_rows()

"""calamine reads in a child bounded in memory and time (testrota.roster.isolation).

Review (stop 41) found small files of every format that got past the survey written to
calamine's rules and made calamine ask for hundreds of gigabytes at once, which aborts the
process: an .xlsb far cell (no survey at all), an .xlsx whose cells sit in a sheetData under an
odd prefix behind a decoy in a comment, a shared-strings count written twice, a sheet part
named through ``..``, one long shared string used by thousands of cells, an .ods string
repeated over a thousand columns, .xls DIMENSIONS that wrap, and 50,000 copies of one merged
range (minutes of CPU in our own code). Each is read here, in this process: the child ends,
the uploader is told in one line, and this process goes on."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from testrota.errors import UserError
from testrota.policy import ImportPolicy
from testrota.roster import isolation
from testrota.roster.reader import read_workbook
from tests.conftest import ROOT
from tests.damaged_files import (
    _biff_records,
    _ods,
    _xlsx,
    people_rows,
    sheet_xml,
    workbook_stream,
    xls_with_stream,
)
from tests.test_damaged_files import ALIASES, REQUIRED_FIELDS

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADER = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
FAR = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
BODY = HEADER + people_rows(2, 3)
LIMITS = ImportPolicy(reader_seconds=30)


# --- an .xlsb, record by record ---------------------------------------------------------------


def _record(kind: int, body: bytes = b"") -> bytes:
    head = bytes([kind]) if kind < 0x80 else bytes([(kind & 0x7F) | 0x80, (kind >> 7) & 0x7F])
    size, length = len(body), b""
    while True:
        low, size = size & 0x7F, size >> 7
        length += bytes([low | 0x80 if size else low])
        if not size:
            return head + length + body


def _wide_string(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def _xlsb(cells: list[tuple[int, int, str | float]]) -> bytes:
    book = (
        _record(0x83)
        + _record(0x8F)
        + _record(0x9C, struct.pack("<II", 0, 1) + _wide_string("rId1") + _wide_string("花名册"))
        + _record(0x90)
        + _record(0x9D, b"\x00" * 16)
        + _record(0x84)
    )
    sheet = _record(0x81) + _record(0x94, struct.pack("<IIII", 0, 0, 0, 0)) + _record(0x91)
    row = None
    for r, c, value in sorted(cells, key=lambda cell: (cell[0], cell[1])):
        if r != row:
            sheet += _record(0x00, struct.pack("<I", r) + b"\x00" * 13)
            row = r
        place = struct.pack("<I", c) + b"\x00" * 4
        if isinstance(value, str):
            sheet += _record(0x06, place + _wide_string(value))
        else:
            sheet += _record(0x05, place + struct.pack("<d", value))
    sheet += _record(0x92) + _record(0x82)
    worksheet = f"{REL}/worksheet"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="bin" '
            'ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.bin"/></Relationships>',
        )
        z.writestr("xl/workbook.bin", book)
        z.writestr(
            "xl/_rels/workbook.bin.rels",
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{worksheet}" '
            'Target="worksheets/sheet1.bin"/></Relationships>',
        )
        z.writestr("xl/worksheets/sheet1.bin", sheet)
    return buffer.getvalue()


def _xls_dimensions(first_row: int, last_row: int, first_col: int, last_col: int) -> bytes:
    stream = bytearray(workbook_stream())
    for pos, kind, length in list(_biff_records(bytes(stream))):
        if kind == 0x0200 and length == 14:
            struct.pack_into("<IIHH", stream, pos + 4, first_row, last_row, first_col, last_col)
    return xls_with_stream(bytes(stream))


def _rels(target: str) -> str:
    return (
        f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/worksheet" '
        f'Target="{target}"/><Relationship Id="rIdS" Type="{REL}/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>'
    )


_SST = "<si><t>工号</t></si><si><t>姓名</t></si></sst>"
_MERGE = '<mergeCell ref="A2:A300000"/>'
_MANY_USES = "".join(
    f'<row r="{r}"><c r="A{r}"><v>{r}</v></c>'
    + "".join(f'<c r="{c}{r}" t="s"><v>2</v></c>' for c in "BCDEFGHIJK")
    + "</row>"
    for r in range(2, 600)
)
_ODS_HEADER = (
    '<table:table-row><table:table-cell office:value-type="string"><text:p>工号</text:p>'
    '</table:table-cell><table:table-cell office:value-type="string"><text:p>姓名</text:p>'
    "</table:table-cell></table:table-row>"
)

ATTACKS: dict[str, Any] = {
    "xlsb-far-cell.xlsb": lambda: _xlsb(
        [(0, 0, "工号"), (0, 1, "姓名"), (1, 0, 1.0), (0x100000, 16383, 1.0)]
    ),
    "sheetdata-odd-prefix-behind-a-decoy.xlsx": lambda: _xlsx(
        {
            "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{NS}" xmlns:é="{NS}"><é:sheetData>'
            f"{BODY}{FAR}</é:sheetData><!--<sheetData>--></worksheet>"
        }
    ),
    "shared-string-count-twice.xlsx": lambda: _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 3)),
            "xl/sharedStrings.xml": f'<sst xmlns="{NS}" uniqueCount="4000000000" '
            f'uniqueCount="2">{_SST}',
        }
    ),
    "part-named-through-dotdot.xlsx": lambda: _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 3)),
            "xl/../xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 3) + FAR),
            "xl/_rels/workbook.xml.rels": _rels("../xl/worksheets/sheet1.xml"),
        }
    ),
    "one-long-shared-string-in-6000-cells.xlsx": lambda: _xlsx(
        {
            "xl/worksheets/sheet1.xml": sheet_xml(_MANY_USES),
            "xl/sharedStrings.xml": f'<sst xmlns="{NS}" count="3" uniqueCount="3"><si><t>工号'
            f"</t></si><si><t>姓名</t></si><si><t>{'张' * 300_000}</t></si></sst>",
        }
    ),
    "ods-long-string-repeated.ods": lambda: _ods(
        f'<table:table table:name="花名册">{_ODS_HEADER}<table:table-row '
        'table:number-rows-repeated="300"><table:table-cell office:value-type="float" '
        'office:value="1"/><table:table-cell table:number-columns-repeated="1000" '
        f'office:value-type="string" office:string-value="{"x" * 20000}"/></table:table-row>'
        "</table:table>"
    ),
    "xls-dimensions-that-wrap.xls": lambda: _xls_dimensions(5, 1, 0, 1),
    "merged-range-50000-times.xlsx": lambda: _xlsx(
        {
            "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{NS}"><sheetData>{BODY}<row '
            'r="300000"><c r="A300000"><v>1</v></c></row></sheetData><mergeCells '
            f'count="50000">{_MERGE * 50000}</mergeCells></worksheet>'
        }
    ),
}


@pytest.mark.skipif(not isolation.can_isolate(), reason="no fork: calamine reads in-process")
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_file_built_to_exhaust_memory_is_refused_and_this_process_goes_on(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(ATTACKS[name]())
    assert path.stat().st_size < 30_000  # small on disk
    with pytest.raises(UserError) as refused:
        read_workbook(path, ALIASES, REQUIRED_FIELDS, LIMITS)
    message = str(refused.value)
    assert ("\n" not in message and name in message) or "merged cells overlap" in message
    assert "stopped" in message or "overlap" in message or "damaged" in message, message
    assert os.getpid() > 0  # still here to say so


def test_a_limit_already_tighter_is_kept(tmp_path: Path) -> None:
    """An import run under a tighter cap (a container's, a test's) keeps it in the child: a
    process may not raise its hard limit, and trying had made every read fail."""
    import resource

    path = tmp_path / "r.xlsx"
    path.write_bytes(_xlsx({"xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 4))}))
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, min(hard, 10**6)))
    try:
        book = read_workbook(path, ALIASES, REQUIRED_FIELDS, ImportPolicy(reader_seconds=3600))
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    assert len(book.sheets[0].data["employee_no"]) == 3


@pytest.mark.parametrize(
    "sample", sorted((ROOT / "sample_rosters").glob("*.xls*")), ids=lambda p: p.name
)
def test_a_real_roster_reads_the_same_in_the_child_and_in_process(sample: Path) -> None:
    isolated = read_workbook(sample, ALIASES, REQUIRED_FIELDS, ImportPolicy(isolate_reader=True))
    direct = read_workbook(sample, ALIASES, REQUIRED_FIELDS, ImportPolicy(isolate_reader=False))
    assert isolated == direct
    assert [s.name for s in isolated.skipped] == [s.name for s in direct.skipped]


def test_a_group_sized_sheet_reads_the_same_in_the_child_and_in_process(tmp_path: Path) -> None:
    """The child hands back parsed columns, a repeating one as its values once and a number a
    cell: names, numbers, a sampling time and repeated departments over the sample's 2,000
    cells arrive as they do in process, footer and blank rows dropped alike."""
    from datetime import datetime, timedelta

    from openpyxl import Workbook

    path = tmp_path / "big.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["花名册"])
    sheet.append(["序号", "工号", "姓名", "部门", "手机号", "入职时间"])
    start = datetime(2022, 5, 9, 8, 0)
    for i in range(1, 4_001):
        if i % 997 == 0:
            sheet.append([])
        sheet.append(
            [i, f"{i:06d}", f"员工{i}", f"部门{i % 7}", 13800000000 + i, start + timedelta(i % 3)]
        )
    sheet.append(["合计", "4000人"])
    book.save(path)
    isolated = read_workbook(path, ALIASES, REQUIRED_FIELDS, ImportPolicy(isolate_reader=True))
    direct = read_workbook(path, ALIASES, REQUIRED_FIELDS, ImportPolicy(isolate_reader=False))
    assert isolated == direct
    data = isolated.sheets[0].data
    assert len(data["employee_no"]) == 4_000 and data["employee_no"][0] == "000001"
    assert len(set(map(id, data["department"]))) == 7  # one string per department


@pytest.mark.parametrize("seed", range(20))
def test_columns_cross_the_pipe_unchanged(seed: int) -> None:
    import random

    rng = random.Random(seed)
    size = rng.choice([0, 1, 1_999, 2_000, 2_001, 5_000])
    pool = [
        "",
        "阴性",
        "a\x00b",
        "\U0001f600",
        "部门 1 ",
        *(str(i) for i in range(rng.randrange(1, 3_000))),
    ]
    texts = [rng.choice(pool) for _ in range(size)]
    assert isolation.unpack_texts(isolation.pack_texts(texts)) == texts
    numbers = [rng.randrange(-(2**62), 2**62) for _ in range(size)]
    assert isolation.unpack_ints(isolation.pack_ints(numbers)) == numbers


def test_a_department_merged_down_crosses_the_pipe_once_not_once_a_cell() -> None:
    """Review: 2,000 distinct rows, then one 1,000-character department merged down the rest:
    the merged fill puts one string object in every cell, which the child's answer wrote out
    each time (a 35 KB file, a 290 MB answer, the web process 900 MB larger)."""
    from testrota.roster.columns import HeaderMatcher
    from testrota.roster.reader import Sheet, _decode_met, _encode_met, parse_sheet
    from testrota.roster.spreadsheet import RawSheet

    rows: list[list[Any]] = [["工号", "姓名", "部门"]]
    rows += [[f"{i:06d}", f"员工{i}", f"部门{i}"] for i in range(1, 2_001)]
    long_name = "炼钢" * 500
    rows += [
        [f"{i:06d}", f"员工{i}", long_name if i == 2_001 else ""] for i in range(2_001, 60_001)
    ]
    merged = [((2_001, 2), (60_000, 2))]  # C2002:C60001, 0-based
    sheet = parse_sheet(RawSheet("花名册", rows, merged), HeaderMatcher(ALIASES), REQUIRED_FIELDS)
    assert isinstance(sheet, Sheet)
    answer = _encode_met([sheet])
    assert len(answer) < 3_000_000, len(answer)  # cell by cell it was 58 MB
    assert _decode_met(answer) == [sheet]


def test_an_answer_larger_than_the_child_may_hold_is_not_read_whole() -> None:
    import threading

    read_end, write_end = os.pipe()

    def write() -> None:
        with contextlib.suppress(OSError):
            for _ in range(4):
                os.write(write_end, b"x" * (1 << 20))
        os.close(write_end)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with pytest.raises(isolation._AnswerTooLarge):
            isolation._read_all(read_end, time.monotonic() + 30, 1 << 20)
    finally:
        os.close(read_end)
        writer.join()


def test_python_out_of_the_childs_memory_is_the_limit_not_a_bug() -> None:
    def greedy() -> bytes:
        return b"x" * (4 << 30)

    with pytest.raises(isolation.ReaderFailed, match="MemoryError"):
        isolation.run_isolated(greedy, lambda b: b, lambda b: b, memory_mb=64, seconds=30)


# --- the child itself (found in review of the bound) -----------------------------------------


def _in_child(work: Any) -> Any:
    return isolation.run_isolated(work, isolation.dumps, isolation.loads, memory_mb=512, seconds=30)


def _child_state() -> dict[str, Any]:
    import ctypes
    import gc
    import resource
    import signal

    return {
        "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "gc": gc.isenabled(),
        "core": resource.getrlimit(resource.RLIMIT_CORE),
        "dumpable": ctypes.CDLL(None).prctl(3, 0, 0, 0, 0),  # PR_GET_DUMPABLE
        "xcpu": signal.getsignal(signal.SIGXCPU) == signal.SIG_DFL,
        "cpu": resource.getrlimit(resource.RLIMIT_CPU),
    }


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="Linux's /proc")
def test_the_child_holds_none_of_this_processs_files_garbage_or_memory_on_a_crash(
    tmp_path: Path,
) -> None:
    """Another upload's pipe held open by this child made that upload wait for it (and a good
    file was refused at the deadline); the parent's garbage collected in the child rolled back
    a database connection they share; a killed child dumped the server's memory to disk."""
    import signal

    held = [os.open(tmp_path / f"f{i}", os.O_CREAT | os.O_WRONLY) for i in range(5)]
    ignored = signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    try:
        state = _in_child(_child_state)
    finally:
        signal.signal(signal.SIGXCPU, ignored)
        for fd in held:
            os.close(fd)
    # stdin, stdout, stderr (now /dev/null), the answer's pipe, and the listing's own
    assert len(state["fds"]) <= 5 and not set(held) & set(state["fds"][3:]), state["fds"]
    assert state["gc"] is False
    assert state["core"] == (0, 0) and state["dumpable"] == 0
    assert state["xcpu"] is True and state["cpu"][1] <= state["cpu"][0] + 5


def test_an_answer_is_kept_when_the_system_reaps_children_itself() -> None:
    import signal

    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        assert _in_child(lambda: "read") == "read"
    finally:
        signal.signal(signal.SIGCHLD, before)


def test_a_bug_in_the_reader_is_a_bug_not_a_file_too_large() -> None:
    def broken() -> None:
        raise KeyError("a bug")

    with pytest.raises(RuntimeError, match="the workbook reader failed: KeyError"):
        _in_child(broken)

"""Bad files: each is refused with one clear line (a UserError), never a traceback."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from testrota.errors import UserError
from testrota.policy import ImportPolicy
from testrota.roster.columns import REQUIRED_FIELDS, load_roster_columns
from testrota.roster.reader import read_workbook
from testrota.roster.spreadsheet import ole_stream_names
from tests.roster_files import (
    HEADER,
    roster_rows,
    write_bad_xml_xlsx,
    write_csv,
    write_encrypted_xlsx,
    write_ole,
    write_password_xls,
    write_truncated,
    write_xls,
    write_xlsx,
    write_zip_bomb,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
ALIASES = load_roster_columns(CONFIG_DIR)


def refusal(path: Path, limits: ImportPolicy | None = None, **kwargs: Any) -> str:
    with pytest.raises(UserError) as caught:
        read_workbook(path, ALIASES, REQUIRED_FIELDS, limits or ImportPolicy(), **kwargs)
    message = str(caught.value)
    assert "\n" not in message, message  # one line for the CLI
    assert message.startswith(path.name) or message.startswith(str(path)), message
    return message


@pytest.fixture
def good_xlsx(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "good.xlsx", {"S": [HEADER, *roster_rows(3)]})


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.mark.parametrize(
    ("name", "content", "complaint"),
    [
        ("photo.xlsx", PNG, "not a spreadsheet"),
        ("roster.csv", PNG, "not a spreadsheet"),
        ("scan.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (
            "export.xls",
            b"<html><body><table><tr><td>1</td></tr></table></body></html>",
            "web page (HTML)",
        ),
        (
            "export.xls",
            b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:'
            b'office:spreadsheet"></Workbook>',
            "Excel 2003 XML",
        ),
        ("notes.xlsx", "工号,姓名\n1,张伟\n".encode(), "plain text; if it is a CSV export"),
    ],
)
def test_not_a_spreadsheet(tmp_path: Path, name: str, content: bytes, complaint: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert complaint in refusal(path)


def _zip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    return path


def test_other_office_files_and_archives(tmp_path: Path) -> None:
    docx = _zip(
        tmp_path / "letter.xlsx", {"[Content_Types].xml": b"<T/>", "word/document.xml": b"<w/>"}
    )
    assert "Word document" in refusal(docx)
    odt = _zip(tmp_path / "letter.ods", {"mimetype": b"application/vnd.oasis.opendocument.text"})
    assert "OpenDocument file but not a spreadsheet" in refusal(odt)
    other = _zip(tmp_path / "bundle.xlsx", {"a.txt": b"hello"})
    assert "zip archive, not a spreadsheet" in refusal(other)
    doc = write_ole(tmp_path / "letter.xls", {"WordDocument": b"w", "1Table": b"t"})
    assert "Word document" in refusal(doc)
    misc = write_ole(tmp_path / "misc.xls", {"Contents": b"c"})
    assert "holds no workbook" in refusal(misc)


def test_corrupt_workbooks(tmp_path: Path, good_xlsx: Path) -> None:
    truncated = write_truncated(tmp_path / "truncated.xlsx", good_xlsx)
    assert "damaged" in refusal(truncated)
    bad_xml = write_bad_xml_xlsx(tmp_path / "badxml.xlsx", good_xlsx)
    assert "damaged" in refusal(bad_xml)
    garbage_biff = write_ole(tmp_path / "garbage.xls", {"Workbook": b"\x01\x02" * 4000})
    assert "damaged" in refusal(garbage_biff)
    xls = write_xls(tmp_path / "real.xls", {"S": [HEADER, *roster_rows(200)]})
    broken_ole = write_truncated(tmp_path / "broken.xls", xls, keep=0.3)
    assert "damaged" in refusal(broken_ole)
    header_only = tmp_path / "header.xls"
    header_only.write_bytes(xls.read_bytes()[:600])
    assert "damaged" in refusal(header_only)


def test_password_protected_workbooks(tmp_path: Path) -> None:
    encrypted = write_encrypted_xlsx(tmp_path / "secret.xlsx")
    assert ole_stream_names(encrypted.read_bytes()) >= {"EncryptionInfo", "EncryptedPackage"}
    assert "password-protected" in refusal(encrypted)
    xls = write_password_xls(tmp_path / "secret.xls", [HEADER, *roster_rows(2)])
    assert "password-protected" in refusal(xls)


def test_a_zip_with_encrypted_parts_is_password_protected(tmp_path: Path) -> None:
    path = _zip(tmp_path / "locked.xlsx", {"xl/workbook.xml": b"\x00" * 32})
    data = bytearray(path.read_bytes())
    # zipfile cannot encrypt; set the "encrypted" flag in the local and central headers.
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flag_at
        data[at] |= 0x1
    path.write_bytes(bytes(data))
    assert "password-protected" in refusal(path)


def test_empty_files_and_sheets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert "empty (0 bytes)" in refusal(empty)
    blank_book = write_xlsx(tmp_path / "blank.xlsx", {"Sheet1": []})
    assert "the file is empty" in refusal(blank_book)
    blank_sheets = write_xlsx(tmp_path / "blanks.xlsx", {"一车间": [], "二车间": [[None, ""]]})
    assert "every sheet is empty" in refusal(blank_sheets)
    blank_csv = write_csv(tmp_path / "blank.csv", [["", ""], ["  ", ""]])
    assert "empty" in refusal(blank_csv)
    some_empty = write_xlsx(
        tmp_path / "some.xlsx", {"一车间": [HEADER, *roster_rows(1)], "二车间": []}
    )
    assert "sheet '二车间' is empty" in refusal(some_empty, sheet="二车间")
    header_only = write_xlsx(tmp_path / "header.xlsx", {"S": [["标题"], HEADER, ["合计", 0]]})
    message = refusal(header_only)
    assert "'S' has a header row but no rows of data" in message


def test_no_recognisable_header_lists_what_it_saw_and_what_it_knows(tmp_path: Path) -> None:
    rows = [["Staff list"], ["Ident", "Full Name", "Dept"], ["1", "Zhang Wei", "Steel"]]
    path = write_xlsx(tmp_path / "odd.xlsx", {"People": rows})
    message = refusal(path)
    assert "no recognisable header row" in message
    assert "'Ident', 'Full Name', 'Dept'" in message  # the headers it saw
    assert "sheet 'People'" in message
    for alias in ("工号", "工號", "Employee ID", "姓名", "Name"):  # the aliases it knows
        assert alias in message
    assert "Department" in message  # optional columns named too, as a clerk heads them


def test_a_partial_header_says_which_column_is_missing(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "partial.xlsx", {"S": [["姓名", "部门"], ["张伟", "炼钢厂"]]})
    message = refusal(path)
    assert "row 1 has 姓名, 部门 but no Employee ID column" in message


def test_size_limits_are_checked_before_reading(tmp_path: Path, good_xlsx: Path) -> None:
    message = refusal(good_xlsx, ImportPolicy(max_file_mb=0.001))
    assert "over the 0.001 MB limit" in message and "max_file_mb" in message
    bomb = write_zip_bomb(tmp_path / "bomb.xlsx", unpacked_mb=3)
    assert bomb.stat().st_size < 20_000  # tiny on disk
    message = refusal(bomb, ImportPolicy(max_uncompressed_mb=2))
    # The zip directory alone gives it away: without the check, calamine would have been asked
    # to read the (invalid) workbook and the message would say "damaged".
    assert "unpack to 3 MB, over the 2 MB limit" in message
    assert "max_uncompressed_mb" in message


def test_the_zip_bomb_limit_leaves_real_workbooks_alone(good_xlsx: Path) -> None:
    book = read_workbook(good_xlsx, ALIASES, REQUIRED_FIELDS, ImportPolicy(max_uncompressed_mb=1))
    assert len(book.sheets[0].row_numbers) == 3


def test_unknown_sheet_names_the_sheets_there_are(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "two.xlsx",
        {"一车间": [HEADER, *roster_rows(1)], "二车间": [HEADER, *roster_rows(1, 20001)]},
    )
    message = refusal(path, sheet="三车间")
    assert "no sheet named '三车间'" in message and "'一车间', '二车间'" in message


def test_a_sheet_name_for_a_csv_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [HEADER, *roster_rows(1)])
    assert "a CSV file has no sheets" in refusal(path, sheet="花名册")


def test_missing_path_and_directory(tmp_path: Path) -> None:
    assert "file not found" in refusal(tmp_path / "nope.xlsx")
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    assert "not a file" in refusal(folder)


def test_a_damaged_ole_directory_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        ole_stream_names(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 600)
    with pytest.raises(ValueError):
        ole_stream_names(b"not ole")

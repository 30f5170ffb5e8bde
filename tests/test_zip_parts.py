"""A zip member is inflated to exactly what the directory promised, or refused as damaged:
a stream that runs past its stated size, ends short, fails its checksum or is not deflate."""

from __future__ import annotations

import io
import zipfile
import zlib

import pytest

from testrota.roster.survey import DamagedPart
from testrota.roster.zip_parts import member_chunks, read_member

TEXT = "".join(
    f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>张三{i}</t></is></c></row>'
    for i in range(1, 40_000)
).encode()


def _zipped(payload: bytes = TEXT) -> tuple[bytearray, zipfile.ZipInfo]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", payload)
    data = bytearray(buffer.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    return data, info


def _stream_at(data: bytearray, info: zipfile.ZipInfo) -> int:
    name_len, extra_len = data[info.header_offset + 26], data[info.header_offset + 28]
    return info.header_offset + 30 + name_len + extra_len


def test_a_member_inflates_to_what_zipfile_reads_in_chunks_of_the_size_asked() -> None:
    data, info = _zipped()
    chunks = list(member_chunks(bytes(data), info, chunk=1 << 16))
    assert b"".join(chunks) == TEXT
    assert len(chunks) > 1 and all(len(c) >= 1 << 16 for c in chunks[:-1])


def test_a_stream_cut_short_is_damaged() -> None:
    data, info = _zipped()
    start = _stream_at(data, info)
    info.compress_size //= 2  # the directory and the stream agree, the stream just stops
    with pytest.raises(DamagedPart, match="cut short"):
        read_member(bytes(data[: start + info.compress_size]), info)


def test_a_wrong_checksum_or_a_stream_that_is_not_deflate_is_damaged() -> None:
    data, info = _zipped(b"0123456789" * 10_000)
    info.CRC ^= 1
    with pytest.raises(DamagedPart, match="checksum"):
        read_member(bytes(data), info)
    data, info = _zipped()
    start = _stream_at(data, info)
    data[start : start + 64] = b"\xff" * 64
    with pytest.raises(DamagedPart, match="cannot be inflated"):
        read_member(bytes(data), info)


def test_a_stream_longer_than_its_stated_size_stops_one_byte_past_it() -> None:
    data, info = _zipped()
    info.file_size = 1000
    info.CRC = zlib.crc32(TEXT[:1000])
    produced = 0
    with pytest.raises(DamagedPart, match="more than its stated size"):
        for piece in member_chunks(bytes(data), info, chunk=1 << 16):
            produced += len(piece)
    assert produced <= 1000


@pytest.mark.parametrize(
    "payload",
    [
        bytes((1 << 20) + 4_000),  # zeros: a feed inflates to far more than a piece
        b'<row><c s="3"/></row>' * 60_000,  # an empty styled grid, as a template has
        b"<v>1</v>" * 300_000,
    ],
    ids=["zeros", "empty-grid", "repeated"],
)
@pytest.mark.parametrize("chunk", [4096, 65536, 1 << 20])
def test_a_member_that_inflates_far_beyond_its_feed_is_read_whole(
    payload: bytes, chunk: int
) -> None:
    """A highly compressible member: the inflater can take in a whole feed and still hold
    back output for the next piece, which must be asked for (it was refused as cut short)."""
    data, info = _zipped(payload)
    assert b"".join(member_chunks(bytes(data), info, chunk=chunk)) == payload


def test_members_a_little_over_a_piece_are_read_whole_at_every_size() -> None:
    for extra in range(0, 2_000, 7):
        payload = bytes((1 << 20) + extra)
        data, info = _zipped(payload)
        assert read_member(bytes(data), info) == payload, extra

"""Members of a zip container (.xlsx, .ods), inflated with their declared sizes enforced.

A zip's directory states each member's size, and :func:`check_sizes` refuses a workbook whose
members would unpack to more than the limit before anything is inflated. A member can still lie:
its deflate stream may go on past the size the directory states. :func:`member_chunks`
inflates a member and refuses it the moment it passes its declared size, if it ends short, or
if its checksum differs, so a part read this way is exactly what the directory promised.

The inflating is ISA-L's (``isal``), the same deflate at about twice zlib's speed: a group's
roster sheet is 90 MB of XML, inflated here once before calamine reads it.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import cast

from isal import isal_zlib

from testrota.roster.survey import DamagedPart

CHUNK = 1 << 20
_FEED = 1 << 16  # compressed bytes per call, so the unconsumed tail stays small
# isal's stub declares its error an instance; it is the class of what inflating raises.
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)
_LOCAL = struct.Struct("<4sHHHHHIIIHH")


def member_chunks(data: bytes, info: zipfile.ZipInfo, chunk: int = CHUNK) -> Iterator[bytes]:
    """The member's bytes, ``chunk`` at a time, checked against the zip directory."""
    if not 0 <= info.header_offset <= len(data) - _LOCAL.size:
        raise DamagedPart(f"{info.filename} starts outside the file")
    fields = _LOCAL.unpack_from(data, info.header_offset)
    signature, method, name_len, extra_len = fields[0], fields[3], fields[9], fields[10]
    if signature != b"PK\x03\x04":
        raise DamagedPart(f"{info.filename} has no local header where the directory says")
    start = info.header_offset + _LOCAL.size + name_len + extra_len
    end = start + info.compress_size
    if info.compress_size < 0 or info.file_size < 0 or end > len(data):
        raise DamagedPart(f"{info.filename} runs past the end of the file")
    if method != info.compress_type or method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DamagedPart(f"{info.filename} uses an unknown compression method")
    raw = memoryview(data)[start:end]
    expected, produced, crc = info.file_size, 0, 0
    if method == zipfile.ZIP_STORED:
        if info.compress_size != expected:
            raise DamagedPart(f"{info.filename} is not the size the directory says")
        for at in range(0, expected, chunk):
            piece = bytes(raw[at : at + chunk])
            crc = zlib.crc32(piece, crc)
            yield piece
    else:
        inflater = isal_zlib.decompressobj(-15)
        out: list[bytes] = []
        for at in range(0, len(raw), _FEED):
            pending: bytes | memoryview = raw[at : at + _FEED]
            while not inflater.eof:
                # Never more than one byte past the declared size: that byte proves the lie.
                limit = min(chunk, expected - produced + 1)
                try:
                    piece = inflater.decompress(pending, limit)
                except _INFLATE_ERROR as exc:
                    raise DamagedPart(f"{info.filename} cannot be inflated ({exc})") from exc
                pending = inflater.unconsumed_tail
                produced += len(piece)
                if produced > expected:
                    raise DamagedPart(f"{info.filename} unpacks to more than its stated size")
                out.append(piece)
                # ISA-L may take in all its input and still hold output back for a full piece:
                # only a short piece from a spent input says this feed is done.
                if not pending and len(piece) < limit:
                    break
            if sum(map(len, out)) >= chunk or inflater.eof:
                joined = b"".join(out)
                out = []
                crc = zlib.crc32(joined, crc)
                if joined:
                    yield joined
            if inflater.eof:
                break
        if not inflater.eof:
            raise DamagedPart(f"{info.filename} is cut short")
        if produced != expected:
            raise DamagedPart(f"{info.filename} is not the size the directory says")
    if crc != info.CRC:
        raise DamagedPart(f"{info.filename} fails its checksum")


def read_member(data: bytes, info: zipfile.ZipInfo) -> bytes:
    return b"".join(member_chunks(data, info))


def part_key(name: str) -> str:
    """A member's name as a part is looked up: whatever its case or slashes (calamine, and the
    OPC convention, compare names so)."""
    return name.replace("\\", "/").lower()


def check_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Members by name; refuse names that are one part's twice, even in another case or with
    backslashes (two readers may pick different ones: the checked and the read)."""
    members: dict[str, zipfile.ZipInfo] = {}
    keys: set[str] = set()
    for info in archive.infolist():
        key = part_key(info.filename)
        if key in keys:
            raise DamagedPart(f"the archive holds {info.filename} twice")
        keys.add(key)
        members[info.filename] = info
    return members

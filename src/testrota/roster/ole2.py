"""OLE2 compound files ([MS-CFB]), read with every walk bounded, and written fresh.

A legacy .xls is a small file system: a header, a sector allocation table (FAT) whose own
sectors are listed by a chain of DIFAT sectors, a directory in a chain of sectors, and streams
in chains (small streams in 64-byte mini sectors, listed by a mini FAT). A damaged or
malicious file can make any of those chains loop or point past the end; a reader that trusts
them allocates without limit. Here every chain is walked at most once per sector, every
sector number is checked against the file's size, and every declared size against the bytes
the chain really holds, so reading costs at most a few times the file's own size.

:func:`write_compound` builds a minimal, well-formed container holding given streams. The
reader hands calamine such a rebuilt copy holding only the workbook stream, so the parser
never walks a chain this module has not built itself.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAXREG = 0xFFFFFFFA  # sector numbers above this are markers
_DIFSECT, _FATSECT, _END, _FREE = 0xFFFFFFFC, 0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFF
_NOSTREAM = 0xFFFFFFFF
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_STORAGE, _STREAM, _ROOT = 1, 2, 5


class DamagedContainer(ValueError):
    """The compound file's structure is inconsistent; the message says where."""


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    start: int
    size: int


@dataclass(frozen=True, slots=True)
class CompoundFile:
    """A validated compound file: every stream's chain is known to be sound."""

    data: bytes
    sector_size: int
    entries: tuple[Entry, ...]
    _chains: dict[int, tuple[int, ...]]  # entry index -> its sectors (mini sectors if small)
    _mini: bytes  # the mini stream, for streams under the cutoff

    @property
    def names(self) -> set[str]:
        return {e.name for e in self.entries if e.kind in (_STORAGE, _STREAM, _ROOT)}

    def find(self, *names: str) -> str | None:
        """The first stream whose name matches one of ``names`` (case-insensitive)."""
        wanted = [n.casefold() for n in names]
        streams = {e.name.casefold(): e.name for e in self.entries if e.kind == _STREAM}
        return next((streams[n] for n in wanted if n in streams), None)

    def stream(self, name: str) -> bytes:
        index = next(i for i, e in enumerate(self.entries) if e.kind == _STREAM and e.name == name)
        entry, chain = self.entries[index], self._chains[index]
        if entry.size < _MINI_CUTOFF:
            parts = [self._mini[s * _MINI_SECTOR : (s + 1) * _MINI_SECTOR] for s in chain]
        else:
            size, data = self.sector_size, self.data
            parts = [data[(s + 1) * size : (s + 2) * size] for s in chain]
        return b"".join(parts)[: entry.size]


def _u32_table(raw: bytes) -> array[int]:
    table = array("I")
    table.frombytes(raw[: len(raw) - len(raw) % 4])
    if sys.byteorder == "big":
        table.byteswap()
    return table


def read_compound(data: bytes) -> CompoundFile:
    """Parse and check ``data``; raise :class:`DamagedContainer` on any inconsistency."""
    if len(data) < 512 or data[:8] != MAGIC:
        raise DamagedContainer("not an OLE2 compound file")
    major, byte_order, shift, mini_shift = struct.unpack_from("<HHHH", data, 26)
    if byte_order != 0xFFFE or mini_shift != 6 or (major, shift) not in ((3, 9), (4, 12)):
        raise DamagedContainer("the compound file header is invalid")
    size = 1 << shift
    (n_fat, first_dir, _txn, cutoff, first_mini, n_mini, first_difat, n_difat) = struct.unpack_from(
        "<IIIIIIII", data, 44
    )
    if cutoff != _MINI_CUTOFF:
        raise DamagedContainer("the compound file header is invalid")
    if len(data) < size:
        raise DamagedContainer("the file ends inside its header")
    # Sector i starts after the header sector; a short last sector is allowed (and padded).
    n_sectors = (len(data) - size + size - 1) // size
    if n_fat == 0 or n_fat > n_sectors or n_difat > n_sectors or n_mini > n_sectors:
        raise DamagedContainer("the allocation table sizes do not fit the file")

    def sector(i: int) -> bytes:
        block = data[(i + 1) * size : (i + 2) * size]
        return block if len(block) == size else block.ljust(size, b"\0")

    # Each sector belongs to one structure at most: a second claim means a loop or an overlap,
    # and it bounds the whole walk by the number of sectors.
    claimed = bytearray(n_sectors)

    def claim(i: int, what: str) -> None:
        if i >= n_sectors:
            raise DamagedContainer(f"the {what} points past the end of the file")
        if claimed[i]:
            raise DamagedContainer(f"the {what} loops or overlaps another part of the file")
        claimed[i] = 1

    # DIFAT: 109 entries in the header, then a chain of DIFAT sectors.
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s != _FREE]
    per_difat = size // 4 - 1
    next_difat, hops = first_difat, 0
    while next_difat not in (_END, _FREE):
        claim(next_difat, "DIFAT chain")
        hops += 1
        if hops > n_difat:
            raise DamagedContainer("the DIFAT chain is longer than the header says")
        listed = _u32_table(sector(next_difat))
        fat_sectors.extend(s for s in listed[:per_difat] if s != _FREE)
        next_difat = listed[per_difat]
    if len(fat_sectors) < n_fat:
        raise DamagedContainer("the allocation table is incomplete")
    for s in fat_sectors[:n_fat]:
        claim(s, "allocation table")
    fat = _u32_table(b"".join(sector(s) for s in fat_sectors[:n_fat]))

    def chain(start: int, what: str, need: int | None = None) -> tuple[int, ...]:
        """Sectors from ``start`` to ENDOFCHAIN (or the first ``need``), each claimed once."""
        out: list[int] = []
        current = start
        while current != _END and (need is None or len(out) < need):
            if current >= len(fat):
                raise DamagedContainer(f"the {what} chain points past the end of the file")
            claim(current, f"{what} chain")
            out.append(current)
            current = fat[current]
        if need is not None and len(out) < need:
            raise DamagedContainer(f"the {what} is shorter than its size")
        return tuple(out)

    dir_chain = chain(first_dir, "directory")
    if not dir_chain:
        raise DamagedContainer("the directory is empty")
    raw_dir = b"".join(sector(s) for s in dir_chain)
    entries = tuple(_entry(raw_dir, off, major) for off in range(0, len(raw_dir), 128))
    root = entries[0]
    if root.kind != _ROOT:
        raise DamagedContainer("the directory has no root entry")
    for e in entries:
        if e.kind in (_STREAM, _ROOT) and e.size > len(data):
            raise DamagedContainer(f"stream {e.name!r} is larger than the file")

    mini = b""
    mini_fat: array[int] = array("I")
    if n_mini:
        mini_fat = _u32_table(
            b"".join(sector(s) for s in chain(first_mini, "mini allocation table", n_mini))
        )
    if root.size:
        root_chain = chain(root.start, "mini stream", -(-root.size // size))
        mini = b"".join(sector(s) for s in root_chain)[: root.size]
    n_mini_sectors = len(mini) // _MINI_SECTOR
    mini_claimed = bytearray(n_mini_sectors)

    def mini_chain(start: int, name: str, need: int) -> tuple[int, ...]:
        out: list[int] = []
        current = start
        while current != _END and len(out) < need:
            if current >= n_mini_sectors or current >= len(mini_fat):
                raise DamagedContainer(f"stream {name!r} points past the end of the mini stream")
            if mini_claimed[current]:
                raise DamagedContainer(f"the chain of stream {name!r} loops or overlaps")
            mini_claimed[current] = 1
            out.append(current)
            current = mini_fat[current]
        if len(out) < need:
            raise DamagedContainer(f"stream {name!r} is shorter than its size")
        return tuple(out)

    chains: dict[int, tuple[int, ...]] = {}
    for index, e in enumerate(entries):
        if e.kind != _STREAM or not e.size:
            chains[index] = ()
        elif e.size < _MINI_CUTOFF:
            chains[index] = mini_chain(e.start, e.name, -(-e.size // _MINI_SECTOR))
        else:
            chains[index] = chain(e.start, f"stream {e.name!r}", -(-e.size // size))
    return CompoundFile(data, size, entries, chains, mini)


def _entry(raw: bytes, off: int, major: int) -> Entry:
    length = struct.unpack_from("<H", raw, off + 64)[0]
    kind = raw[off + 66]
    if kind not in (0, _STORAGE, _STREAM, _ROOT):
        raise DamagedContainer("a directory entry has an unknown type")
    if kind and not 2 <= length <= 64:
        raise DamagedContainer("a directory entry has a bad name")
    name = raw[off : off + max(length - 2, 0)].decode("utf-16-le", errors="replace")
    start = struct.unpack_from("<I", raw, off + 116)[0]
    # Version 3 files keep only 32 bits of a stream's size; the high half may be garbage.
    size = struct.unpack_from("<I" if major == 3 else "<Q", raw, off + 120)[0]
    return Entry(name, kind, start, size)


def write_compound(streams: dict[str, bytes]) -> bytes:
    """A version-4 compound file holding ``streams`` as ordinary (not mini) streams.

    Streams are padded with zeros to at least the 4,096-byte mini-stream cutoff, so the file
    needs no mini stream; the padding lies after a workbook's last record, where nobody reads.
    """
    size = 4096
    per_sector = size // 4
    names = list(streams)
    payloads = [streams[n].ljust(_MINI_CUTOFF, b"\0") for n in names]
    counts = [-(-len(p) // size) for p in payloads]
    n_dir = -(-(len(names) + 1) // (size // 128))
    # One empty sector for the root entry: calamine wants a version-4 root to start somewhere.
    body = n_dir + 1 + sum(counts)
    n_fat = -(-body // per_sector)
    while -(-(body + n_fat) // per_sector) > n_fat:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("streams too large for a container without DIFAT sectors")
    fat = [_FATSECT] * n_fat
    first_dir = len(fat)
    fat += [first_dir + i + 1 for i in range(n_dir - 1)] + [_END]
    root_sector = len(fat)
    fat.append(_END)
    starts = []
    for count in counts:
        first = len(fat)
        starts.append(first)
        fat += [first + i + 1 for i in range(count - 1)] + [_END]
    fat += [_FREE] * (n_fat * per_sector - len(fat))

    header = bytearray(size)
    header[0:8] = MAGIC
    struct.pack_into("<HHHHHH", header, 24, 0x3E, 4, 0xFFFE, 12, 6, 0)
    struct.pack_into(
        "<IIIIIIIII", header, 40, n_dir, n_fat, first_dir, 0, _MINI_CUTOFF, _END, 0, _END, 0
    )
    struct.pack_into("<109I", header, 76, *(list(range(n_fat)) + [_FREE] * (109 - n_fat)))

    def entry(name: str, kind: int, child: int, right: int, start: int, length: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        out = bytearray(128)
        out[0 : len(raw)] = raw
        struct.pack_into("<HBB", out, 64, len(raw), kind, 1)  # 1: black, in the red-black tree
        struct.pack_into("<III", out, 68, _NOSTREAM, right, child)
        struct.pack_into("<IQ", out, 116, start, length)
        return bytes(out)

    directory = [entry("Root Entry", _ROOT, 1 if names else _NOSTREAM, _NOSTREAM, root_sector, 0)]
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else _NOSTREAM
        directory.append(entry(name, _STREAM, _NOSTREAM, right, starts[i], len(payloads[i])))
    blank = bytearray(128)
    struct.pack_into("<III", blank, 68, _NOSTREAM, _NOSTREAM, _NOSTREAM)
    directory += [bytes(blank)] * (n_dir * (size // 128) - len(directory))

    parts = [bytes(header), struct.pack(f"<{len(fat)}I", *fat), b"".join(directory), b"\0" * size]
    for payload, count in zip(payloads, counts, strict=True):
        parts.append(payload.ljust(count * size, b"\0"))
    return b"".join(parts)

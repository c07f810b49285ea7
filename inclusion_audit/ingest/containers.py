"""What a spreadsheet or Parquet file says about its own size, read before the file is.

The readers (calamine for ``.xls``, polars for Parquet) build the whole sheet, or
whole row groups, in memory. A small hostile file can declare far more: an
``.xls`` cell that points at a shared string is one 14-byte record, but each
such cell becomes its own copy of the string (65,536 rows of a 30,000-character
string is 2 GB from a 3 MB file); a Parquet file's row groups can each unpack to
gigabytes. These functions read only the files' own directories (the ``.xls``
workbook's shared-string table and cell records; the Parquet footer), so
``ingest.readers`` can refuse such a file with the numbers before reading it.

Nothing here interprets a value: only sizes and counts are read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CELL_BYTES = 32
"""What a reader holds for one cell besides its text (calamine's cell value)."""


class ContainerError(ValueError):
    """The file's own directory is damaged: it is not the format its name says."""


# -- .xls: an OLE2 compound file holding a BIFF8 "Workbook" stream -------------------

_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_FREE, _END_OF_CHAIN = 0xFFFFFFFF, 0xFFFFFFFE
_SST, _CONTINUE, _LABELSST, _LABEL, _DIMENSIONS = 0x00FC, 0x003C, 0x00FD, 0x0204, 0x0200
_CELLS = frozenset(
    {0x0203, 0x027E, 0x0205, 0x0006, 0x0201}
)  # number, RK, bool/error, formula, blank
_MULRK, _MULBLANK = 0x00BD, 0x00BE


@dataclass(frozen=True)
class SpreadsheetSize:
    """An ``.xls`` workbook's rows (its largest sheet), cells and unpacked bytes."""

    rows: int
    cells: int
    unpacked_bytes: int


def xls_size(path: Path) -> SpreadsheetSize | None:
    """The size an ``.xls`` workbook unpacks to; None for a file too small to matter
    (its workbook stream is under 4 KB) or one that is not an OLE2 file at all.

    Raises ``ContainerError`` for a damaged file.
    """
    data = path.read_bytes()
    if not data.startswith(_OLE_MAGIC):
        return None
    stream = _ole_stream(data, ("workbook", "book"))
    if stream is None:
        return None
    return _biff_size(stream)


def _ole_stream(data: bytes, names: tuple[str, ...]) -> bytes | None:
    """The named stream of an OLE2 file (regular sectors only; None for a small one)."""
    if len(data) < 512:
        raise ContainerError("the file is shorter than its header")
    shift = struct.unpack_from("<H", data, 30)[0]
    if shift not in (9, 12):
        raise ContainerError("its sector size is not one Excel writes")
    size = 1 << shift
    n_fat, first_dir, cutoff, first_difat, n_difat = (
        struct.unpack_from("<I", data, 44)[0],
        struct.unpack_from("<I", data, 48)[0],
        struct.unpack_from("<I", data, 56)[0],
        struct.unpack_from("<I", data, 68)[0],
        struct.unpack_from("<I", data, 72)[0],
    )
    n_sectors = (len(data) - 512) // size + 1

    def sector(index: int) -> bytes:
        if index >= n_sectors:
            raise ContainerError("a sector number points past the end of the file")
        start = 512 + index * size
        return data[start : start + size]

    fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s != _FREE]
    next_difat, seen = first_difat, 0
    while next_difat not in (_FREE, _END_OF_CHAIN) and seen < n_difat:
        block = struct.unpack(f"<{size // 4}I", sector(next_difat))
        fat_sectors += [s for s in block[:-1] if s != _FREE]
        next_difat, seen = block[-1], seen + 1
    if len(fat_sectors) < n_fat:
        raise ContainerError("its sector table is incomplete")
    fat: list[int] = []
    for index in fat_sectors[:n_fat]:
        fat.extend(struct.unpack(f"<{size // 4}I", sector(index)))

    def chain(start: int) -> bytes:
        parts, current, steps = [], start, 0
        while current not in (_END_OF_CHAIN, _FREE):
            if current >= len(fat) or steps > n_sectors:
                raise ContainerError("a sector chain is broken or loops")
            parts.append(sector(current))
            current, steps = fat[current], steps + 1
        return b"".join(parts)

    directory = chain(first_dir)
    for offset in range(0, len(directory) - 127, 128):
        name_bytes = struct.unpack_from("<H", directory, offset + 64)[0]
        name = directory[offset : offset + max(name_bytes - 2, 0)].decode("utf-16-le", "replace")
        kind = directory[offset + 66]
        if kind == 2 and name.lower() in names:
            start, length = struct.unpack_from("<IQ", directory, offset + 116)
            if size == 512:  # version 3 files leave the high half undefined
                length &= 0xFFFFFFFF
            if length < cutoff:
                return None  # in the mini stream: a few kilobytes at most
            return chain(start)[:length]
    raise ContainerError("it has no workbook stream")


def _biff_size(stream: bytes) -> SpreadsheetSize:
    """Rows, cells and unpacked bytes from a BIFF8 workbook's records."""
    records: list[tuple[int, bytes]] = []
    offset = 0
    while offset + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, offset)
        records.append((kind, stream[offset + 4 : offset + 4 + length]))
        offset += 4 + length
    strings: list[int] = []
    rows = cells = text = 0
    for index, (kind, body) in enumerate(records):
        if kind == _SST:
            segments = [body[8:]]
            for later_kind, later in records[index + 1 :]:
                if later_kind != _CONTINUE:
                    break
                segments.append(later)
            strings = _shared_string_lengths(segments)
        elif kind == _DIMENSIONS and len(body) >= 8:
            rows = max(rows, struct.unpack_from("<I", body, 4)[0])
        elif kind == _LABELSST and len(body) >= 10:
            cells += 1
            position = struct.unpack_from("<I", body, 6)[0]
            text += strings[position] if position < len(strings) else 0
        elif kind == _LABEL and len(body) >= 8:
            cells += 1
            text += struct.unpack_from("<H", body, 6)[0]
        elif kind in _CELLS:
            cells += 1
        elif kind in (_MULRK, _MULBLANK) and len(body) >= 6:
            each = 6 if kind == _MULRK else 2
            cells += max((len(body) - 6) // each, 0)
    # UTF-8 takes up to 3 bytes for a character of the Basic Multilingual Plane.
    return SpreadsheetSize(rows, cells, cells * _CELL_BYTES + 3 * text)


class _Segments:
    """Bytes across an SST record and its CONTINUE records."""

    def __init__(self, segments: list[bytes]) -> None:
        self.segments = segments
        self.index = 0
        self.offset = 0

    def at_end(self) -> bool:
        while self.index < len(self.segments) and self.offset >= len(self.segments[self.index]):
            self.index, self.offset = self.index + 1, 0
        return self.index >= len(self.segments)

    def take(self, n: int) -> bytes:
        out = b""
        while n > 0:
            if self.at_end():
                raise ContainerError("its shared-string table ends inside a string")
            segment = self.segments[self.index]
            piece = segment[self.offset : self.offset + n]
            out += piece
            self.offset += len(piece)
            n -= len(piece)
        return out

    def skip(self, n: int) -> None:
        while n > 0:
            if self.at_end():
                raise ContainerError("its shared-string table ends inside a string")
            step = min(n, len(self.segments[self.index]) - self.offset)
            self.offset += step
            n -= step

    def skip_characters(self, count: int, wide: bool) -> None:
        """Characters may run on into the next CONTINUE, which starts with its own flag."""
        while count > 0:
            if self.at_end():
                raise ContainerError("its shared-string table ends inside a string")
            room = len(self.segments[self.index]) - self.offset
            width = 2 if wide else 1
            step = min(count, room // width)
            self.offset += step * width
            count -= step
            if count > 0:
                self.index, self.offset = self.index + 1, 0
                if self.at_end():
                    raise ContainerError("its shared-string table ends inside a string")
                wide = bool(self.take(1)[0] & 0x01)


def _shared_string_lengths(segments: list[bytes]) -> list[int]:
    """The character count of every string in the shared-string table."""
    reader = _Segments(segments)
    lengths = []
    while not reader.at_end():
        count, flags = struct.unpack("<HB", reader.take(3))
        runs = struct.unpack("<H", reader.take(2))[0] if flags & 0x08 else 0
        extra = struct.unpack("<I", reader.take(4))[0] if flags & 0x04 else 0
        reader.skip_characters(count, bool(flags & 0x01))
        reader.skip(4 * runs + extra)
        lengths.append(count)
    return lengths


# -- Parquet: the footer's Thrift (compact protocol) FileMetaData --------------------


@dataclass(frozen=True)
class ParquetSize:
    """A Parquet file's columns, rows, row groups and uncompressed bytes (whole file,
    and its largest row group)."""

    columns: int
    rows: int
    row_groups: int
    uncompressed_bytes: int
    largest_row_group_bytes: int


_MAX_FOOTER_BYTES = 16 * 1024**2
"""A footer larger than this is refused unread (2,000 columns in 100 row groups take ~30 MB
only with statistics; ordinary registers' footers are kilobytes)."""


def parquet_size(path: Path) -> ParquetSize:
    """The sizes a Parquet file's footer declares. Raises ``ContainerError`` for a
    file whose footer is missing, too large or damaged."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        if size < 12:
            raise ContainerError("the file is shorter than a Parquet footer")
        handle.seek(size - 8)
        tail = handle.read(8)
        if tail[4:] != b"PAR1":
            raise ContainerError("it does not end with the Parquet marker")
        length = struct.unpack("<I", tail[:4])[0]
        if length > min(size - 12, _MAX_FOOTER_BYTES):
            raise ContainerError(f"its footer declares {length:,} bytes")
        handle.seek(size - 8 - length)
        footer = handle.read(length)
    metadata = _Compact(footer).struct()
    schema = metadata.get(2) or []
    # Leaf columns are the schema elements without children (field 5, num_children).
    columns = sum(1 for element in schema if isinstance(element, dict) and not element.get(5))
    groups = metadata.get(4) or []
    sizes = [int(g.get(2, 0)) for g in groups if isinstance(g, dict)]
    return ParquetSize(
        columns=columns,
        rows=int(metadata.get(3, 0)),
        row_groups=len(groups),
        uncompressed_bytes=sum(sizes),
        largest_row_group_bytes=max(sizes, default=0),
    )


class _Compact:
    """Just enough of Thrift's compact protocol to read a footer into nested dicts
    (field id → value). Depth and list sizes are bounded by the footer's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0
        self.depth = 0

    def byte(self) -> int:
        if self.position >= len(self.data):
            raise ContainerError("its footer ends early")
        value = self.data[self.position]
        self.position += 1
        return value

    def varint(self) -> int:
        result = shift = 0
        while True:
            value = self.byte()
            result |= (value & 0x7F) << shift
            if not value & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise ContainerError("its footer holds a number that never ends")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def value(self, kind: int) -> Any:
        if kind in (1, 2):
            return kind == 1
        if kind == 3:
            return self.byte()
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 7:
            self.position += 8
            return None
        if kind == 8:
            length = self.varint()
            if self.position + length > len(self.data):
                raise ContainerError("its footer ends early")
            self.position += length
            return length
        if kind in (9, 10):
            header = self.byte()
            count = header >> 4
            if count == 15:
                count = self.varint()
            element = header & 0x0F
            if count > len(self.data) - self.position + 1:
                raise ContainerError("its footer declares a list longer than itself")
            if element in (1, 2):
                self.position += count
                return [None] * count
            return [self.value(element) for _ in range(count)]
        if kind == 11:
            count = self.varint()
            if count:
                types = self.byte()
                if 2 * count > len(self.data) - self.position:
                    raise ContainerError("its footer declares a map longer than itself")
                for _ in range(count):
                    self.value(types >> 4)
                    self.value(types & 0x0F)
            return None
        if kind == 12:
            return self.struct()
        raise ContainerError(f"its footer holds an unknown type ({kind})")

    def struct(self) -> dict[int, Any]:
        self.depth += 1
        if self.depth > 64:
            raise ContainerError("its footer is nested too deeply")
        fields: dict[int, Any] = {}
        last = 0
        while True:
            header = self.byte()
            if header == 0:
                break
            delta, kind = header >> 4, header & 0x0F
            last = last + delta if delta else self.zigzag()
            fields[last] = self.value(kind)
        self.depth -= 1
        return fields

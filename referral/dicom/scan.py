"""A structural check of a DICOM file before anything trusts it.

pydicom is forgiving by design: it reads what it can and warns about the rest.
An upload from the outside needs the opposite, so before pydicom sees a file
this walks its element stream without decoding values and refuses, with the
reason, a file that:

- is not DICOM at all (no DICM prefix and no plausible first element),
- declares a length that runs past its container or the end of the file,
- ends inside an element, a sequence or the compressed pixel data (truncated),
- nests sequences deeper than the limit, or has absurdly many elements.

The walk is iterative (no recursion to exhaust) over a read-only memory map
(no copy of the file in memory), and it reports where the pixel data is so the
caller can compare its length with what the image attributes promise.
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass, field

from pydicom.datadict import dictionary_VR

from .limits import Limits, human_bytes

UNDEFINED = 0xFFFFFFFF
ITEM = (0xFFFE, 0xE000)
ITEM_END = (0xFFFE, 0xE00D)
SEQUENCE_END = (0xFFFE, 0xE0DD)
PIXEL_DATA = (0x7FE0, 0x0010)
PIXEL_TAGS = {(0x7FE0, 0x0010), (0x7FE0, 0x0008), (0x7FE0, 0x0009)}
TOP_VALUE_BYTES = 1024  # top-level values kept by the walk (`Structure.top`) for reading without pydicom

LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
SHORT_VRS = {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN", b"SH",
             b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}
ALL_VRS = LONG_VRS | SHORT_VRS

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"


class InvalidDicom(ValueError):
    """The file cannot be accepted; the message says why in words a person understands."""


class NotDicom(InvalidDicom):
    pass


class Truncated(InvalidDicom):
    pass


@dataclass
class PixelLocation:
    offset: int  # of the value, in the (inflated) dataset stream
    length: int | None  # None: encapsulated (undefined length)
    fragments: list[int] = field(default_factory=list)  # lengths of the compressed fragments (no offset table)
    offset_table_length: int = 0


@dataclass
class Structure:
    """What the walk learned about a file that passed it."""

    has_meta: bool
    transfer_syntax: str  # from the file meta, or the encoding found when there is none
    meta_complete: bool  # the meta names the transfer syntax and the SOP instance
    dataset_offset: int  # where the data set starts in the file
    elements: int
    pixels: PixelLocation | None
    # The top-level elements (little endian data sets only): tag -> (VR as written, or None when
    # implicit; the value's bytes, or None when longer than TOP_VALUE_BYTES or a sequence).
    top: dict[int, tuple[str | None, bytes | None]] = field(default_factory=dict)


def _tag_str(tag: tuple[int, int]) -> str:
    return f"({tag[0]:04X},{tag[1]:04X})"


def _is_vr(b: bytes) -> bool:
    return len(b) == 2 and 65 <= b[0] <= 90 and 65 <= b[1] <= 90


def _implicit_is_sequence(tag: tuple[int, int], length: int) -> bool:
    """Whether an implicit-VR element holds a sequence (the dictionary knows; private ones we infer)."""
    try:
        return dictionary_VR((tag[0] << 16) | tag[1]) == "SQ"
    except KeyError:
        return length == UNDEFINED


def scan_file(path: str | os.PathLike, limits: Limits) -> Structure:
    """Walk the file at `path`; raise `InvalidDicom` (with the reason) or describe its structure."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            raise NotDicom("the file is empty")
        if size > limits.max_file_bytes:
            raise InvalidDicom(
                f"the file is {human_bytes(size)}, more than the limit of {human_bytes(limits.max_file_bytes)}")
        mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)  # the map keeps its own reference to the file
    with mapped as mm:
        has_meta, complete, ts, ds_offset = _header(mm, size)
        if ts == DEFLATED_LE:
            return _scan_deflated(mm, ds_offset, has_meta, complete, limits)
        explicit = ts != IMPLICIT_LE
        little = ts != EXPLICIT_BE
        top: dict[int, tuple[str | None, bytes | None]] = {}
        count, pixels = _walk(mm, ds_offset, size, explicit, little, limits, top if little else None)
    return Structure(has_meta, ts, complete, ds_offset, count, pixels, top)


def _scan_deflated(mm: mmap.mmap, ds_offset: int, has_meta: bool, complete: bool, limits: Limits) -> Structure:
    """Deflated data sets are inflated (bounded) into a temporary file and walked there."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    chunk_size = 1 << 20
    with tempfile.TemporaryFile() as tmp:
        written = 0
        for offset in range(ds_offset, len(mm), chunk_size):
            data = mm[offset:offset + chunk_size]
            while data:
                out = inflater.decompress(data, 4 * chunk_size)
                written += len(out)
                if written > limits.max_file_bytes:
                    raise InvalidDicom("the deflated data set inflates beyond the size limit")
                tmp.write(out)
                data = inflater.unconsumed_tail
        tmp.write(inflater.flush())
        tmp.flush()
        tmp_size = tmp.tell()
        if tmp_size == 0:
            raise Truncated("the deflated data set is empty")
        with mmap.mmap(tmp.fileno(), 0, access=mmap.ACCESS_READ) as inflated:
            count, pixels = _walk(inflated, 0, tmp_size, True, True, limits)
    return Structure(has_meta, DEFLATED_LE, complete, ds_offset, count, pixels)


def _header(mm: mmap.mmap, size: int) -> tuple[bool, bool, str, int]:
    """(has file meta, meta complete, transfer syntax, data set offset)."""
    if size >= 132 and mm[128:132] == b"DICM":
        ts, sop, offset = _meta(mm, 132, size)
    elif size >= 8 and struct.unpack_from("<H", mm, 0)[0] == 0x0002 and _is_vr(mm[4:6]):
        ts, sop, offset = _meta(mm, 0, size)  # a meta header without the preamble
    else:
        return False, False, _guess_encoding(mm, 0, size), 0
    # A meta header that forgot the transfer syntax: find it from the data set, as for no header.
    return True, bool(ts and sop), ts or _guess_encoding(mm, offset, size), offset


def _meta(mm: mmap.mmap, pos: int, size: int) -> tuple[str | None, bool, int]:
    """Walk the file meta group (always explicit VR little endian): (transfer syntax, has SOP UID, end)."""
    ts, sop = None, False
    while pos + 8 <= size:
        group, elem = struct.unpack_from("<HH", mm, pos)
        if group != 0x0002:
            break
        vr = mm[pos + 4:pos + 6]
        if vr in LONG_VRS:
            if pos + 12 > size:
                raise Truncated("the file ends inside its meta header")
            length = struct.unpack_from("<I", mm, pos + 8)[0]
            start = pos + 12
        elif vr in SHORT_VRS:
            length = struct.unpack_from("<H", mm, pos + 6)[0]
            start = pos + 8
        else:
            raise InvalidDicom(f"the file meta header is malformed at element {_tag_str((group, elem))}")
        if length == UNDEFINED or start + length > size:
            raise Truncated(f"meta header element {_tag_str((group, elem))} runs past the end of the file")
        value = bytes(mm[start:start + length]).rstrip(b"\x00 ")
        if elem == 0x0010:
            ts = value.decode("ascii", "replace")
        elif elem == 0x0003:
            sop = bool(value)
        pos = start + length
    return ts or None, sop, pos


def _guess_encoding(mm: mmap.mmap, pos: int, size: int) -> str:
    """A data set without file meta: find how it is encoded from its first element."""
    if size - pos < 8:
        raise NotDicom("not a DICOM file: too short and no DICM prefix")
    g_le = struct.unpack_from("<H", mm, pos)[0]
    g_be = struct.unpack_from(">H", mm, pos)[0]
    vr = mm[pos + 4:pos + 6]
    if 0x0002 <= g_le <= 0x0020 and g_le % 2 == 0:
        if _is_vr(vr) and vr in ALL_VRS:
            return EXPLICIT_LE
        length = struct.unpack_from("<I", mm, pos + 4)[0]
        if length == UNDEFINED or pos + 8 + length <= size:
            return IMPLICIT_LE
    if 0x0002 <= g_be <= 0x0020 and g_be % 2 == 0 and _is_vr(vr) and vr in ALL_VRS:
        return EXPLICIT_BE
    raise NotDicom("not a DICOM file: no DICM prefix and the data does not start like a DICOM data set")


@dataclass
class _Container:
    kind: str  # "sequence" | "item"
    tag: tuple[int, int]
    end: int | None  # None: undefined length, ends at a delimiter
    explicit: bool


def _walk(mm, pos: int, size: int, explicit: bool, little: bool, limits: Limits,
          top_level: dict[int, tuple[str | None, bytes | None]] | None = None):
    """Walk the data set; return (element count, pixel data location). The top-level elements
    go into `top_level` on the way, when given (see `Structure.top`)."""
    endian = "<" if little else ">"
    u16, u32, tag_fmt = endian + "H", endian + "I", endian + "HH"
    unpack_tag = struct.Struct(tag_fmt).unpack_from
    unpack_u16, unpack_u32 = struct.Struct(u16).unpack_from, struct.Struct(u32).unpack_from
    max_elements = limits.max_elements
    stack: list[_Container] = []
    count = 0
    pixels: PixelLocation | None = None
    depth = 0

    while True:
        top = stack[-1] if stack else None
        limit = top.end if top is not None and top.end is not None else size
        if pos >= limit:
            if pos > limit:
                raise InvalidDicom(f"an element overruns the end of {_where(top)}")
            if top is None:
                break
            if top.end is None:
                raise Truncated(f"the file ends inside {_where(top)} (truncated: no end marker)")
            stack.pop()
            depth -= top.kind == "sequence"
            continue
        if limit - pos < 8:
            if top is None and not any(mm[pos:size]):
                break  # trailing zero padding after the last element
            raise Truncated(f"the file ends in the middle of an element inside {_where(top)}")
        tag = unpack_tag(mm, pos)
        count += 1
        if count > max_elements:
            raise InvalidDicom(f"the file has more than {limits.max_elements} elements")
        cur_explicit = top.explicit if top is not None else explicit

        if top is not None and top.kind == "sequence":
            length = unpack_u32(mm, pos + 4)[0]
            if tag == SEQUENCE_END:
                if top.end is not None:
                    raise InvalidDicom(f"{_where(top)} has an unexpected end marker")
                stack.pop()
                depth -= 1
                pos += 8
                continue
            if tag != ITEM:
                raise InvalidDicom(f"{_where(top)} holds {_tag_str(tag)} where an item was expected")
            if length == UNDEFINED:
                stack.append(_Container("item", top.tag, None, cur_explicit))
            else:
                _check_length(tag, pos + 8, length, limit, size)
                stack.append(_Container("item", top.tag, pos + 8 + length, cur_explicit))
            pos += 8
            continue

        if tag == ITEM_END:
            if top is None or top.end is not None:
                raise InvalidDicom("an item end marker appears outside an item")
            stack.pop()
            pos += 8
            continue
        if tag[0] == 0xFFFE:
            raise InvalidDicom(f"a delimiter {_tag_str(tag)} appears where an element was expected")

        vr = mm[pos + 4:pos + 6] if cur_explicit else None  # bytes (a slice of a map is a copy)
        if vr in SHORT_VRS:
            length = unpack_u16(mm, pos + 6)[0]
            start = pos + 8
        elif vr in LONG_VRS:
            if limit - pos < 12:
                raise Truncated(f"the file ends inside the header of element {_tag_str(tag)}")
            length = unpack_u32(mm, pos + 8)[0]
            start = pos + 12
        else:  # implicit VR, or an explicit data set that holds an implicit element after all
            vr = None
            length = unpack_u32(mm, pos + 4)[0]
            start = pos + 8

        is_sequence = vr == b"SQ" or (vr is None and _implicit_is_sequence(tag, length))
        if top_level is not None and not stack:
            small = not is_sequence and length != UNDEFINED and length <= TOP_VALUE_BYTES and start + length <= size
            top_level[(tag[0] << 16) | tag[1]] = (vr.decode() if vr else None,
                                                  bytes(mm[start:start + length]) if small else None)
        if tag == PIXEL_DATA and length == UNDEFINED:
            if stack:
                raise InvalidDicom("compressed pixel data appears inside a sequence")
            pixels, pos = _fragments(mm, start, size, tag_fmt, u32)
            continue
        if length == UNDEFINED:
            if not (is_sequence or vr == b"UN"):
                raise InvalidDicom(f"element {_tag_str(tag)} has an undefined length but is not a sequence")
            depth += 1
            _check_depth(depth, limits)
            # Undefined-length UN holds an implicit VR little endian sequence (PS3.5 6.2.2).
            stack.append(_Container("sequence", tag, None, cur_explicit and vr != b"UN"))
            pos = start
            continue
        _check_length(tag, start, length, limit, size)
        if is_sequence:
            depth += 1
            _check_depth(depth, limits)
            stack.append(_Container("sequence", tag, start + length, cur_explicit))
            pos = start
            continue
        if tag == PIXEL_DATA and not stack:
            pixels = PixelLocation(start, length)
        pos = start + length
    return count, pixels


def _fragments(mm, pos: int, size: int, tag_fmt: str, u32: str) -> tuple[PixelLocation, int]:
    """Walk encapsulated pixel data: the offset table item, fragments, then the end marker."""
    location = PixelLocation(pos, None)
    first = True
    while True:
        if pos + 8 > size:
            raise Truncated("the compressed pixel data ends before its end marker (the file is truncated)")
        tag = struct.unpack_from(tag_fmt, mm, pos)
        length = struct.unpack_from(u32, mm, pos + 4)[0]
        if tag == SEQUENCE_END:
            return location, pos + 8
        if tag != ITEM:
            raise InvalidDicom(f"the compressed pixel data holds {_tag_str(tag)} where a fragment was expected")
        if length == UNDEFINED or pos + 8 + length > size:
            raise Truncated("a compressed pixel data fragment runs past the end of the file (the file is truncated)")
        if first:
            location.offset_table_length = length
            first = False
        else:
            location.fragments.append(length)
        pos += 8 + length


def _check_length(tag, start: int, length: int, limit: int, size: int) -> None:
    if start + length > size:
        raise Truncated(
            f"element {_tag_str(tag)} says it is {human_bytes(length)} long but only "
            f"{human_bytes(max(size - start, 0))} remain in the file (the file is truncated, or the length runs "
            "beyond the end of the file)"
        )
    if start + length > limit:
        raise InvalidDicom(f"element {_tag_str(tag)} is longer than the sequence item that contains it")


def _check_depth(depth: int, limits: Limits) -> None:
    if depth > limits.max_sequence_depth:
        raise InvalidDicom(f"sequences are nested more than {limits.max_sequence_depth} levels deep")


def _where(container: _Container | None) -> str:
    if container is None:
        return "the data set"
    what = "sequence" if container.kind == "sequence" else "an item of sequence"
    return f"{what} {_tag_str(container.tag)}"


"""Hostile and broken inputs, built byte by byte (nothing here is a real patient's file)."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid


def _meta_prefix(sop_class: str = "1.2.840.10008.5.1.4.1.1.7", sop_uid: str | None = None,
                 syntax: str = ExplicitVRLittleEndian) -> bytes:
    """Preamble, DICM and a file meta group, as bytes."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_file_meta_info

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid or generate_uid()
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = "1.2.3.4"
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, False
    write_file_meta_info(buf, meta)
    return b"\x00" * 128 + b"DICM" + buf.getvalue()


def _element(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b" " if vr not in (b"OB", b"UI") else b"\x00"
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        return struct.pack("<HH", group, elem) + vr + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value


def _uids() -> bytes:
    return (_element(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.7")
            + _element(0x0008, 0x0018, b"UI", generate_uid().encode())
            + _element(0x0010, 0x0010, b"PN", "测试^患者".encode("gb18030")))


def not_dicom() -> bytes:
    return "这不是DICOM文件 — just a text file.\n".encode() * 20


def truncated(valid: Path, keep: float = 0.5) -> bytes:
    data = valid.read_bytes()
    return data[: int(len(data) * keep)]


def length_beyond_file() -> bytes:
    """An element whose declared length runs far past the end of the file."""
    body = _element(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.7")
    body += struct.pack("<HH", 0x0010, 0x0010) + b"PN" + struct.pack("<H", 0xFFF0) + b"Zhang^San"
    return _meta_prefix() + body


def long_value_beyond_file() -> bytes:
    """A 4-byte length (OB) claiming about 2 GB in a file of a few hundred bytes."""
    body = _uids() + struct.pack("<HH", 0x0011, 0x0010) + b"OB\x00\x00" + struct.pack("<I", 0x7FFF0000) + b"\x00" * 16
    return _meta_prefix() + body


def deep_sequences(depth: int = 400) -> bytes:
    """Sequences nested `depth` levels deep (undefined lengths), then properly closed."""
    seq_open = struct.pack("<HH", 0x0040, 0xA730) + b"SQ\x00\x00" + b"\xff\xff\xff\xff"  # Content Sequence
    item_open = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    item_close = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    seq_close = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    body = _uids() + (seq_open + item_open) * depth + (item_close + seq_close) * depth
    return _meta_prefix() + body


def huge_dimensions(frames: int = 5000) -> bytes:
    """An image header promising 65535×65535 pixels × many frames (terabytes) with tiny compressed data."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.Rows = ds.Columns = 65535
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    from pydicom.encaps import encapsulate

    ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9"] * 2)
    ds["PixelData"].VR = "OB"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.70"
    ds.file_meta = meta
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def zip_of(entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None,
           compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            zf.writestr(info, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            info.create_system = 3
            zf.writestr(info, target)
    return buf.getvalue()


def zip_bomb_ratio(size: int = 64 * 1024 * 1024) -> bytes:
    """One entry of zeros that deflates more than a thousandfold."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("CT0001.dcm", "w", force_zip64=True) as fh:
            chunk = b"\x00" * (1 << 20)
            for _ in range(size // len(chunk)):
                fh.write(chunk)
    return buf.getvalue()


def zip_bomb_entries(count: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for n in range(count):
            zf.writestr(f"IMG{n:06d}.dcm", b"")
    return buf.getvalue()


def zip_nested(inner: bytes, depth: int = 3) -> bytes:
    data = inner
    for n in range(depth):
        data = zip_of({f"level{n}.zip": data})
    return data

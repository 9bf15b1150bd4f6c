"""Reading a DICOM file into the facts the index and the viewer need.

The order matters: the structural walk (`scan.py`) first, then pydicom with
`stop_before_pixels` (metadata only; pixels are decoded later, one frame at a
time, by the renderer), then the checks that compare what the image
attributes promise with what the file holds. A file without a file meta
header, or without study and series UIDs, is normalised into a complete Part
10 file; the normalised bytes are what is stored, hashed and served.
"""

from __future__ import annotations

import math
import struct
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pydicom
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomFileLike
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, generate_uid

from .limits import Limits, human_bytes
from .scan import InvalidDicom, Structure, Truncated, scan_file

# Tags read through raw bytes so their character set can be judged here.
TEXT_TAGS = {
    "patient_name": 0x00100010,
    "patient_id": 0x00100020,
    "study_description": 0x00081030,
    "series_description": 0x0008103E,
    "institution": 0x00080080,
    "referring_physician": 0x00080090,
}
# Terms seen in the wild that are not DICOM defined terms, mapped to what they mean.
CHARSET_ALIASES = {
    "GB2312": "GB18030", "GB 2312": "GB18030", "GB_2312": "GB18030", "CHINESE": "GB18030", "GB 18030": "GB18030",
    "UTF-8": "ISO_IR 192", "UTF8": "ISO_IR 192", "ISO-IR 192": "ISO_IR 192", "ISO_IR192": "ISO_IR 192",
}
LATIN_DEFAULTS = {"", "ISO_IR 6", "ISO_IR 100", "ISO 2022 IR 6", "ISO 2022 IR 100"}
SEX = {"M": "male", "F": "female", "O": "other"}
DEFLATED = "1.2.840.10008.1.2.1.99"
NATIVE_SYNTAXES = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", DEFLATED}


@dataclass
class InstanceInfo:
    """Everything the index stores about one instance, in plain Python values."""

    sop_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str
    transfer_syntax: str
    patient_name: str = ""
    patient_id: str = ""
    patient_sex: str = ""
    patient_birth_date: date | None = None
    study_date: date | None = None
    study_time: str = ""
    accession_number: str = ""
    study_description: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    body_part: str = ""
    instance_number: int | None = None
    sort_key: float = 0.0
    frames: int = 0
    rows: int = 0
    columns: int = 0
    encapsulated: bool = False
    facts: dict = field(default_factory=dict)


@dataclass
class ParsedFile:
    """A file that passed every check, ready to be stored: `path` holds the bytes to store."""

    path: Path
    info: InstanceInfo
    structure: Structure
    normalised: bool  # True when `path` is a rewritten copy of the upload


def read_instance(path: Path, limits: Limits, workdir: Path) -> ParsedFile:
    """Check and parse the file at `path`; raise `InvalidDicom` with the reason, or describe it.

    When the file must be normalised, the complete Part 10 copy is written into
    `workdir` and `ParsedFile.path` points at it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's complaints about values; the checks here decide
        return _read_instance(path, limits, workdir)


def _read_instance(path: Path, limits: Limits, workdir: Path) -> ParsedFile:
    structure = scan_file(path, limits)
    facts = top_level_facts(structure)
    if facts is not None:  # the common case, read from what the walk saw: no second parse
        info = _instance_info(facts, structure)
        _check_pixels(facts, info, structure, limits)
        return ParsedFile(Path(path), info, structure, False)
    normalised = False
    if not structure.meta_complete:
        path = _with_file_meta(path, structure, workdir)
        structure = scan_file(path, limits)
        normalised = True
    ds = _read_metadata(path)
    if not ds.get("StudyInstanceUID") or not ds.get("SeriesInstanceUID"):
        path = _with_derived_uids(path, ds, workdir)
        structure = scan_file(path, limits)
        ds = _read_metadata(path)
        normalised = True
    info = _instance_info(ds, structure)
    _check_pixels(ds, info, structure, limits)
    return ParsedFile(path, info, structure, normalised)


def _read_metadata(path: Path) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path, stop_before_pixels=True, defer_size=256 * 1024)
        except Exception as exc:  # pydicom raises many kinds for malformed values
            raise InvalidDicom(f"the data set cannot be read: {exc}") from None


def _new_meta(sop_class: str, sop_uid: str, syntax: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = UID(syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta


def _with_file_meta(path: Path, structure: Structure, workdir: Path) -> Path:
    """Prefix the data set with a preamble and a file meta header, leaving its bytes untouched."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True, defer_size=1024)
        except Exception as exc:
            raise InvalidDicom(f"the data set cannot be read: {exc}") from None
    sop_uid = str(ds.get("SOPInstanceUID") or "")
    if not sop_uid:
        raise InvalidDicom("the file has no SOP Instance UID")
    target = workdir / (Path(path).name + ".p10")
    with open(path, "rb") as src, open(target, "wb") as out:
        out.write(b"\x00" * 128 + b"DICM")
        fp = DicomFileLike(out)
        fp.is_little_endian, fp.is_implicit_VR = True, False
        write_file_meta_info(fp, _new_meta(str(ds.get("SOPClassUID") or ""), sop_uid, structure.transfer_syntax))
        src.seek(structure.dataset_offset)
        while chunk := src.read(1 << 20):
            out.write(chunk)
    return target


def derived_uid(sop_uid: str, level: str) -> str:
    """A stable UID for a level the file does not name, derived from its SOP Instance UID."""
    return generate_uid(prefix="2.25.", entropy_srcs=[sop_uid, level])


def _with_derived_uids(path: Path, meta_ds: Dataset, workdir: Path) -> Path:
    """Give a file without study or series UIDs stable derived ones, so it can be indexed and served."""
    sop_uid = str(meta_ds.get("SOPInstanceUID") or "")
    if not sop_uid:
        raise InvalidDicom("the file has no SOP Instance UID")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
    if not ds.get("StudyInstanceUID"):
        ds.StudyInstanceUID = derived_uid(sop_uid, "study")
    if not ds.get("SeriesInstanceUID"):
        ds.SeriesInstanceUID = derived_uid(sop_uid, "series")
    target = workdir / (Path(path).name + ".uids")
    ds.save_as(target, enforce_file_format=True)
    return target


# ---------------------------------------------------------------- without pydicom

# The top-level attributes the index reads (`_instance_info`, `_display_facts`, `fast_layout`,
# `_check_pixels`): when the walk kept all of them in plain form, pydicom is not needed at all.
READ_KEYWORDS = (
    "SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientSex", "PatientBirthDate",
    "StudyDate", "StudyTime", "AccessionNumber", "Modality", "SeriesNumber", "BodyPartExamined",
    "InstanceNumber", "NumberOfFrames", "Rows", "Columns", "ImagePositionPatient", "ImageOrientationPatient",
    "SliceLocation", "PixelSpacing", "ImagerPixelSpacing", "WindowCenter", "WindowWidth", "RescaleSlope",
    "RescaleIntercept", "SliceThickness", "PhotometricInterpretation", "SamplesPerPixel", "BitsAllocated",
    "BitsStored", "PixelRepresentation", "Manufacturer", "ManufacturerModelName", "ProtocolName", "KVP",
    "XRayTubeCurrent", "ContentDate", "ImageType", "ConvolutionKernel", "VOILUTFunction",
)
# Attributes whose presence needs pydicom: the index reads inside their items (enhanced objects).
NEEDS_PYDICOM = ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence")
TEXT_VRS = frozenset({"CS", "DA", "DS", "IS", "LO", "SH", "TM", "UI"})
PER_VALUE_VRS = frozenset({"LO", "SH"})  # pydicom strips each value of these, the whole of the others
BINARY_VRS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d"}
_TAGS = {keyword: tag_for_keyword(keyword) for keyword in (*READ_KEYWORDS, *NEEDS_PYDICOM, "ModalityLUTSequence",
                                                           "VOILUTSequence", "SpecificCharacterSet")}


class _Raw:
    def __init__(self, value: bytes) -> None:
        self.value = value


class TopLevelFacts:
    """The part of pydicom's `Dataset` interface the index uses, over the values the structural
    walk kept (`Structure.top`), converted as pydicom converts them (the same values, the same
    refusals), so `_instance_info` gives the same answer either way."""

    def __init__(self, top: dict[int, tuple[str | None, bytes | None]], transfer_syntax: str) -> None:
        self._top = top
        self.file_meta = {"TransferSyntaxUID": transfer_syntax}

    def __contains__(self, keyword: str) -> bool:
        return _TAGS.get(keyword) in self._top

    def get_item(self, tag: int) -> _Raw | None:
        element = self._top.get(tag)
        return None if element is None or element[1] is None else _Raw(element[1])

    def get(self, keyword: str):
        element = self._top.get(_TAGS[keyword])
        if element is None:
            return None
        return _converted(_vr_of(_TAGS[keyword], element[0]), element[1] or b"")


def _vr_of(tag: int, written: str | None) -> str:
    if written is not None:
        return written
    try:
        return dictionary_VR(tag)
    except KeyError:
        return "UN"


def _converted(vr: str, raw: bytes):
    """A value as pydicom gives it: a string or number, a list for several, None when empty;
    an `IS` or `DS` that is not a number raises, as in pydicom."""
    if vr in BINARY_VRS:
        code = BINARY_VRS[vr]
        values = list(struct.unpack(f"<{len(raw) // struct.calcsize(code)}{code}", raw))
        return None if not values else values[0] if len(values) == 1 else values
    text = raw.decode("ascii")
    if vr in PER_VALUE_VRS:
        values = [value.rstrip(" \x00") for value in text.split("\\")]
    else:
        values = text.rstrip(" \x00").split("\\")
    for value in values if vr in ("IS", "DS") else ():
        if value.strip():
            float(value)  # pydicom refuses what is not a number (and reads "1.5" as IS 1, with a warning)
    return values[0] if len(values) == 1 else values


def top_level_facts(structure: Structure) -> TopLevelFacts | None:
    """The facts from the walk, when it kept everything the index reads in plain form; else None
    (pydicom reads the file: big endian, deflated, no file meta, enhanced objects, non-ASCII values)."""
    top = structure.top
    if not structure.meta_complete or not top or any(_TAGS[k] in top for k in NEEDS_PYDICOM):
        return None
    if _TAGS["StudyInstanceUID"] not in top or _TAGS["SeriesInstanceUID"] not in top \
            or _TAGS["SOPClassUID"] not in top:
        return None  # derived UIDs, or the SOP class from the file meta: the full path
    for keyword in READ_KEYWORDS:
        element = top.get(_TAGS[keyword])
        if element is not None and not _plain(_vr_of(_TAGS[keyword], element[0]), element[1]):
            return None
    for tag in (*TEXT_TAGS.values(), 0x00080005):
        element = top.get(tag)
        if element is not None and element[1] is None:
            return None
    return TopLevelFacts(top, structure.transfer_syntax)


def _plain(vr: str, raw: bytes | None) -> bool:
    """A value read the same whatever the character set: ASCII text (no escapes), or fixed-size numbers."""
    if raw is None:
        return False
    if vr in BINARY_VRS:
        return len(raw) % struct.calcsize(BINARY_VRS[vr]) == 0
    return vr in TEXT_VRS and raw.isascii() and b"\x1b" not in raw


# ---------------------------------------------------------------- facts


def _charset_terms(ds: Dataset) -> list[str]:
    raw = ds.get_item(0x00080005)
    if raw is None or raw.value is None:
        return []
    value = raw.value
    if isinstance(value, bytes):
        terms = value.decode("ascii", "replace").split("\\")
    elif isinstance(value, str):
        terms = value.split("\\")
    else:
        terms = [str(v) for v in value]
    terms = [t.strip(" \x00") for t in terms]
    return [CHARSET_ALIASES.get(t.strip().upper(), t.strip()) for t in terms]


def decode_text(raw: bytes, terms: list[str], *, person_name: bool = False) -> str:
    """Text of a DICOM element in the right character set.

    Files from Chinese equipment often declare nothing, or Latin-1, while the
    bytes are UTF-8 or GB18030: when the declared set cannot be right, the
    likelier one is used (UTF-8 first: it rarely decodes by accident).
    """
    raw = raw.rstrip(b"\x00 ")
    if raw.isascii():
        return raw.decode("ascii")
    declared = {t.upper() for t in terms}
    if declared <= LATIN_DEFAULTS:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        if not terms or declared <= {"", "ISO_IR 6"}:
            try:
                return raw.decode("gb18030")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
    delimiters = {0x5E, 0x3D} if person_name else {0x5C}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return decode_bytes(raw, convert_encodings(terms or ["ISO_IR 6"]), delimiters)
        except Exception:
            return raw.decode("utf-8", "replace")


def _text(ds: Dataset, tag: int, terms: list[str]) -> str:
    elem = ds.get_item(tag)
    if elem is None or elem.value is None:
        return ""
    value = elem.value
    if isinstance(value, bytes):
        return decode_text(value, terms, person_name=tag in (0x00100010, 0x00080090)).strip()
    return str(value).strip()


def _str(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:
        return ""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    raw = _str(ds, keyword).split("\\")[0].strip()
    try:
        return int(float(raw)) if raw else None
    except ValueError:
        return None


def _floats(value) -> list[float] | None:
    if value is None or value == "":
        return None
    items = value if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
    try:
        out = [float(v) for v in items]
    except (TypeError, ValueError):
        return None
    return out if all(math.isfinite(v) for v in out) else None


def _get(ds: Dataset, keyword: str):
    try:
        return ds.get(keyword)
    except Exception:
        return None


def _date(value: str) -> date | None:
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) < 8:
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def _functional(ds: Dataset, sequence: str, keyword: str):
    """An attribute of an enhanced multi-frame object: the shared group, else the first frame's."""
    for groups in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        try:
            item = _get(ds, groups)[0]
            return item.get(sequence)[0].get(keyword)
        except (TypeError, IndexError, AttributeError, KeyError):
            continue
    return None


def _sort_key(ds: Dataset, number: int | None) -> float:
    """Scroll order within a series: instance number, else position along the slice normal."""
    if number is not None:
        return float(number)
    position = _floats(_get(ds, "ImagePositionPatient"))
    orientation = _floats(_get(ds, "ImageOrientationPatient"))
    if position and orientation and len(position) == 3 and len(orientation) == 6:
        r, c = orientation[:3], orientation[3:]
        normal = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
        return sum(p * n for p, n in zip(position, normal))
    location = _floats(_get(ds, "SliceLocation"))
    return location[0] if location else 0.0


def _instance_info(ds: Dataset, structure: Structure) -> InstanceInfo:
    terms = _charset_terms(ds)
    sop_uid = _str(ds, "SOPInstanceUID")
    if not sop_uid:
        raise InvalidDicom("the file has no SOP Instance UID")
    for uid_name, value in (("SOP Instance UID", sop_uid), ("Study Instance UID", _str(ds, "StudyInstanceUID")),
                            ("Series Instance UID", _str(ds, "SeriesInstanceUID"))):
        if len(value) > 64:
            raise InvalidDicom(f"the {uid_name} is longer than 64 characters")
    meta = ds.file_meta
    number = _int(ds, "InstanceNumber")
    frames = _int(ds, "NumberOfFrames") or 1 if structure.pixels is not None else 0
    info = InstanceInfo(
        sop_uid=sop_uid,
        sop_class_uid=_str(ds, "SOPClassUID") or str(meta.get("MediaStorageSOPClassUID") or ""),
        study_uid=_str(ds, "StudyInstanceUID"),
        series_uid=_str(ds, "SeriesInstanceUID"),
        transfer_syntax=str(meta.get("TransferSyntaxUID") or structure.transfer_syntax),
        patient_name=_text(ds, TEXT_TAGS["patient_name"], terms),
        patient_id=_text(ds, TEXT_TAGS["patient_id"], terms)[:64],
        patient_sex=SEX.get(_str(ds, "PatientSex").upper()[:1], ""),
        patient_birth_date=_date(_str(ds, "PatientBirthDate")),
        study_date=_date(_str(ds, "StudyDate")),
        study_time=_str(ds, "StudyTime")[:16],
        accession_number=_str(ds, "AccessionNumber")[:16],
        study_description=_text(ds, TEXT_TAGS["study_description"], terms)[:200],
        modality=_str(ds, "Modality")[:16],
        series_number=_int(ds, "SeriesNumber"),
        series_description=_text(ds, TEXT_TAGS["series_description"], terms)[:200],
        body_part=_str(ds, "BodyPartExamined")[:64],
        instance_number=number,
        sort_key=_sort_key(ds, number),
        frames=frames,
        rows=_int(ds, "Rows") or 0,
        columns=_int(ds, "Columns") or 0,
        encapsulated=structure.pixels is not None and structure.pixels.length is None,
    )
    info.facts = _display_facts(ds, info, terms)
    layout = fast_layout(ds, info, structure)
    if layout is not None:
        info.facts["layout"] = layout
    return info


def fast_layout(ds: Dataset, info: InstanceInfo, structure: Structure) -> dict | None:
    """Where and how an uncompressed greyscale image's frames lie in the file, for the renderer's fast path.

    Only the plain cases: anything with a LUT, functional groups, colour or another encoding is
    rendered by the full pipeline instead.
    """
    pixels = structure.pixels
    if pixels is None or pixels.length is None or info.transfer_syntax not in NATIVE_SYNTAXES - {DEFLATED}:
        return None
    facts = info.facts
    if facts["samples"] != 1 or facts["photometric"] not in ("MONOCHROME1", "MONOCHROME2") \
            or facts["bits_allocated"] not in (8, 16) or not 0 < facts["bits_stored"] <= facts["bits_allocated"]:
        return None
    if any(k in ds for k in ("ModalityLUTSequence", "VOILUTSequence", "PerFrameFunctionalGroupsSequence",
                             "SharedFunctionalGroupsSequence")):
        return None
    slope, intercept = facts["rescale"]
    return {
        "offset": pixels.offset, "rows": info.rows, "columns": info.columns, "frames": info.frames,
        "bits_allocated": facts["bits_allocated"], "bits_stored": facts["bits_stored"], "signed": facts["signed"],
        "big_endian": info.transfer_syntax == "1.2.840.10008.1.2.2", "photometric": facts["photometric"],
        "rescale": [slope or 1.0, intercept], "rescaled": "RescaleSlope" in ds, "window": facts["window"],
        "voi_function": (_str(ds, "VOILUTFunction") or "LINEAR").upper(),
    }


def _display_facts(ds: Dataset, info: InstanceInfo, terms: list[str]) -> dict:
    """What the viewer shows and measures with, without opening the file again."""
    spacing = _floats(_get(ds, "PixelSpacing"))
    source = "PixelSpacing"
    if not spacing:
        spacing = _floats(_functional(ds, "PixelMeasuresSequence", "PixelSpacing"))
    if not spacing:
        spacing, source = _floats(_get(ds, "ImagerPixelSpacing")), "ImagerPixelSpacing"
    if not spacing or len(spacing) != 2 or min(spacing) <= 0:
        spacing, source = None, None
    centers = _floats(_get(ds, "WindowCenter")) or _floats(_functional(ds, "FrameVOILUTSequence", "WindowCenter"))
    widths = _floats(_get(ds, "WindowWidth")) or _floats(_functional(ds, "FrameVOILUTSequence", "WindowWidth"))
    slope = _floats(_get(ds, "RescaleSlope")) or _floats(
        _functional(ds, "PixelValueTransformationSequence", "RescaleSlope"))
    intercept = _floats(_get(ds, "RescaleIntercept")) or _floats(
        _functional(ds, "PixelValueTransformationSequence", "RescaleIntercept"))
    thickness = _floats(_get(ds, "SliceThickness")) or _floats(
        _functional(ds, "PixelMeasuresSequence", "SliceThickness"))
    location = _floats(_get(ds, "SliceLocation"))
    window = None
    if centers and widths and widths[0] > 0:
        window = [centers[0], widths[0]]
    return {
        "photometric": _str(ds, "PhotometricInterpretation"),
        "samples": _int(ds, "SamplesPerPixel") or 1,
        "bits_allocated": _int(ds, "BitsAllocated") or 0,
        "bits_stored": _int(ds, "BitsStored") or 0,
        "signed": _int(ds, "PixelRepresentation") == 1,
        "pixel_spacing": spacing,
        "spacing_source": source,
        "window": window,
        "has_voi_lut": "VOILUTSequence" in ds,
        "rescale": [slope[0] if slope else 1.0, intercept[0] if intercept else 0.0],
        "slice_thickness": thickness[0] if thickness else None,
        "slice_location": location[0] if location else None,
        "tags": {k: v for k, v in {
            "Manufacturer": _str(ds, "Manufacturer"),
            "ManufacturerModelName": _str(ds, "ManufacturerModelName"),
            "InstitutionName": _text(ds, TEXT_TAGS["institution"], terms),
            "BodyPartExamined": info.body_part,
            "ProtocolName": _str(ds, "ProtocolName"),
            "KVP": _str(ds, "KVP"),
            "XRayTubeCurrent": _str(ds, "XRayTubeCurrent"),
            "ContentDate": _str(ds, "ContentDate"),
            "ImageType": _str(ds, "ImageType"),
            "ConvolutionKernel": _str(ds, "ConvolutionKernel"),
        }.items() if v},
    }


def _check_pixels(ds: Dataset, info: InstanceInfo, structure: Structure, limits: Limits) -> None:
    """Refuse pixel data that would be too big to decode, or that is shorter than promised."""
    pixels = structure.pixels
    if pixels is None:
        return
    rows, cols = info.rows, info.columns
    samples = info.facts["samples"]
    bits = info.facts["bits_allocated"]
    if rows <= 0 or cols <= 0:
        raise InvalidDicom("the image has pixel data but no Rows or Columns")
    if bits not in (1, 8, 16, 32, 64):
        raise InvalidDicom(f"Bits Allocated is {bits}, which no decoder accepts")
    if samples not in (1, 3, 4):
        raise InvalidDicom(f"Samples per Pixel is {samples}, which no decoder accepts")
    raw_frames = _str(ds, "NumberOfFrames")
    if raw_frames and _int(ds, "NumberOfFrames") is None:
        raise InvalidDicom(f"Number of Frames is not a number: {raw_frames!r}")
    frames = info.frames
    if frames < 1:
        raise InvalidDicom("Number of Frames is less than one")
    frame_bits = rows * cols * samples * bits
    frame_bytes = (frame_bits + 7) // 8
    if frame_bytes > limits.max_frame_bytes:
        raise InvalidDicom(
            f"one frame of {rows}×{cols}×{samples} at {bits} bits would need {human_bytes(frame_bytes)} to decode, "
            f"more than the limit of {human_bytes(limits.max_frame_bytes)}")
    if frame_bytes * frames > limits.max_instance_pixel_bytes:
        raise InvalidDicom(
            f"{frames} frames of {rows}×{cols} would need {human_bytes(frame_bytes * frames)} to decode, "
            f"more than the limit of {human_bytes(limits.max_instance_pixel_bytes)}")
    if pixels.length is not None:
        if info.transfer_syntax not in NATIVE_SYNTAXES:
            raise InvalidDicom("the transfer syntax says compressed but the pixel data is not encapsulated")
        expected = (frame_bits * frames + 7) // 8
        if info.facts["photometric"] == "YBR_FULL_422" and bits == 8:
            expected = rows * cols * 2 * frames
        if pixels.length < expected:
            raise Truncated(
                f"the pixel data holds {human_bytes(pixels.length)} but {frames} frame(s) of {rows}×{cols} "
                f"need {human_bytes(expected)} (the file is truncated)")
    else:
        if not pixels.fragments:
            raise InvalidDicom("the compressed pixel data holds no frames")
        if len(pixels.fragments) < frames:
            raise InvalidDicom(
                f"the image says it has {frames} frames but the compressed data holds only "
                f"{len(pixels.fragments)} fragments")


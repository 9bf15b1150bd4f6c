"""From stored pixels to an image a person can read: one frame, decoded on demand.

The display pipeline of PS3.3/PS3.4, in order:
1. decode the one frame asked for (pydicom + pylibjpeg/openjpeg/rle/jpegls),
   colour-converting YBR to RGB;
2. modality LUT: rescale slope and intercept (per frame for enhanced
   objects) or the Modality LUT Sequence; signed pixels stay signed;
3. VOI: the requested window or preset, else the file's window (and its VOI
   LUT Function), else its VOI LUT Sequence, else the full range;
4. MONOCHROME1 is inverted (bright = dark), PALETTE COLOR is looked up;
5. scaled to the requested size and encoded as JPEG or PNG.

This module runs inside the decoder workers (`sandbox.py`), never in the web
process, so a hostile or broken file can only exhaust a worker.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass

import numpy as np

PRESETS: dict[str, tuple[float, float]] = {
    # name: (window center, window width), in Hounsfield units for CT
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "abdomen": (60.0, 400.0),
}
FORMATS = {"jpeg": "image/jpeg", "png": "image/png"}
WHOLE_FILE_BYTES = 32 * 1024 * 1024


class RenderError(ValueError):
    """The frame cannot be shown; the message says why (and `field`, which part of the request)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Rendered:
    data: bytes
    window: tuple[float, float] | None  # the window applied (center, width), when it was a window


@dataclass(frozen=True)
class RenderRequest:
    frame: int = 0  # 0-based
    window: tuple[float, float] | None = None  # (center, width)
    preset: str | None = None
    size: int | None = None  # the longest side of the output, in pixels; None = native
    format: str = "jpeg"
    quality: int = 90

    def __post_init__(self) -> None:
        if self.frame < 0:
            raise RenderError("frame numbers start at 1", "frame")
        if self.preset is not None and self.preset not in PRESETS:
            raise RenderError(f"unknown preset {self.preset[:40]!r}; one of {', '.join(PRESETS)}", "preset")
        if self.window is not None and (not all(math.isfinite(v) for v in self.window) or self.window[1] <= 0):
            raise RenderError("the window needs a finite center and a width above zero", "window")
        if self.size is not None and not 16 <= self.size <= 4096:
            raise RenderError("size must be between 16 and 4096 pixels", "size")
        if self.format not in FORMATS:
            raise RenderError("format must be jpeg or png", "format")
        if not 1 <= self.quality <= 100:
            raise RenderError("quality must be between 1 and 100", "quality")

    @property
    def media_type(self) -> str:
        return FORMATS[self.format]

    def cache_name(self) -> str:
        """A file name unique to these parameters (the frame's cache key within one instance)."""
        window = self.window or PRESETS.get(self.preset or "", None)
        w = f"{window[0]:g}_{window[1]:g}" if window else "file"
        ext = "jpg" if self.format == "jpeg" else "png"
        quality = f"-q{self.quality}" if self.format == "jpeg" else ""
        return f"f{self.frame}-w{w}-s{self.size or 0}{quality}.{ext}"


def render(path: str, request: RenderRequest, layout: dict | None = None) -> Rendered:
    """The encoded image of one frame of the file at `path`, and the window applied to it.

    `layout` (from the index, see `parse.fast_layout`) lets an uncompressed greyscale frame be read
    straight from its offset without parsing the file again; anything unexpected takes the full path.
    """
    result = _fast_displayed(path, request, layout) if layout else None
    pixels, window = result if result is not None else displayed(path, request)
    return Rendered(encode(pixels, request), window)


def render_native(path: str, request: RenderRequest, layout: dict) -> Rendered | None:
    """The fast path alone (no decoder library, no fallback): None when it does not apply.

    Safe to run in the web process: it reads one frame of a size checked at ingest, with numpy.
    """
    result = _fast_displayed(path, request, layout)
    return None if result is None else Rendered(encode(result[0], request), result[1])


def _fast_displayed(path: str, request: RenderRequest, layout: dict):
    """The same pipeline for a native greyscale frame whose place and format the index knows."""
    try:
        rows, cols, frames = int(layout["rows"]), int(layout["columns"]), int(layout["frames"])
        bits, stored = int(layout["bits_allocated"]), int(layout["bits_stored"])
        signed, offset = bool(layout["signed"]), int(layout["offset"])
        if bits not in (8, 16) or not 0 < stored <= bits or request.frame >= frames or rows < 1 or cols < 1:
            return None
        frame_bytes = rows * cols * bits // 8
        with open(path, "rb") as fh:
            fh.seek(offset + request.frame * frame_bytes)
            data = fh.read(frame_bytes)
        if len(data) != frame_bytes:
            return None
        kind = "i" if signed else "u"
        dtype = np.dtype(f"{'>' if layout['big_endian'] else '<'}{kind}{bits // 8}")
        arr = np.frombuffer(data, dtype).reshape(rows, cols)
        if stored < bits and (signed or int(arr.max()) >> stored):
            # As pydicom does: keep the stored bits, extend the sign (unsigned values that fit need nothing).
            raw = arr.view(np.dtype(f"{dtype.byteorder}u{bits // 8}")) & ((1 << stored) - 1)
            arr = raw.astype(np.int32) - ((raw >> (stored - 1)) << stored) if signed else raw
        window = request.window or (PRESETS[request.preset] if request.preset else None)
        function = "LINEAR"
        if window is None and layout.get("window"):
            window, function = tuple(layout["window"]), layout.get("voi_function") or "LINEAR"
        plain = stored <= 8 and not signed and not layout.get("rescaled")
        return _windowed_by_lut(arr, plain, tuple(layout["rescale"]), window, function,
                                layout["photometric"] == "MONOCHROME1")
    except (OSError, KeyError, TypeError, ValueError):
        return None


def display_pixels(path: str, request: RenderRequest) -> np.ndarray:
    """8-bit display values of one frame: (rows, columns) grey or (rows, columns, 3) RGB."""
    return displayed(path, request)[0]


def displayed(path: str, request: RenderRequest) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Display values of one frame and the window that made them (None for colour or a LUT)."""
    import pydicom
    from pydicom.pixels import pixel_array

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # All the attributes (functional groups too) without the pixels; then only the frame asked for,
            # so a frame of a large multi-frame object is read and decoded alone.
            whole = os.path.getsize(path) <= WHOLE_FILE_BYTES  # small files: one read, one parse
            ds = pydicom.dcmread(path, stop_before_pixels=not whole, defer_size=None if whole else 1 << 20)
            frames = _frame_count(ds)
            if request.frame >= frames:
                raise RenderError(f"frame {request.frame + 1} does not exist; the image has {frames}")
            index = request.frame if frames > 1 else None
            arr = pixel_array(ds if whole else path, index=index)
        except RenderError:
            raise
        except MemoryError:
            raise RenderError("decoding needs more memory than allowed") from None
        except Exception as exc:  # every decoder has its own exception types
            raise RenderError(f"the pixel data cannot be decoded: {exc}") from None
        return to_display(arr, ds, request)


def _frame_count(ds) -> int:
    try:
        return max(int(ds.get("NumberOfFrames") or 1), 1)
    except (TypeError, ValueError):
        return 1


def to_display(arr: np.ndarray, ds, request: RenderRequest) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Apply the display pipeline to one decoded frame; also say which window it used."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        rgb = apply_color_lut(arr, ds)
        return _to_uint8_rgb(rgb), None
    if arr.ndim == 3:
        bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
        return _to_uint8_rgb(arr, bits), None
    window = request.window or (PRESETS[request.preset] if request.preset else None)
    function = "LINEAR"
    if window is None:
        window, function = _file_window(ds, request.frame)
    inverted = photometric == "MONOCHROME1"
    if window is None and "VOILUTSequence" in ds:
        out = _apply_voi_lut(_modality(arr, ds, request.frame), ds)
        return (255 - out if inverted else out), None
    rescale = _rescale(ds, request.frame)
    if rescale is not None and arr.dtype.kind in "ui" and arr.dtype.itemsize <= 2:
        return _windowed_by_lut(arr, _plain_8bit(ds), rescale, window, function, inverted)
    values = _modality(arr, ds, request.frame)
    if window is not None:
        out = _apply_window(values, window[0], window[1], function)
    else:
        out, window = _full_range(values, _plain_8bit(ds))
    return (255 - out if inverted else out), window


def _rescale(ds, frame: int) -> tuple[float, float] | None:
    """(slope, intercept), or None when a Modality LUT Sequence applies instead."""
    slope = _first_float(_frame_attr(ds, frame, "PixelValueTransformationSequence", "RescaleSlope"))
    intercept = _first_float(_frame_attr(ds, frame, "PixelValueTransformationSequence", "RescaleIntercept"))
    if slope is None and intercept is None and "ModalityLUTSequence" in ds:
        return None
    return (1.0 if slope is None or slope == 0 else slope), (intercept or 0.0)


def _windowed_by_lut(arr: np.ndarray, plain_8bit: bool, rescale: tuple[float, float], window, function: str,
                     inverted: bool) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Integer pixels: compute the display value once per stored value, then look every pixel up.

    The same result as rescaling and windowing each pixel in floating point, several times faster.
    """
    if arr.dtype.kind == "u":
        low, index = 0, arr  # unsigned values index the table directly
        high = 255 if arr.dtype.itemsize == 1 else int(arr.max())
    else:
        low, high = int(arr.min()), int(arr.max())
        index = arr.astype(np.int32) - low
    levels = np.arange(low, high + 1, dtype=np.float32)
    slope, intercept = rescale
    if slope != 1.0:
        levels *= np.float32(slope)
    if intercept != 0.0:
        levels += np.float32(intercept)
    if window is None:
        present = (int(arr.min()), high) if low == 0 else (low, high)  # the values in this frame
        ends = (present[0] * slope + intercept, present[1] * slope + intercept)
        lut, window = _full_range(levels, plain_8bit, (min(ends), max(ends)))
    else:
        lut = _apply_window(levels, window[0], window[1], function)
    if inverted:
        lut = 255 - lut
    return np.take(lut, index), window


def _frame_attr(ds, frame: int, sequence: str, keyword: str):
    """An attribute for one frame: its per-frame group, the shared group, then the top level."""
    for groups, index in (("PerFrameFunctionalGroupsSequence", frame), ("SharedFunctionalGroupsSequence", 0)):
        seq = ds.get(groups)
        if seq is not None and len(seq) > index:
            inner = seq[index].get(sequence)
            if inner is not None and len(inner) and keyword in inner[0]:
                return inner[0].get(keyword)
    return ds.get(keyword)


def _first_float(value) -> float | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (int, float, str)) and hasattr(value, "__len__"):
        value = value[0] if len(value) else None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _modality(arr: np.ndarray, ds, frame: int) -> np.ndarray:
    """Stored values -> modality values (e.g. Hounsfield units)."""
    slope = _first_float(_frame_attr(ds, frame, "PixelValueTransformationSequence", "RescaleSlope"))
    intercept = _first_float(_frame_attr(ds, frame, "PixelValueTransformationSequence", "RescaleIntercept"))
    if slope is None and intercept is None and "ModalityLUTSequence" in ds:
        from pydicom.pixels import apply_modality_lut

        return apply_modality_lut(arr, ds).astype(np.float32, copy=False)
    slope = 1.0 if slope is None or slope == 0 else slope
    intercept = intercept or 0.0
    values = arr.astype(np.float32)
    if slope != 1.0:
        values *= np.float32(slope)
    if intercept != 0.0:
        values += np.float32(intercept)
    return values


def _file_window(ds, frame: int) -> tuple[tuple[float, float] | None, str]:
    center = _first_float(_frame_attr(ds, frame, "FrameVOILUTSequence", "WindowCenter"))
    width = _first_float(_frame_attr(ds, frame, "FrameVOILUTSequence", "WindowWidth"))
    function = str(_frame_attr(ds, frame, "FrameVOILUTSequence", "VOILUTFunction") or "LINEAR").strip().upper()
    if center is None or width is None or width <= 0:
        return None, "LINEAR"
    return (center, width), function


def _apply_window(values: np.ndarray, center: float, width: float, function: str = "LINEAR") -> np.ndarray:
    """The VOI window of PS3.3 C.11.2.1.2 onto 0..255."""
    c, w = np.float32(center), np.float32(width)
    if function == "SIGMOID":
        out = 255.0 / (1.0 + np.exp(-4.0 * (values - c) / w))
    elif function == "LINEAR_EXACT":
        out = ((values - c) / w + 0.5) * 255.0
    else:
        if w <= 1:
            return np.where(values > c - 0.5, 255, 0).astype(np.uint8)
        out = ((values - (c - np.float32(0.5))) / (w - np.float32(1)) + np.float32(0.5)) * np.float32(255)
    np.clip(out, 0, 255, out=out)
    out += 0.5
    return out.astype(np.uint8)


def _apply_voi_lut(values: np.ndarray, ds) -> np.ndarray:
    """The file's VOI LUT Sequence, its output range mapped onto 0..255."""
    item = ds.VOILUTSequence[0]
    descriptor = [int(v) for v in item.LUTDescriptor]
    entries = descriptor[0] or 65536
    first = descriptor[1]
    bits = descriptor[2] if descriptor[2] in range(8, 17) else 16
    data = item.LUTData
    if isinstance(data, bytes):
        dtype = "<u1" if bits == 8 and len(data) == entries else "<u2"
        lut = np.frombuffer(data, dtype=dtype)
    else:
        lut = np.asarray(data)
    lut = lut[:entries].astype(np.float32)
    index = np.clip(np.rint(values) - first, 0, len(lut) - 1).astype(np.int64)
    out = lut[index] * np.float32(255.0 / ((1 << bits) - 1))
    np.clip(out, 0, 255, out=out)
    return (out + 0.5).astype(np.uint8)


def _plain_8bit(ds) -> bool:
    """Stored values that are display values already (8-bit, unsigned, not rescaled)."""
    return int(ds.get("BitsStored") or 8) <= 8 and int(ds.get("PixelRepresentation") or 0) == 0 \
        and "RescaleSlope" not in ds


def _full_range(values: np.ndarray, plain_8bit: bool, extent: tuple[float, float] | None = None
                ) -> tuple[np.ndarray, tuple[float, float]]:
    """No window anywhere: 8-bit images as they are, wider ones stretched over their values."""
    if plain_8bit:
        return np.clip(values, 0, 255).astype(np.uint8), (128.0, 256.0)
    low, high = extent if extent is not None else (float(values.min()), float(values.max()))
    if high <= low:
        return np.zeros(values.shape, np.uint8), (low, 1.0)
    window = ((low + high) / 2, high - low + 1)
    return _apply_window(values, *window), window


def _to_uint8_rgb(arr: np.ndarray, bits: int | None = None) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if bits is None:
        bits = 16 if arr.max(initial=0) > 255 else 8
    scale = 255.0 / ((1 << bits) - 1)
    return np.clip(arr.astype(np.float32) * scale + 0.5, 0, 255).astype(np.uint8)


def encode(pixels: np.ndarray, request: RenderRequest) -> bytes:
    from PIL import Image

    image = Image.fromarray(pixels, "RGB" if pixels.ndim == 3 else "L")
    if request.size is not None and max(image.size) > request.size:
        image.thumbnail((request.size, request.size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    buf = io.BytesIO()
    if request.format == "png":
        image.save(buf, "PNG", compress_level=1)
    else:
        image.save(buf, "JPEG", quality=request.quality)
    return buf.getvalue()

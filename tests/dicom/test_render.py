"""Rendering: every accepted corpus file and every synthetic study, compared pixel by pixel
with pydicom's own decode and display functions; presets, the cache, and decoding held to a
memory and time limit."""

from __future__ import annotations

import io
import time
from dataclasses import replace

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, apply_windowing

from referral.dicom.frames import FrameCache
from referral.dicom.limits import MiB, Limits
from referral.dicom.parse import read_instance
from referral.dicom.render import PRESETS, RenderError, RenderRequest
from referral.dicom.sandbox import DecoderPool, decoder_pool
from referral.dicom.store import BlobStore

from .conftest import CORPUS_ACCEPT

LIMITS = Limits()


@pytest.fixture(scope="module")
def pool() -> DecoderPool:
    return decoder_pool(LIMITS)


def _flatten_functional_groups(ds, frame: int) -> None:
    """Copy an enhanced object's per-frame rescale and window to the top level, where pydicom looks."""
    for groups, index in (("SharedFunctionalGroupsSequence", 0), ("PerFrameFunctionalGroupsSequence", frame)):
        if groups not in ds or len(ds[groups].value) <= index:
            continue
        item = ds[groups].value[index]
        for seq in ("PixelValueTransformationSequence", "FrameVOILUTSequence"):
            if seq in item:
                for elem in item[seq].value[0]:
                    ds[elem.tag] = elem


def expected_display(path, frame: int = 0, window: tuple[float, float] | None = None) -> np.ndarray:
    """What the frame should look like, by pydicom: decode, modality LUT, VOI, MONOCHROME1, palette."""
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames > 1:
        arr = arr[frame]
    photometric = ds.PhotometricInterpretation
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        return (rgb >> 8).astype(np.uint8) if rgb.dtype != np.uint8 else rgb
    if arr.ndim == 3:
        return arr.astype(np.uint8)
    _flatten_functional_groups(ds, frame)
    values = apply_modality_lut(arr, ds)
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if "WindowCenter" in ds and "WindowWidth" in ds:
        out = apply_windowing(values.astype(np.float64), ds)
        bits = ds.BitsStored
        if ds.get("ModalityLUTSequence"):
            low, high = 0, 2 ** ds.ModalityLUTSequence[0].LUTDescriptor[2] - 1
        elif ds.PixelRepresentation == 0:
            low, high = 0, 2 ** bits - 1
        else:
            low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        if "RescaleSlope" in ds and "RescaleIntercept" in ds and not ds.get("ModalityLUTSequence"):
            slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
            low, high = low * slope + intercept, high * slope + intercept
        display = (out - low) / (high - low) * 255
    elif "VOILUTSequence" in ds:
        out = apply_voi_lut(values, ds, prefer_lut=True).astype(np.float64)
        display = out / (2 ** ds.VOILUTSequence[0].LUTDescriptor[2] - 1) * 255
    elif ds.BitsStored <= 8 and ds.PixelRepresentation == 0:
        display = values.astype(np.float64)
    else:  # no window in the file: the full range of the frame's values
        low, high = float(values.min()), float(values.max())
        display = (values - low) / max(high - low, 1) * 255
    display = np.clip(np.rint(display), 0, 255).astype(np.uint8)
    return 255 - display if photometric == "MONOCHROME1" else display


def rendered_png(pool, path, request: RenderRequest) -> np.ndarray:
    data = pool.render(str(path), replace(request, format="png")).data
    return np.asarray(Image.open(io.BytesIO(data)))


def assert_close(actual: np.ndarray, expected: np.ndarray, name: str) -> None:
    assert actual.shape == expected.shape, name
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert diff.max() <= 2 and diff.mean() < 0.5, (name, int(diff.max()), float(diff.mean()))


@pytest.mark.parametrize("name", CORPUS_ACCEPT)
def test_corpus_renders_like_pydicom(corpus, tmp_path, pool, name):
    parsed = read_instance(corpus / name, LIMITS, tmp_path)
    frame = parsed.info.frames - 1  # the last frame: multi-frame files are decoded frame by frame
    actual = rendered_png(pool, parsed.path, RenderRequest(frame=frame))
    assert_close(actual, expected_display(parsed.path, frame), name)
    assert actual.std() > 5, f"{name} renders flat"


@pytest.mark.parametrize("key,frame", [("ct", 0), ("cr", 0), ("us", 7), ("mr", 0)])
def test_samples_render_like_pydicom(samples, pool, key, frame):
    path = samples[key][len(samples[key]) // 2]
    actual = rendered_png(pool, path, RenderRequest(frame=frame))
    expected = expected_display(path, frame)
    if key == "us":  # JPEG YBR: colour conversion may round differently by one or two levels
        diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
        assert diff.mean() < 1.0 and actual.shape == expected.shape
    else:
        assert_close(actual, expected, key)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_on_ct(samples, pool, preset):
    path = samples["ct"][30]
    actual = rendered_png(pool, path, RenderRequest(preset=preset))
    assert_close(actual, expected_display(path, window=PRESETS[preset]), preset)


def test_lung_window_shows_lungs_dark_and_bone_bright(samples, pool):
    """A reader's check of the CT phantom: at the lung window the lungs are dark grey, the spine white."""
    pixels = rendered_png(pool, samples["ct"][20], RenderRequest(preset="lung"))
    lung, wall, spine = pixels[256, 160], pixels[262, 60], pixels[372, 256]
    assert lung < 100 < wall - 50 and spine > 240


def test_monochrome1_is_inverted(samples, pool):
    """CR MONOCHROME1: high stored values (dense bone) appear bright after inversion."""
    pixels = rendered_png(pool, samples["cr"][0], RenderRequest())
    spine, outside = pixels[600, 512], pixels[20, 20]
    assert spine > outside + 100


def test_scaled_jpeg_and_the_cache(samples, tmp_path, pool):
    store = BlobStore(tmp_path)
    staged = tmp_path / "x"
    staged.write_bytes(samples["ct"][5].read_bytes())
    published = store.publish(staged)
    cache = FrameCache(store, pool)
    request = RenderRequest(size=256, preset="mediastinum", quality=80)
    first = cache.rendered(published.sha256, request)
    assert Image.open(io.BytesIO(first.data)).size == (256, 256) and first.data[:3] == b"\xff\xd8\xff"
    assert first.window == PRESETS["mediastinum"]
    assert cache.path_for(published.sha256, request).exists()
    started = time.perf_counter()
    again = cache.rendered(published.sha256, request)
    assert again.data == first.data and again.window == first.window
    assert time.perf_counter() - started < 0.05


def test_frame_out_of_range(samples, pool):
    with pytest.raises(RenderError, match="frame 25 does not exist; the image has 24"):
        pool.render(str(samples["us"][0]), RenderRequest(frame=24))


def test_decoding_over_the_memory_limit_is_stopped(tmp_path):
    """A large image decoded by a worker allowed too little memory: a clear error, and the pool carries on."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", generate_uid()
    ds.Rows = ds.Columns = 8000
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = (np.arange(8000 * 8000, dtype=np.uint32) % 65536).astype(np.uint16).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / "big.dcm"
    ds.save_as(path, enforce_file_format=True)
    tight = DecoderPool(Limits(decode_memory_bytes=320 * MiB, decode_workers=1))
    try:
        with pytest.raises(RenderError, match="memory"):
            tight.render(str(path), RenderRequest())
        small = tmp_path / "small.dcm"
        ds.Rows = ds.Columns = 64
        ds.PixelData = np.zeros(64 * 64, np.uint16).tobytes()
        ds.save_as(small, enforce_file_format=True)
        assert tight.render(str(small), RenderRequest()).data  # the pool recovered
    finally:
        tight.close()


def test_decoding_over_the_time_limit_is_stopped(corpus, tmp_path):
    slow = DecoderPool(Limits(decode_seconds=0.05, decode_workers=1))
    try:
        slow.render(str(corpus / "SC_rgb_expb_2frame.dcm"), RenderRequest())  # start the worker
        with pytest.raises(RenderError, match="took longer than"):
            slow.render(str(corpus / "RG1_J2KI.dcm"), RenderRequest())
        assert slow.render(str(corpus / "SC_rgb_expb_2frame.dcm"), RenderRequest()).data
    finally:
        slow.close()


def _native(tmp_path, name, arr, photometric="MONOCHROME2", bits_stored=12, signed=False, big_endian=False,
            **extra):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Rows, ds.Columns = arr.shape[-2:]
    if arr.ndim == 3:
        ds.NumberOfFrames = arr.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits_stored, bits_stored - 1, int(signed)
    for key, value in extra.items():
        setattr(ds, key, value)
    ds.PixelData = arr.astype(arr.dtype.newbyteorder(">") if big_endian else arr.dtype).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian if big_endian else ExplicitVRLittleEndian
    path = tmp_path / f"{name}.dcm"
    ds.save_as(path, enforce_file_format=True, little_endian=not big_endian, implicit_vr=False)
    return path


def test_the_fast_path_renders_exactly_like_the_full_one(corpus, samples, tmp_path):
    """Uncompressed greyscale frames read straight from their offset must match the full pipeline."""
    from referral.dicom.render import render

    rng = np.random.default_rng(3)
    noisy = rng.integers(0, 65536, (3, 40, 50), dtype=np.uint16)  # garbage above the 12 stored bits
    files = [
        samples["ct"][17], corpus / "emri_small_big_endian.dcm",
        _native(tmp_path, "signed", noisy, signed=True, RescaleSlope="2", RescaleIntercept="-100"),
        _native(tmp_path, "unsigned", noisy, WindowCenter="1000", WindowWidth="800", VOILUTFunction="SIGMOID"),
        _native(tmp_path, "mono1", rng.integers(0, 256, (30, 20), dtype=np.uint8), "MONOCHROME1", 8),
        _native(tmp_path, "be", rng.integers(0, 4096, (2, 16, 16), dtype=np.uint16), big_endian=True),
    ]
    checked = 0
    for path in files:
        parsed = read_instance(path, LIMITS, tmp_path)
        layout = parsed.info.facts.get("layout")
        assert layout is not None, path.name
        for request in (RenderRequest(frame=parsed.info.frames - 1, format="png"),
                        RenderRequest(preset="lung", format="png"), RenderRequest(window=(30, 200), format="png")):
            fast = render(str(parsed.path), request, layout)
            full = render(str(parsed.path), request)
            assert fast.data == full.data and fast.window == full.window, (path.name, request)
            checked += 1
    assert checked == 18
    for name in ("vlut_04.dcm", "eCT_Supplemental.dcm", "MR2_J2KR.dcm", "gdcm-US-ALOKA-16.dcm"):
        assert "layout" not in read_instance(corpus / name, LIMITS, tmp_path).info.facts, name

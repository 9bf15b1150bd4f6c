"""Synthetic, realistic DICOM studies for tests, demos and benchmarks.

    python dicom_samples/generate.py OUT_DIR [--ct-slices 48]

Writes four studies, each valid by dicom3tools' `dciodvfy` (no errors):

- chest CT, 48 axial slices of 512×512 through a thorax phantom (body wall,
  fat, lungs with vessels, heart, aorta, spine, ribs, liver at the base),
  12-bit stored with rescale intercept -1024, explicit VR little endian;
  patient 张伟 in GB18030;
- chest CR, PA view, 1024×1024, MONOCHROME1 (bright = dark), JPEG 2000
  lossless; patient Li^Xiuying=李^秀英 (alphabetic and ideographic) in GB18030;
- an ultrasound cine clip, 24 frames of 480×640, JPEG baseline YBR_FULL_422
  (how most ultrasound machines send); patient 王芳 in UTF-8;
- a brain MR series, 20 slices of 256×256, JPEG-LS lossless; patient 陈静 in
  UTF-8 (ISO_IR 192).

Everything is deterministic (fixed seeds, UIDs derived from names), so the
same files come out every time: content addresses stay stable across runs.
The files are generated (by the tests into a temporary directory, by the
benchmark, or by hand) and never committed: the repository stays small.
"""

from __future__ import annotations

import argparse
import io
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless,
    generate_uid,
)

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
CR_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
US_MULTIFRAME_STORAGE = "1.2.840.10008.5.1.4.1.1.3.1"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
UID_ROOT = "2.25."
STUDY_DATE = "20260314"


def uid(*parts: str) -> str:
    """A stable UID for a name: the same samples get the same UIDs every run."""
    return generate_uid(prefix=UID_ROOT, entropy_srcs=["referral-dicom-samples", *parts])


@dataclass(frozen=True)
class Patient:
    name: str
    patient_id: str
    sex: str  # M | F
    birth_date: date
    charset: str  # SpecificCharacterSet

    @property
    def birth(self) -> str:
        return self.birth_date.strftime("%Y%m%d")

    @property
    def plain_name(self) -> str:
        """The name as a clinician writes it in the record (the ideographic group, no separators)."""
        group = self.name.split("=")[-1] or self.name.split("=")[0]
        return group.replace("^", "")


PATIENTS = {
    "ct": Patient("张^伟", "YX0000123", "M", date(1958, 4, 12), "GB18030"),
    "cr": Patient("Li^Xiuying=李^秀英", "YX0000456", "F", date(1962, 9, 30), "GB18030"),
    "us": Patient("王^芳", "YX0000789", "F", date(1990, 6, 18), "ISO_IR 192"),
    "mr": Patient("陈^静", "YX0000321", "F", date(1975, 1, 20), "ISO_IR 192"),
}


def _base(patient: Patient, sop_class: str, sop_uid: str, study: str, series: str, modality: str,
          transfer_syntax: str, *, study_description: str, series_description: str, series_number: int,
          instance_number: int) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "REFERRAL_SAMPLES"
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = patient.charset
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = STUDY_DATE
    ds.SeriesDate = STUDY_DATE
    ds.ContentDate = STUDY_DATE
    ds.StudyTime = "093000"
    ds.SeriesTime = "093500"
    ds.ContentTime = f"0936{instance_number % 60:02d}"
    ds.AccessionNumber = "A" + study.replace(".", "")[-8:]
    ds.Modality = modality
    ds.Manufacturer = "Referral Samples"
    ds.InstitutionName = "郧西县人民医院"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = study_description
    ds.SeriesDescription = series_description
    ds.ManufacturerModelName = "Synthetic"
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth
    ds.PatientSex = patient.sex
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    return ds


def _write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


# ---------------------------------------------------------------- chest CT


def _ellipse(yy, xx, cy, cx, ry, rx) -> np.ndarray:
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def chest_phantom(z: float, size: int = 512, rng: np.random.Generator | None = None) -> np.ndarray:
    """Hounsfield units of an axial slice at relative height z (0 = lung apex, 1 = below the diaphragm)."""
    rng = rng or np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    s = size / 512.0
    hu = np.full((size, size), -1000.0, np.float32)
    body = _ellipse(yy, xx, 260 * s, 256 * s, 170 * s, 225 * s)
    hu[body] = -100.0  # subcutaneous fat
    hu[_ellipse(yy, xx, 262 * s, 256 * s, 158 * s, 212 * s)] = 40.0  # muscle wall
    inner = _ellipse(yy, xx, 262 * s, 256 * s, 145 * s, 198 * s)
    hu[inner] = 30.0
    lung_scale = 0.55 + 0.45 * math.sin(min(z, 0.85) / 0.85 * math.pi / 2)
    for cx in (160 * s, 352 * s):
        lung = _ellipse(yy, xx, 250 * s, cx, 120 * s * lung_scale, 85 * s * lung_scale)
        hu[lung & inner] = -850.0
        vessels = rng.random((size, size)) > 0.997
        hu[lung & inner & vessels] = 40.0
    hu[_ellipse(yy, xx, 210 * s, 256 * s, 30 * s, 22 * s)] = 45.0  # mediastinum
    if z > 0.45:  # the heart, lower half of the chest
        grow = min((z - 0.45) / 0.3, 1.0)
        hu[_ellipse(yy, xx, 280 * s, 290 * s, 75 * s * grow + 1, 85 * s * grow + 1)] = 50.0
    hu[_ellipse(yy, xx, 330 * s, 285 * s, 18 * s, 18 * s)] = 45.0  # descending aorta
    hu[_ellipse(yy, xx, 372 * s, 256 * s, 30 * s, 30 * s)] = 700.0  # vertebral body
    hu[_ellipse(yy, xx, 372 * s, 256 * s, 22 * s, 22 * s)] = 250.0
    hu[_ellipse(yy, xx, 410 * s, 256 * s, 14 * s, 10 * s)] = 20.0  # spinal canal
    for angle in np.linspace(-math.pi, math.pi, 22, endpoint=False):  # ribs all round, not at the sternum or spine
        if abs(angle + math.pi / 2) < 0.45 or abs(angle - math.pi / 2) < 0.3:
            continue
        cy = 262 * s + 150 * s * math.sin(angle)
        cx = 256 * s + 205 * s * math.cos(angle)
        hu[_ellipse(yy, xx, cy, cx, 8 * s, 10 * s)] = 900.0
    hu[_ellipse(yy, xx, 118 * s, 256 * s, 10 * s, 18 * s)] = 500.0  # sternum
    if z > 0.8:  # the liver rises under the right lung at the base
        hu[_ellipse(yy, xx, 260 * s, 170 * s, 110 * s, 95 * s) & inner] = 60.0
    hu += rng.normal(0, 8, (size, size)).astype(np.float32) * (hu > -950)
    return hu


def chest_ct(out: Path, slices: int = 48, size: int = 512) -> list[Path]:
    patient = PATIENTS["ct"]
    study, series = uid("ct", "study"), uid("ct", "series")
    frame_of_reference = uid("ct", "for")
    spacing = 350.0 / size
    thickness = 5.0
    rng = np.random.default_rng(2026)
    paths = []
    for n in range(slices):
        z = n / max(slices - 1, 1)
        hu = chest_phantom(z, size, rng)
        stored = np.clip(np.rint(hu + 1024), 0, 4095).astype(np.uint16)
        sop = uid("ct", "instance", str(n))
        ds = _base(patient, CT_STORAGE, sop, study, series, "CT", ExplicitVRLittleEndian,
                   study_description="胸部CT平扫", series_description="Chest 5mm", series_number=2,
                   instance_number=n + 1)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.AcquisitionNumber = 1
        ds.FrameOfReferenceUID = frame_of_reference
        ds.PositionReferenceIndicator = ""
        ds.PatientPosition = "HFS"
        ds.BodyPartExamined = "CHEST"
        ds.ScanOptions = "HELICAL"
        ds.KVP = "120"
        ds.XRayTubeCurrent = 200
        ds.ConvolutionKernel = "STANDARD"
        ds.SliceThickness = f"{thickness:.1f}"
        location = -n * thickness
        ds.SliceLocation = f"{location:.1f}"
        ds.ImagePositionPatient = [f"{-175.0:.1f}", f"{-175.0:.1f}", f"{location:.1f}"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.PixelSpacing = [f"{spacing:.6f}", f"{spacing:.6f}"]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = size
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        ds.WindowCenter = ["-600", "40"]
        ds.WindowWidth = ["1500", "400"]
        ds.WindowCenterWidthExplanation = ["LUNG", "MEDIASTINUM"]
        ds.PixelData = stored.tobytes()
        paths.append(_write(ds, out / "chest-ct" / f"CT{n + 1:04d}.dcm"))
    return paths


# ---------------------------------------------------------------- chest CR


def chest_radiograph(size: int = 1024) -> np.ndarray:
    """A PA chest radiograph as detector values (high = more x-rays through = dark on film)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    transmission = np.full((size, size), 0.15, np.float32)  # outside the body: almost all through
    body = ((yy - 0.55) / 0.5) ** 2 + ((xx - 0.5) / 0.42) ** 2 <= 1
    transmission[body] = 0.55
    for cx in (0.32, 0.68):  # lungs let more through
        lung = ((yy - 0.48) / 0.3) ** 2 + ((xx - cx) / 0.14) ** 2 <= 1
        transmission[lung] = 0.3
    heart = ((yy - 0.62) / 0.14) ** 2 + ((xx - 0.55) / 0.16) ** 2 <= 1
    transmission[heart] = 0.62
    spine = np.abs(xx - 0.5) < 0.035
    transmission[spine & body] = 0.8
    for k in range(9):  # ribs
        for side in (-1, 1):
            y0 = 0.25 + k * 0.055
            rib = np.abs(yy - (y0 + 0.8 * np.clip(np.abs(xx - 0.5) - 0.05, 0, None) ** 1.5)) < 0.008
            rib &= (side * (xx - 0.5) > 0.04) & (side * (xx - 0.5) < 0.36)
            transmission[rib & body] += 0.12
    attenuation = np.clip(transmission, 0, 1)
    rng = np.random.default_rng(7)
    values = 4095 * (1 - attenuation) + rng.normal(0, 20, (size, size))
    return np.clip(values, 0, 4095).astype(np.uint16)


def chest_cr(out: Path, size: int = 1024) -> list[Path]:
    patient = PATIENTS["cr"]
    sop = uid("cr", "instance")
    ds = _base(patient, CR_STORAGE, sop, uid("cr", "study"), uid("cr", "series"), "CR", JPEG2000Lossless,
               study_description="胸部正位片", series_description="Chest PA", series_number=1, instance_number=1)
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.PatientOrientation = ["L", "F"]
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.KVP = "110"
    ds.ImagerPixelSpacing = ["0.35", "0.35"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = "2048"
    ds.WindowWidth = "4096"
    ds.LossyImageCompression = "00"
    ds.set_pixel_data(chest_radiograph(size), "MONOCHROME1", 12, generate_instance_uid=False)
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg", generate_instance_uid=False)
    return [_write(ds, out / "chest-cr" / "CR0001.dcm")]


# ---------------------------------------------------------------- ultrasound clip


def ultrasound_frame(t: float, rows: int = 480, cols: int = 640, rng: np.random.Generator | None = None):
    """An RGB B-mode frame: a sector of speckle with a beating chamber, and a colour scale bar."""
    rng = rng or np.random.default_rng(0)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    apex_y, apex_x = 40.0, cols / 2
    r = np.hypot(yy - apex_y, xx - apex_x)
    angle = np.arctan2(xx - apex_x, yy - apex_y)
    sector = (r < rows - 60) & (np.abs(angle) < 0.75) & (r > 20)
    speckle = rng.rayleigh(0.35, (rows, cols)).astype(np.float32)
    tissue = np.clip(speckle * (1.0 - r / (rows * 1.4)), 0, 1)
    beat = 0.5 + 0.5 * math.sin(2 * math.pi * t)
    chamber = ((yy - 250) / (60 + 20 * beat)) ** 2 + ((xx - apex_x) / (45 + 15 * beat)) ** 2 <= 1
    tissue[chamber] *= 0.1
    wall = ((yy - 250) / (75 + 20 * beat)) ** 2 + ((xx - apex_x) / (60 + 15 * beat)) ** 2 <= 1
    tissue[wall & ~chamber] = np.clip(tissue[wall & ~chamber] + 0.5, 0, 1)
    grey = (tissue * sector * 230).astype(np.uint8)
    rgb = np.stack([grey, grey, grey], axis=-1)
    rgb[60:rows - 60, cols - 30:cols - 20] = np.linspace(0, 255, rows - 120, dtype=np.uint8)[:, None, None]
    rgb[20:28, 20:120] = (255, 200, 0)  # an annotation box, as machines burn in
    return rgb


def ultrasound_clip(out: Path, frames: int = 24) -> list[Path]:
    patient = PATIENTS["us"]
    sop = uid("us", "instance")
    ds = _base(patient, US_MULTIFRAME_STORAGE, sop, uid("us", "study"), uid("us", "series"), "US", JPEGBaseline8Bit,
               study_description="心脏超声", series_description="Apical 4 chamber", series_number=1,
               instance_number=1)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "TRANSTHORACIC", "0001"]
    ds.PatientOrientation = ""
    ds.Laterality = ""
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = 480, 640
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.FrameTime = "40"
    ds.CineRate = 25
    ds.RecommendedDisplayFrameRate = 25
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionRatio = "10"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    from PIL import Image

    rng = np.random.default_rng(11)
    encoded = []
    for n in range(frames):
        buf = io.BytesIO()
        Image.fromarray(ultrasound_frame(n / frames * 2, rng=rng), "RGB").save(buf, "JPEG", quality=90,
                                                                             subsampling="4:2:2")
        encoded.append(buf.getvalue())
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    return [_write(ds, out / "echo-us" / "US0001.dcm")]


# ---------------------------------------------------------------- brain MR


def shepp_logan(size: int, z: float) -> np.ndarray:
    """The Shepp-Logan head phantom, narrowed towards the top of the head (z = 0 bottom, 1 top)."""
    ellipses = [  # value, a, b, x0, y0, phi(deg)
        (1.0, 0.69, 0.92, 0, 0, 0), (-0.8, 0.6624, 0.874, 0, -0.0184, 0), (-0.2, 0.11, 0.31, 0.22, 0, -18),
        (-0.2, 0.16, 0.41, -0.22, 0, 18), (0.1, 0.21, 0.25, 0, 0.35, 0), (0.1, 0.046, 0.046, 0, 0.1, 0),
        (0.1, 0.046, 0.046, 0, -0.1, 0), (0.1, 0.046, 0.023, -0.08, -0.605, 0), (0.1, 0.023, 0.023, 0, -0.606, 0),
        (0.1, 0.023, 0.046, 0.06, -0.605, 0),
    ]
    shrink = 0.55 + 0.45 * math.sin(math.pi * (0.15 + 0.7 * z))
    yy, xx = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    img = np.zeros((size, size), np.float32)
    for value, a, b, x0, y0, phi in ellipses:
        t = math.radians(phi)
        x, y = xx - x0 * shrink, yy - y0 * shrink
        xr, yr = x * math.cos(t) + y * math.sin(t), -x * math.sin(t) + y * math.cos(t)
        img[(xr / (a * shrink)) ** 2 + (yr / (b * shrink)) ** 2 <= 1] += value
    return img


def brain_mr(out: Path, slices: int = 20, size: int = 256) -> list[Path]:
    patient = PATIENTS["mr"]
    study, series = uid("mr", "study"), uid("mr", "series")
    frame_of_reference = uid("mr", "for")
    rng = np.random.default_rng(5)
    paths = []
    for n in range(slices):
        img = shepp_logan(size, n / max(slices - 1, 1))
        values = np.clip(img * 1800 + rng.normal(0, 15, img.shape) * (img > 0.01), 0, 4095).astype(np.uint16)
        sop = uid("mr", "instance", str(n))
        ds = _base(patient, MR_STORAGE, sop, study, series, "MR", JPEGLSLossless,
                   study_description="头颅MRI平扫", series_description="T2 axial", series_number=3,
                   instance_number=n + 1)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
        ds.FrameOfReferenceUID = frame_of_reference
        ds.PositionReferenceIndicator = ""
        ds.PatientPosition = "HFS"
        ds.BodyPartExamined = "HEAD"
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.RepetitionTime = "4000"
        ds.EchoTime = "100"
        ds.EchoTrainLength = "16"
        ds.MagneticFieldStrength = "1.5"
        ds.SliceThickness = "5.0"
        ds.SpacingBetweenSlices = "6.0"
        location = n * 6.0
        ds.SliceLocation = f"{location:.1f}"
        ds.ImagePositionPatient = ["-115.0", "-115.0", f"{location:.1f}"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.PixelSpacing = ["0.898438", "0.898438"]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = size
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.WindowCenter = "900"
        ds.WindowWidth = "1800"
        ds.set_pixel_data(values, "MONOCHROME2", 12, generate_instance_uid=False)
        ds.compress(JPEGLSLossless, generate_instance_uid=False)
        paths.append(_write(ds, out / "brain-mr" / f"MR{n + 1:04d}.dcm"))
    return paths


# ---------------------------------------------------------------- all of them


def generate(out: Path, *, ct_slices: int = 48, ct_size: int = 512) -> dict[str, list[Path]]:
    """Write every sample study under `out`; return the files by study."""
    out = Path(out)
    return {
        "ct": chest_ct(out, ct_slices, ct_size),
        "cr": chest_cr(out),
        "us": ultrasound_clip(out),
        "mr": brain_mr(out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--ct-slices", type=int, default=48)
    args = parser.parse_args()
    written = generate(args.out, ct_slices=args.ct_slices)
    for name, files in written.items():
        print(f"{name}: {len(files)} file(s) in {files[0].parent}")


if __name__ == "__main__":
    main()

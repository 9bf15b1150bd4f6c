"""Reading DICOM: every shared-corpus file as its README says, character sets, files
without a file meta header, and the structural checks that refuse broken files."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from referral.dicom.limits import Limits
from referral.dicom.parse import decode_text, read_instance
from referral.dicom.safety import PatientFacts, compare_patient, display_name
from referral.dicom.scan import InvalidDicom, NotDicom, Truncated

from . import badfiles
from .conftest import CORPUS_ACCEPT, CORPUS_REJECT

LIMITS = Limits()


def _write(tmp_path: Path, data: bytes, name: str = "f.dcm") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", CORPUS_ACCEPT)
def test_every_accepted_corpus_file_parses(corpus, tmp_path, name):
    parsed = read_instance(corpus / name, LIMITS, tmp_path)
    info = parsed.info
    assert info.sop_uid and info.study_uid and info.series_uid
    assert info.frames >= 1 and info.rows > 0 and info.columns > 0
    reference = pydicom.dcmread(corpus / name, force=True, stop_before_pixels=True)
    assert info.rows == reference.Rows and info.columns == reference.Columns
    assert info.frames == int(reference.get("NumberOfFrames") or 1)


@pytest.mark.parametrize("name,reason", sorted(CORPUS_REJECT.items()))
def test_rejected_corpus_files_say_why(corpus, tmp_path, name, reason):
    with pytest.raises(InvalidDicom) as err:
        read_instance(corpus / name, LIMITS, tmp_path)
    assert reason in str(err.value)


def test_a_file_without_meta_header_is_completed_and_keeps_its_bytes(corpus, tmp_path):
    original = corpus / "OT-PAL-8-face.dcm"
    parsed = read_instance(original, LIMITS, tmp_path)
    assert parsed.normalised and parsed.info.transfer_syntax == ImplicitVRLittleEndian
    stored = parsed.path.read_bytes()
    assert stored[128:132] == b"DICM" and stored.endswith(original.read_bytes())
    ds = pydicom.dcmread(parsed.path)
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.pixel_array.shape == (480, 640)


def test_missing_study_and_series_uids_are_derived_stably(corpus, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = read_instance(corpus / "HTJ2K_08_RGB.dcm", LIMITS, tmp_path / "a")
    b = read_instance(corpus / "HTJ2K_08_RGB.dcm", LIMITS, tmp_path / "b")
    assert a.info.study_uid == b.info.study_uid and a.info.study_uid.startswith("2.25.")
    assert a.path.read_bytes() == b.path.read_bytes()  # the same upload gives the same stored bytes
    assert pydicom.dcmread(a.path).StudyInstanceUID == a.info.study_uid


# ---------------------------------------------------------------- character sets


def _named(tmp_path: Path, raw_name: bytes, charset: str | None, syntax=ExplicitVRLittleEndian) -> Path:
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "X"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    ds.file_meta = meta
    path = tmp_path / f"{generate_uid()}.dcm"
    ds.save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    data = data.replace(b"PN\x02\x00X ", b"PN" + len(raw_name + b" " * (len(raw_name) % 2)).to_bytes(2, "little")
                        + raw_name + b" " * (len(raw_name) % 2))
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("charset,encoding", [("GB18030", "gb18030"), ("GBK", "gbk"), ("ISO_IR 192", "utf-8"),
                                              (None, "utf-8"), (None, "gb18030"), ("ISO_IR 100", "utf-8"),
                                              ("GB2312", "gb18030")])
def test_chinese_names_in_every_character_set(tmp_path, charset, encoding):
    """Declared correctly, undeclared, or declared wrongly (Latin-1 or a non-standard term), as seen in the wild."""
    path = _named(tmp_path, "欧阳^娜娜".encode(encoding), charset)
    info = read_instance(path, LIMITS, tmp_path).info
    assert info.patient_name == "欧阳^娜娜"
    assert display_name(info.patient_name) == "欧阳娜娜"


def test_latin_names_still_read_as_latin():
    assert decode_text("Müller^Jürgen".encode("latin-1"), ["ISO_IR 100"], person_name=True) == "Müller^Jürgen"


def test_sample_names(samples, tmp_path):
    names = {key: read_instance(paths[0], LIMITS, tmp_path).info.patient_name for key, paths in samples.items()}
    assert names == {"ct": "张^伟", "cr": "Li^Xiuying=李^秀英", "us": "王^芳", "mr": "陈^静"}
    assert display_name(names["cr"]) == "李秀英 (Li Xiuying)"


def test_patient_comparison():
    case = PatientFacts("李秀英", "female", None)
    assert compare_patient(case, PatientFacts("Li^Xiuying=李^秀英", "female", None)) == []
    assert compare_patient(PatientFacts("Xiuying Li", "female", None), PatientFacts("Li^Xiuying", "F", None)) == []
    different = compare_patient(PatientFacts("张伟", "male", None), PatientFacts("张^薇", "female", None))
    assert [d.field for d in different] == ["name", "sex"]
    assert compare_patient(PatientFacts("张伟", "male", None), PatientFacts("", "", None)) == []


# ---------------------------------------------------------------- broken files


def test_not_dicom(tmp_path):
    with pytest.raises(NotDicom):
        read_instance(_write(tmp_path, badfiles.not_dicom()), LIMITS, tmp_path)


def test_truncated_in_the_pixel_data(samples, tmp_path):
    with pytest.raises(Truncated, match="truncated"):
        read_instance(_write(tmp_path, badfiles.truncated(samples["ct"][0], 0.6)), LIMITS, tmp_path)


def test_truncated_compressed(samples, tmp_path):
    with pytest.raises(Truncated, match="truncated"):
        read_instance(_write(tmp_path, badfiles.truncated(samples["cr"][0], 0.7)), LIMITS, tmp_path)


@pytest.mark.parametrize("maker", [badfiles.length_beyond_file, badfiles.long_value_beyond_file])
def test_lengths_beyond_the_file(tmp_path, maker):
    with pytest.raises(InvalidDicom, match="beyond the end of the file|longer than"):
        read_instance(_write(tmp_path, maker()), LIMITS, tmp_path)


def test_sequences_nested_hundreds_deep(tmp_path):
    with pytest.raises(InvalidDicom, match="nested more than 32 levels"):
        read_instance(_write(tmp_path, badfiles.deep_sequences(400)), LIMITS, tmp_path)


def test_moderate_nesting_is_fine(tmp_path):
    parsed = read_instance(_write(tmp_path, badfiles.deep_sequences(10)), LIMITS, tmp_path)
    assert parsed.info.frames == 0 and parsed.info.patient_name == "测试^患者"


def test_pixel_dimensions_needing_gigabytes(tmp_path):
    with pytest.raises(InvalidDicom, match="would need .* to decode"):
        read_instance(_write(tmp_path, badfiles.huge_dimensions()), LIMITS, tmp_path)


def test_implicit_file_without_meta_is_read(tmp_path):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Test^Implicit"
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(16))
    path = tmp_path / "nometa.dcm"
    ds.save_as(path, implicit_vr=True, little_endian=True)
    parsed = read_instance(path, LIMITS, tmp_path)
    assert parsed.normalised and parsed.info.patient_name == "Test^Implicit"


def test_deflated_files_are_read_and_rendered(samples, tmp_path):
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    from referral.dicom.render import RenderRequest, display_pixels

    ds = pydicom.dcmread(samples["ct"][20])
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    path = tmp_path / "deflated.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert path.stat().st_size < samples["ct"][20].stat().st_size / 2
    parsed = read_instance(path, LIMITS, tmp_path)
    assert parsed.info.transfer_syntax == DeflatedExplicitVRLittleEndian and parsed.info.patient_name == "张^伟"
    original = display_pixels(str(samples["ct"][20]), RenderRequest(preset="lung"))
    assert (display_pixels(str(parsed.path), RenderRequest(preset="lung")) == original).all()
    with pytest.raises(Truncated):
        read_instance(_write(tmp_path, path.read_bytes()[:-5000], "cut.dcm"), LIMITS, tmp_path)


def _all_readable(corpus, samples) -> list[Path]:
    return [corpus / name for name in CORPUS_ACCEPT] + [p for paths in samples.values() for p in paths[:3]]


def test_reading_without_pydicom_gives_what_pydicom_gives(corpus, samples, tmp_path, monkeypatch):
    """The index facts of plain files come from the structural walk alone; they must be exactly
    what reading the file with pydicom gives, for every file of the corpus and every sample."""
    from referral.dicom import parse

    fast = {p: read_instance(p, LIMITS, tmp_path).info for p in _all_readable(corpus, samples)}
    used = [p for p in fast if parse.top_level_facts(parse.scan_file(p, LIMITS)) is not None]
    assert {p.name for p in samples["ct"][:3]} <= {p.name for p in used}  # the common case takes it
    monkeypatch.setattr(parse, "top_level_facts", lambda structure: None)
    for path, info in fast.items():
        assert read_instance(path, LIMITS, tmp_path).info == info, path.name


@pytest.mark.filterwarnings("ignore:.*(not valid|Invalid value).*:UserWarning")  # pydicom's, on the careless values
def test_careless_values_are_read_as_pydicom_reads_them(tmp_path, monkeypatch):
    from referral.dicom import parse

    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientName = "OT", "Wang^Fang"
    ds.InstanceNumber = "7"
    ds.KVP = "120 "
    ds.Manufacturer = "ACME \\IMAGING"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    for tag, vr, raw in ((0x00200011, "IS", b"1.5 "), (0x00201041, "DS", b"abc ")):  # SeriesNumber, SliceLocation
        ds[tag] = RawDataElement(Tag(tag), vr, len(raw), raw, 0, False, True)  # as a careless device writes them
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    path = tmp_path / "odd.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert parse.top_level_facts(parse.scan_file(path, LIMITS)) is not None
    fast = read_instance(path, LIMITS, tmp_path).info
    assert fast.instance_number == 7 and fast.series_number == 1 and fast.facts["slice_location"] is None
    assert fast.facts["tags"]["Manufacturer"] == "ACME\\IMAGING" and fast.facts["tags"]["KVP"] == "120"
    monkeypatch.setattr(parse, "top_level_facts", lambda structure: None)
    assert read_instance(path, LIMITS, tmp_path).info == fast

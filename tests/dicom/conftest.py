"""Fixtures for the imaging tests: the synthetic studies (generated once per run), the
shared real-world corpus (`../shared/dicom-corpus` from the repository root), cases whose
patient matches a sample, and upload helpers over the API."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from tests.web.conftest import artifacts, chromium, live_server  # noqa: F401 - the web app's browser fixtures

REPO = Path(__file__).resolve().parents[2]
CORPUS = (REPO / ".." / "shared" / "dicom-corpus").resolve()

# What ../shared/dicom-corpus/README.md says of each file.
CORPUS_ACCEPT = [
    "RG1_J2KI.dcm", "MR2_J2KR.dcm", "US1_J2KI.dcm", "HTJ2K_08_RGB.dcm", "JPEG-LL.dcm",
    "JPGLosslessP14SV1_1s_1f_8b.dcm", "emri_small_jpeg_ls_lossless.dcm", "emri_small_RLE.dcm",
    "emri_small_big_endian.dcm", "eCT_Supplemental.dcm", "OBXXXX1A_rle_2frame.dcm", "gdcm-US-ALOKA-16.dcm",
    "SC_rgb_expb_2frame.dcm", "vlut_04.dcm",
    # "accept (tolerate ...) or reject clearly": these two are accepted.
    "bad_sequence.dcm", "OT-PAL-8-face.dcm",
]
CORPUS_REJECT = {"emri_small_jpeg_2k_lossless_too_short.dcm": "truncated"}

# The case patients that match the synthetic studies' DICOM headers.
SAMPLE_PATIENTS = {
    "ct": {"name": "张伟", "sex": "male", "birth_date": "1958-04-12"},
    "cr": {"name": "李秀英", "sex": "female", "birth_date": "1962-09-30"},
    "us": {"name": "王芳", "sex": "female", "birth_date": "1990-06-18"},
    "mr": {"name": "陈静", "sex": "female", "birth_date": "1975-01-20"},
}


@pytest.fixture(scope="session")
def corpus() -> Path:
    assert CORPUS.is_dir(), f"the shared DICOM corpus is expected at {CORPUS}"
    return CORPUS


@pytest.fixture(scope="session")
def samples(tmp_path_factory) -> dict[str, list[Path]]:
    """The synthetic studies of dicom_samples/, generated once for the whole run."""
    from dicom_samples.generate import generate

    return generate(tmp_path_factory.mktemp("samples"))


def new_case(api, username: str = "village.doctor", patient: dict | None = None, **fields) -> int:
    body = {"patient": patient or SAMPLE_PATIENTS["ct"], "specialty": "respiratory", "urgency": "urgent",
            "chief_complaint": "咳嗽、气促两周", "clinical_question": "请阅片：肺部病变性质？"}
    body.update(fields)
    return api.new_case(username, **body)["id"]


def upload(api, username: str, case_id: int, paths, *, prefix: str = "/api/v1"):
    """POST files (paths, or (bytes, name) pairs) to the case's attachments as multipart field `file`."""
    files = []
    for item in paths:
        if isinstance(item, tuple):
            import io

            data, name = item
            files.append((io.BytesIO(data), name))
        else:
            files.append((open(item, "rb"), Path(item).name))
    try:
        return api.client.post(f"{prefix}/cases/{case_id}/attachments", headers=api.headers(username),
                               data={"file": files}, content_type="multipart/form-data")
    finally:
        for f, _ in files:
            f.close()


def stored_files(data_dir: Path) -> list[Path]:
    root = data_dir / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_to(tmp: Path, paths, name: str) -> Path:
    target = tmp / name
    target.mkdir(parents=True, exist_ok=True)
    for p in paths:
        shutil.copy(p, target / Path(p).name)
    return target

"""Helpers for the advice tests: a case brought to review through the API, issuing advice,
and reading PDFs back with poppler (the independent peer)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from tests.conftest import DEMO_PASSWORD
from tests.web.conftest import csrf_token, sign_in

POPPLER = ("pdftotext", "pdffonts", "pdftoppm", "pdfinfo")
EMBEDDED_FAMILIES = ("Referral-Sans-SC", "Referral-Symbols")

ADVICE = {
    "assessment": "考虑不稳定型心绞痛，高危。Unstable angina, high risk.",
    "diagnoses": [{"code": "I20.0", "name": "不稳定型心绞痛"}, {"code": "I10", "name": ""}],
    "recommendations": [
        {"kind": "medication", "text": "阿司匹林肠溶片 aspirin", "dose": "300 mg 嚼服", "duration": "立即"},
        {"kind": "investigation", "text": "复查心电图、肌钙蛋白 troponin", "dose": "", "duration": "6小时后"},
    ],
    "disposition": "urgent_transfer",
    "follow_up": "转诊后3天电话随访",
    "warning_signs": "胸痛持续超过20分钟、大汗、晕厥",
}


@pytest.fixture(scope="session")
def poppler() -> None:
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"poppler-utils is missing ({', '.join(missing)}); `make system-deps` installs it")


def pdf_text(pdf: bytes) -> str:
    return _run(["pdftotext", "-layout", "-enc", "UTF-8", "{pdf}", "-"], pdf).decode("utf-8")


def pdf_fonts(pdf: bytes) -> list[dict]:
    """pdffonts as rows: name, type, emb (yes/no)."""
    lines = _run(["pdffonts", "{pdf}"], pdf).decode().splitlines()[2:]
    rows = []
    for line in lines:
        parts = line.split()
        # name type... encoding emb sub uni object ID: the last six columns are fixed
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def pdf_info(pdf: bytes) -> dict[str, str]:
    """pdfinfo's fields, and the XMP metadata under "_xmp"."""
    out = _run(["pdfinfo", "{pdf}"], pdf).decode("utf-8", "replace")
    info = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep and key not in info:
            info[key.strip()] = value.strip()
    info["_xmp"] = _run(["pdfinfo", "-meta", "{pdf}"], pdf).decode("utf-8", "replace")
    return info


def first_page_gray(pdf: bytes, dpi: int = 50) -> Path:
    """The first page rendered by pdftoppm as a grayscale PNG (a temporary file)."""
    out = Path(tempfile.mkdtemp(prefix="advice-page-"))
    src = out / "doc.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", str(dpi), "-gray", "-png", "-singlefile", str(src),
                    str(out / "page")], check=True, timeout=60)
    return out / "page.png"


def _run(cmd: list[str], pdf: bytes) -> bytes:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        args = [f.name if a == "{pdf}" else a for a in cmd]
        return subprocess.run(args, check=True, capture_output=True, timeout=60).stdout


def case_in_review(api, *, author: str = "village.doctor", specialist: str = "township.specialist", **case) -> int:
    """A new case from `author`, submitted and claimed by `specialist`; returns its id."""
    created = api.new_case(author, **case)
    assert api.act(author, created["id"], "submit").status_code == 200
    r = api.act(specialist, created["id"], "claim")
    assert r.status_code == 200, r.get_json()
    return created["id"]


def issue(api, case_id: int, specialist: str = "township.specialist", advice: dict | None = None, **extra):
    return api.act(specialist, case_id, "issue_advice", advice=advice or ADVICE, password=DEMO_PASSWORD, **extra)


def advice_versions(api, case_id: int, username: str = "village.doctor") -> list[dict]:
    r = api.get(username, f"/api/v1/cases/{case_id}/advice")
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def download(api, case_id: int, version: int, username: str = "village.doctor"):
    return api.get(username, f"/api/v1/cases/{case_id}/advice/{version}/pdf")


@pytest.fixture
def browser_of(app):
    def make(username: str):
        client = app.test_client()
        assert sign_in(client, username).status_code == 302
        return client

    return make


def form_fields(**overrides) -> MultiDict:
    fields = MultiDict([
        ("assessment", "考虑社区获得性肺炎，轻症。Mild community-acquired pneumonia."),
        ("dx_code", "J18.9"), ("dx_name", ""), ("dx_code", ""), ("dx_name", ""),
        ("rec_kind", "medication"), ("rec_text", "阿莫西林胶囊"), ("rec_dose", "0.5 g tid"), ("rec_duration", "5天"),
        ("rec_kind", "investigation"), ("rec_text", "血常规"), ("rec_dose", ""), ("rec_duration", ""),
        ("rec_kind", "medication"), ("rec_text", ""), ("rec_dose", ""), ("rec_duration", ""),
        ("disposition", "follow_up_township"), ("follow_up", "3天后乡镇卫生院复诊"),
        ("warning_signs", "高热不退、呼吸困难"), ("password", DEMO_PASSWORD), ("intent", "sign"),
    ])
    for key, value in overrides.items():
        fields.setlist(key, value if isinstance(value, list) else [value])
    return fields


def post_advice(client, case_id: int, fields: MultiDict):
    page = client.get(f"/cases/{case_id}/advice/new")
    assert page.status_code == 200, page.status_code
    fields = MultiDict(fields)
    fields["csrf_token"] = csrf_token(page.data)
    version = re.search(r'name="version" value="(\d+)"', page.get_data(as_text=True)).group(1)
    fields["version"] = version
    return client.post(f"/cases/{case_id}/advice/new", data=fields)

"""Key images: frames of the case's own DICOM studies, chosen on the form and printed in the PDF."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile

import pytest
from PIL import Image

from dicom_samples.generate import chest_ct

from .conftest import ADVICE, advice_versions, case_in_review, download, form_fields, issue, post_advice


@pytest.fixture(autouse=True)
def _poppler(poppler):
    pass


@pytest.fixture(scope="module")
def ct_files(tmp_path_factory):
    return chest_ct(tmp_path_factory.mktemp("ct"), slices=3, size=256)


def _case_with_ct(api, ct_files) -> int:
    """A case for the CT's patient (so the study is not held back as a mismatch), with the CT attached."""
    case_id = case_in_review(api, patient={"name": "张伟", "sex": "male", "birth_date": "1958-04-12"})
    files = [("file", (open(p, "rb"), p.name)) for p in ct_files]
    r = api.client.post(f"/api/v1/cases/{case_id}/attachments", headers=api.headers("village.doctor"),
                        data={"file": [(open(p, "rb"), p.name) for p in ct_files]}, content_type="multipart/form-data")
    for _, (f, _name) in files:
        f.close()
    assert r.status_code in (200, 201), r.get_json()
    return case_id


def _pdf_images(pdf: bytes) -> list[str]:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run(["pdfimages", "-list", f.name], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines()[2:] if line.strip()]


def test_chosen_frames_are_printed(api, browser_of, ct_files):
    case_id = _case_with_ct(api, ct_files)
    specialist = browser_of("township.specialist")
    html = specialist.get(f"/cases/{case_id}/advice/new").get_data(as_text=True)
    refs = re.findall(r'name="key_images" value="([^"]+)"', html)
    assert len(refs) >= 2, "the form offers the CT's frames"
    thumb = specialist.get(f"/cases/{case_id}/advice/key-image", query_string={"ref": refs[0]})
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 256

    r = post_advice(specialist, case_id, form_fields(key_images=refs[:2]))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    [v1] = advice_versions(api, case_id)
    assert v1["content"]["key_images"] == refs[:2]
    images = _pdf_images(download(api, case_id, 1).data)
    assert len(images) == 2, images
    events = api.get("village.doctor", f"/api/v1/cases/{case_id}/events").get_json()["items"]
    issued = [e for e in events if e["kind"] == "issue_advice"][0]
    assert "key_images_omitted" not in issued["payload"]


def test_frames_of_another_case_are_refused(api, browser_of, ct_files):
    case_id = _case_with_ct(api, ct_files)
    refs = re.findall(r'name="key_images" value="([^"]+)"',
                      browser_of("township.specialist").get(f"/cases/{case_id}/advice/new").get_data(as_text=True))
    other = case_in_review(api)
    r = issue(api, other, advice=dict(ADVICE, key_images=refs[:1]))
    assert r.status_code == 422 and "advice.key_images.0" in r.get_json()["fields"]
    outsider = browser_of("township.specialist2")
    assert outsider.get(f"/cases/{case_id}/advice/key-image", query_string={"ref": refs[0]}).status_code == 404
    same = browser_of("township.specialist")
    assert same.get(f"/cases/{other}/advice/key-image", query_string={"ref": refs[0]}).status_code == 404
    assert same.get(f"/cases/{case_id}/advice/key-image", query_string={"ref": "../../etc/passwd"}).status_code == 404

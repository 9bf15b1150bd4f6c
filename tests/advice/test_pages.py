"""The advice pages through the web app: the structured form, the case page section, PDF
print and download, and the public verify page with a file check."""

from __future__ import annotations

import hashlib
import io

import pytest

from tests.web.conftest import csrf_token

from .conftest import advice_versions, case_in_review, form_fields, issue, pdf_text, post_advice


@pytest.fixture(autouse=True)
def _poppler(poppler):
    pass


def test_specialist_signs_advice_with_the_structured_form(api, browser_of, settings):
    case_id = case_in_review(api)
    specialist = browser_of("township.specialist")
    page = specialist.get(f"/cases/{case_id}/advice/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="assessment"' in html and 'list="icd10-list"' in html
    assert page.headers["Cache-Control"] == "private, no-store"

    r = post_advice(specialist, case_id, form_fields(password="wrong-password"))
    assert r.status_code == 422 and "阿莫西林胶囊" in r.get_data(as_text=True)  # what was typed is kept
    assert advice_versions(api, case_id) == []

    # Nothing chosen and no password: the fields are marked in the page's language, and the banner does
    # not blame the password.
    r = post_advice(specialist, case_id, form_fields(disposition="", password=""))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "请从选项中选择。" in html and "Input should be" not in html
    assert "密码不正确" not in html

    # A dose without a recommendation is pointed out on its row.
    r = post_advice(specialist, case_id, form_fields(rec_text=["阿莫西林胶囊", "", ""], rec_dose=["0.5 g tid", "2 片", ""]))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and html.count('class="has-error"') == 1 and "0.5 g tid" in html

    r = post_advice(specialist, case_id, form_fields())
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{case_id}#advice")
    [v1] = advice_versions(api, case_id)
    content = v1["content"]
    assert content["diagnoses"] == [{"code": "J18.9", "name": "肺炎"}] or content["diagnoses"][0]["code"] == "J18.9"
    assert [r["text"] for r in content["recommendations"]] == ["阿莫西林胶囊", "血常规"]
    assert content["recommendations"][0]["dose"] == "0.5 g tid"
    text = pdf_text(api.get("village.doctor", f"/api/v1/cases/{case_id}/advice/1/pdf").data)
    assert "阿莫西林胶囊" in text and "0.5 g tid" in text and "到乡镇卫生院随访" in text


def test_only_the_assignee_gets_the_form(api, browser_of):
    case_id = case_in_review(api)
    assert browser_of("village.doctor").get(f"/cases/{case_id}/advice/new").status_code == 403
    assert browser_of("village.doctor2").get(f"/cases/{case_id}/advice/new").status_code == 404
    assert browser_of("township.specialist2").get(f"/cases/{case_id}/advice/new").status_code == 404


def test_case_page_lists_versions_with_print_and_download(api, browser_of):
    case_id = case_in_review(api)
    specialist = browser_of("township.specialist")
    assert post_advice(specialist, case_id, form_fields()).status_code == 302
    assert api.act("village.doctor", case_id, "follow_up", message="症状无好转").status_code == 200
    # Amending: the form starts from the current version.
    page = specialist.get(f"/cases/{case_id}/advice/new").get_data(as_text=True)
    assert "修订意见（第 2 版）" in page and "阿莫西林胶囊" in page
    assert post_advice(specialist, case_id, form_fields(assessment="复诊评估：改用头孢。")).status_code == 302

    doctor = browser_of("village.doctor")
    html = doctor.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="advice"' in html
    for version in (1, 2):
        assert f"/cases/{case_id}/advice/{version}.pdf" in html
        assert f"/cases/{case_id}/advice/{version}.pdf?download=1" in html
    assert 'class="advice superseded" data-version="1"' in html

    inline = doctor.get(f"/cases/{case_id}/advice/2.pdf")
    assert inline.status_code == 200 and inline.mimetype == "application/pdf"
    assert inline.headers["Content-Disposition"].startswith("inline;")
    attached = doctor.get(f"/cases/{case_id}/advice/1.pdf?download=1")
    assert attached.headers["Content-Disposition"].startswith("attachment;")
    v1, v2 = advice_versions(api, case_id)
    assert hashlib.sha256(attached.data).hexdigest() == v1["pdf_sha256"]
    assert hashlib.sha256(inline.data).hexdigest() == v2["pdf_sha256"]
    assert browser_of("village.doctor2").get(f"/cases/{case_id}/advice/1.pdf").status_code == 404


def test_verify_page_checks_a_file_byte_for_byte(api, client):
    case_id = case_in_review(api)
    assert issue(api, case_id).status_code == 200
    [v1] = advice_versions(api, case_id)
    pdf = api.get("village.doctor", f"/api/v1/cases/{case_id}/advice/1/pdf").data
    page = client.get(f"/verify/{v1['verify_code']}")
    token = csrf_token(page.data)
    r = client.post(f"/verify/{v1['verify_code']}", data={"csrf_token": token, "file": (io.BytesIO(pdf), "a.pdf")},
                    content_type="multipart/form-data")
    assert 'data-check="match"' in r.get_data(as_text=True)
    altered = pdf.replace(b"%%EOF", b"%%EOF\n")
    r = client.post(f"/verify/{v1['verify_code']}", data={"csrf_token": token, "file": (io.BytesIO(altered), "a.pdf")},
                    content_type="multipart/form-data")
    assert 'data-check="different"' in r.get_data(as_text=True)

"""Issuing, amending, downloading and verifying advice through the API, on SQLite and
PostgreSQL, with real PDFs in a real data directory."""

from __future__ import annotations

import hashlib
import http.server
import os
import stat
import threading
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from referral.advice import document as advice_document
from referral.cli import main as cli
from referral.models import Advice, Case, Event, User
from referral.services.users import set_locale

from .conftest import ADVICE, advice_versions, case_in_review, download, issue, pdf_fonts, pdf_text


@pytest.fixture(autouse=True)
def _poppler(poppler):
    pass


def stored_pdf(settings, version: dict) -> bytes:
    """The stored file of a version, found from what the API reports (not from our own code)."""
    digest = version["pdf_sha256"]
    path = settings.data_dir / "advice" / digest[:2] / f"{digest}.pdf"
    return path.read_bytes()


def test_issued_advice_has_a_signed_pdf_that_matches_its_hash(api, settings):
    case_id = case_in_review(api)
    r = issue(api, case_id)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "advised"
    [v1] = advice_versions(api, case_id)
    assert v1["version"] == 1 and v1["current"] and len(v1["verify_code"]) == 12
    pdf = stored_pdf(settings, v1)
    assert hashlib.sha256(pdf).hexdigest() == v1["pdf_sha256"]
    assert v1["signer_credentials"]["title"] and v1["signer_credentials"]["facility"]

    r = download(api, case_id, 1)
    assert r.status_code == 200
    assert r.mimetype == "application/pdf"
    assert r.data == pdf
    assert r.headers["Cache-Control"] == "private, no-store"
    text = pdf_text(r.data)
    assert "测试患者" in text and "Unstable angina, high risk" in text and "阿司匹林肠溶片 aspirin" in text
    assert f"/verify/{v1['verify_code']}" in text
    assert all(f["emb"] == "yes" for f in pdf_fonts(r.data))


def test_amending_keeps_both_versions_and_the_verify_page_tells_them_apart(api, client, settings):
    case_id = case_in_review(api)
    assert issue(api, case_id).status_code == 200
    [v1] = advice_versions(api, case_id)
    first_bytes = download(api, case_id, 1).data
    assert client.get(f"/verify/{v1['verify_code']}").status_code == 200

    assert api.act("village.doctor", case_id, "follow_up", message="用药3天后仍胸闷，请再评估").status_code == 200
    amended = dict(ADVICE, assessment="第二次评估：建议尽快转诊。Second opinion: transfer soon.")
    r = issue(api, case_id, advice=amended)
    assert r.status_code == 200, r.get_json()

    v1, v2 = advice_versions(api, case_id)
    assert (v1["version"], v1["current"], v2["version"], v2["current"]) == (1, False, 2, True)
    assert v1["superseded_at"] and v1["verify_code"] != v2["verify_code"]
    # The first PDF is unchanged and still downloadable; the second one is new.
    assert download(api, case_id, 1).data == first_bytes == stored_pdf(settings, v1)
    second = download(api, case_id, 2).data
    assert second != first_bytes and hashlib.sha256(second).hexdigest() == v2["pdf_sha256"]
    assert "本版取代第 1 版" in pdf_text(second)

    page = client.get(f"/verify/{v1['verify_code']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-status="superseded"' in html
    page = client.get(f"/verify/{v2['verify_code']}")
    assert 'data-status="current"' in page.get_data(as_text=True)
    # The code as printed (with dashes, lower case) works too.
    code = v2["verify_code"]
    assert 'data-status="current"' in client.get(f"/verify/{code[:4]}-{code[4:8]}-{code[8:]}".lower()).get_data(
        as_text=True)

    events = api.get("village.doctor", f"/api/v1/cases/{case_id}/events").get_json()["items"]
    issued = [e for e in events if e["kind"] == "issue_advice"]
    assert [e["payload"]["advice_version"] for e in issued] == [1, 2]
    assert issued[1]["payload"]["supersedes"] == 1
    assert issued[1]["payload"]["pdf_sha256"] == v2["pdf_sha256"]


def test_verify_page_shows_no_patient_data_and_unknown_codes(api, client):
    case_id = case_in_review(api, patient={"name": "欧阳娜娜", "sex": "female", "birth_date": "1980-02-02",
                                          "id_number": "420322198002020021"})
    assert issue(api, case_id).status_code == 200
    [v1] = advice_versions(api, case_id)
    html = client.get(f"/verify/{v1['verify_code']}").get_data(as_text=True)
    for private in ("欧阳娜娜", "420322", "胸闷", "阿司匹林", "YX-"):
        assert private not in html, private
    assert v1["pdf_sha256"] in html and v1["signer_credentials"]["name"] in html

    r = client.get("/verify/ZZZZ-ZZZZ-ZZZZ")
    assert r.status_code == 404 and 'data-status="unknown"' in r.get_data(as_text=True)
    r = client.get("/verify/not-a-code-at-all")
    assert r.status_code == 404 and 'data-status="unknown"' in r.get_data(as_text=True)
    assert client.get("/verify?code=" + v1["verify_code"]).status_code == 302


def test_download_requires_access(api, client):
    case_id = case_in_review(api)
    assert issue(api, case_id).status_code == 200
    path = f"/api/v1/cases/{case_id}/advice/1/pdf"
    assert client.get(path).status_code == 401
    # A doctor of another township and a specialist of another facility: the case does not exist for them.
    for outsider in ("village.doctor2", "township.specialist2"):
        r = api.get(outsider, path)
        assert r.status_code == 404 and r.get_json()["error"] == "not_found", outsider
    assert download(api, case_id, 7).status_code == 404
    assert download(api, 999999, 1).status_code == 404
    assert download(api, case_id, 1, "township.specialist").status_code == 200


def test_a_failed_render_leaves_the_advice_unissued(api, settings, monkeypatch, database):
    case_id = case_in_review(api)
    monkeypatch.setattr(advice_document, "RENDER_MEMORY_MB", 1)  # no document fits in 1 MB
    r = issue(api, case_id)
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["error"] == "render_failed" and body["message"]
    monkeypatch.undo()

    detail = api.get("township.specialist", f"/api/v1/cases/{case_id}").get_json()
    assert detail["status"] == "in_review" and "issue_advice" in detail["allowed_actions"]
    assert advice_versions(api, case_id) == []
    with database.session() as s:
        assert s.scalars(select(Advice).where(Advice.case_id == case_id)).first() is None
        assert s.scalars(select(Event).where(Event.case_id == case_id, Event.kind == "issue_advice")).first() is None
    # Afterwards it works as usual.
    assert issue(api, case_id).status_code == 200


def test_wrong_password_or_foreign_key_image_is_refused(api):
    case_id = case_in_review(api)
    r = api.act("township.specialist", case_id, "issue_advice", advice=ADVICE, password="wrong")
    assert r.status_code == 422 and "password" in r.get_json()["fields"]
    bad = dict(ADVICE, key_images=["1.2.3/1.2.3.4/1.2.3.4.5/1"])
    r = issue(api, case_id, advice=bad)
    assert r.status_code == 422 and "advice.key_images.0" in r.get_json()["fields"]
    r = issue(api, case_id, advice=dict(ADVICE, key_images=["../../etc/passwd"]))
    assert r.status_code == 422 and "advice.key_images" in r.get_json()["fields"]
    assert advice_versions(api, case_id) == []


class _Trap(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Trap.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_hostile_content_in_every_field_is_printed_as_text(api, settings, caplog):
    _Trap.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    trap = f"http://127.0.0.1:{server.server_port}"
    try:
        evil = (f"<script>alert('x')</script><img src=\"file:///etc/passwd\"><img src=\"{trap}/img.png\">"
                f"<div style=\"background:url('{trap}/css.png')\">css</div>")
        case_id = case_in_review(
            api, patient={"name": "<b>患者</b><img src=x>", "sex": "male", "birth_date": "1970-01-01"},
            chief_complaint=evil, clinical_question=evil, history=evil,
            diagnoses=[{"code": "I10", "name": f"<img src='{trap}/dx.png'>"}],
        )
        hostile = {
            "assessment": evil, "follow_up": evil[:500], "warning_signs": evil,
            "diagnoses": [{"code": "I20.0", "name": f"url({trap}/name.png)"}],
            "recommendations": [{"kind": "medication", "text": evil, "dose": evil[:200], "duration": "url(file:///etc/passwd)"}],
            "disposition": "manage_locally",
        }
        with caplog.at_level("WARNING", logger="referral.pdf"):
            r = issue(api, case_id, advice=hostile)
        assert r.status_code == 200, r.get_json()
        time.sleep(0.2)
        assert _Trap.hits == [], f"the PDF renderer reached a server: {_Trap.hits}"
        assert "refused" not in caplog.text  # nothing even asked for: the text never became markup
        pdf = download(api, case_id, 1).data
        text = pdf_text(pdf)
        assert "<script>alert('x')</script>" in text
        assert "<b>患者</b><img src=x>" in text
        assert f"url({trap}/name.png)" in text
        assert "root:x:0:0" not in text
    finally:
        server.shutdown()


def test_english_case_gets_an_english_pdf(api, database):
    with database.session() as s:
        doctor = s.scalars(select(User).where(User.username == "village.doctor")).one()
        set_locale(s, doctor, "en")
    case_id = case_in_review(api)
    assert issue(api, case_id).status_code == 200
    text = pdf_text(download(api, case_id, 1).data)
    assert "Remote Consultation: Diagnostic Advice" in text and "Page 1 of" in text


def test_seeded_advice_gets_its_pdf_on_first_download(api, database, settings):
    """The demo seeding runs without a data directory: its advice is signed without a PDF,
    which is rendered and recorded the first time someone opens it, then never changes."""
    with database.session() as s:
        advice = s.scalars(select(Advice).where(Advice.pdf_path.is_(None)).order_by(Advice.id)).first()
        assert advice is not None, "the demo has advice"
        case = s.get(Case, advice.case_id)
        author = case.author.username
        case_id, version = case.id, advice.version
    r = download(api, case_id, version, author)
    assert r.status_code == 200, r.get_json()
    again = download(api, case_id, version, author)
    assert again.data == r.data
    [row] = [v for v in advice_versions(api, case_id, author) if v["version"] == version]
    assert hashlib.sha256(r.data).hexdigest() == row["pdf_sha256"]
    events = api.get(author, f"/api/v1/cases/{case_id}/events").get_json()["items"]
    assert [e["payload"]["advice_version"] for e in events if e["kind"] == "advice_pdf"] == [version]


def test_stored_pdfs_are_read_only_and_tampering_is_detected(api, settings, db_url):
    case_id = case_in_review(api)
    assert issue(api, case_id).status_code == 200
    [v1] = advice_versions(api, case_id)
    path = settings.data_dir / "advice" / v1["pdf_sha256"][:2] / f"{v1['pdf_sha256']}.pdf"
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)

    env = {"REFERRAL_DATA_DIR": str(settings.data_dir), "REFERRAL_DATABASE_URL": db_url}
    result = CliRunner().invoke(cli, ["advice", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "problems: 0" in result.output

    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"%%EOF", b"%%EOF\n% changed"))
    result = CliRunner().invoke(cli, ["advice", "verify"], env=env)
    assert result.exit_code == 1 and "changed" in result.output and v1["pdf_sha256"] in result.output
    r = download(api, case_id, 1)
    assert r.status_code == 500 and r.get_json()["error"] == "pdf_damaged"  # never served as genuine

    os.remove(path)
    result = CliRunner().invoke(cli, ["advice", "verify"], env=env)
    assert result.exit_code == 1 and "missing" in result.output


def test_a_pdf_written_for_a_signing_that_fails_is_taken_back(api, settings, monkeypatch):
    """Two specialists sign the same case at the same moment: the loser's PDF (which names the patient)
    must not stay in the store once its transaction rolls back."""
    from referral.domain.errors import Conflict
    from referral.services import cases as case_service

    def already_signed(*_args, **_kwargs):
        raise Conflict("the case changed while signing")

    case_id = case_in_review(api)
    monkeypatch.setattr(case_service, "_close_hop", already_signed)  # fails after the PDF is written
    r = issue(api, case_id)
    assert r.status_code == 409, r.get_json()
    assert list((settings.data_dir / "advice").rglob("*.pdf")) == []
    monkeypatch.undo()
    assert issue(api, case_id).status_code == 200
    assert len(list((settings.data_dir / "advice").rglob("*.pdf"))) == 1

"""The PDF renderer and the advice document, read back with poppler.

Text extraction alone does not prove that glyphs render, so the first page is
also rasterised by pdftoppm and compared with a stored reference image: a
missing font, tofu boxes or a fallback font change the page and fail the test.
Regenerate the reference after an intended layout change with
`REFERRAL_UPDATE_REFERENCE=1 .venv/bin/pytest tests/advice/test_pdf.py -k reference`
and look at it before committing.
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from referral.advice.document import render_advice_pdf
from referral.pdf import FONT_FAMILY, RenderFailed, asset_url, font_face_css, render, render_pdf

from .conftest import EMBEDDED_FAMILIES, first_page_gray, pdf_fonts, pdf_info, pdf_text
from .sample import VERIFY_URL, sample_advice, sample_case, sample_document

REFERENCE = Path(__file__).parent / "reference" / "advice-page1-50dpi.png"
PNG_PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a5a20000000049454e44ae426082"
)


def page(body: str, css: str = "") -> str:
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><style>{font_face_css()}{css}"
            f"</style></head><body>{body}</body></html>")


@pytest.fixture(autouse=True)
def _poppler(poppler):
    pass


# ------------------------------------------------------------------ the advice document


def test_chinese_and_english_text_is_extractable_and_the_font_is_embedded():
    pdf = render_advice_pdf(sample_document())
    text = pdf_text(pdf)
    for expected in ("远程会诊诊断意见书", "郧西县城关镇卫生院", "陈桂英", "420322********0024", "不稳定型心绞痛",
                     "Unstable angina, high risk", "阿司匹林肠溶片 aspirin", "立即转诊上级医院", "胸痛持续超过20分钟",
                     "张明", "主治医师", "2026-03-01 14:05", "ABCD-2345-EFGH", VERIFY_URL, "11.2×10⁹/L", "37.8℃",
                     "96 次/分"):
        assert expected in text, expected
    assert "第1页/共2页" in text.replace(" ", "") and "第2页/共2页" in text.replace(" ", "")
    assert "420322195603120024" not in text  # the ID number only masked

    fonts = pdf_fonts(pdf)
    assert fonts, "no fonts in the PDF"
    for font in fonts:
        # Every font is one of ours, embedded: nothing came from the host's fonts.
        assert font["name"].split("+")[-1].startswith(EMBEDDED_FAMILIES), fonts
        assert font["emb"] == "yes", fonts
    assert any(f["name"].split("+")[-1].startswith("Referral-Sans-SC") for f in fonts)


def test_pdf_is_pdf_a_with_metadata():
    info = pdf_info(render_advice_pdf(sample_document()))
    xmp = info["_xmp"]
    assert 'pdfaid:part="3"' in xmp or "<pdfaid:part>3</pdfaid:part>" in xmp, xmp[:2000]
    assert 'pdfaid:conformance="B"' in xmp or "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert info["Title"].startswith("远程会诊诊断意见书 YX-2026-000123")
    assert info["Author"] == "张明"


def test_english_case_gives_an_english_pdf():
    text = pdf_text(render_advice_pdf(sample_document(language="en")))
    for expected in ("Remote Consultation: Diagnostic Advice", "Chengguan Township Health Center", "Page 1 of 2",
                     "Urgent transfer to a higher-level hospital", "Come back at once if", "Verification code",
                     "96 /min"):
        assert expected in text, expected
    assert "第1页" not in text.replace(" ", "")


def test_amended_version_says_what_it_supersedes():
    text = pdf_text(render_advice_pdf(sample_document(advice=sample_advice(version=2))))
    assert "第 2 版" in text and "本版取代第 1 版" in text


def _differences(image: Path, reference: Path) -> tuple[float, float]:
    """(mean absolute difference 0..255, share of pixels differing by more than 64)."""
    a, b = Image.open(image).convert("L"), Image.open(reference).convert("L")
    assert a.size == b.size, (a.size, b.size)
    diff = ImageChops.difference(a, b)
    histogram = diff.histogram()
    total = a.size[0] * a.size[1]
    mean = sum(i * n for i, n in enumerate(histogram)) / total
    return mean, sum(histogram[65:]) / total


def test_first_page_matches_the_reference_image():
    image = first_page_gray(render_advice_pdf(sample_document()), dpi=50)
    if os.environ.get("REFERRAL_UPDATE_REFERENCE"):
        REFERENCE.parent.mkdir(exist_ok=True)
        Image.open(image).convert("L").save(REFERENCE, optimize=True)
    mean, share = _differences(image, REFERENCE)
    assert mean < 1.5 and share < 0.004, f"the first page differs from the reference: mean {mean:.2f}, {share:.2%}"


def test_reference_comparison_catches_missing_glyphs(tmp_path):
    """The same page without the embedded font (what a host without it would print) fails."""
    document = sample_document()
    document.html = document.html.replace(font_face_css(), "")
    image = first_page_gray(render_pdf(document.html, assets=document.assets), dpi=50)
    mean, share = _differences(image, REFERENCE)
    assert mean >= 1.5 or share >= 0.004


# ------------------------------------------------------------------ the fetcher


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the standard library's name
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(PNG_PIXEL)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_trap():
    """A local HTTP server the document must never reach."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_fetcher_serves_only_the_given_assets(http_trap, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0 top secret")
    body = (
        f"<p>正文 body</p><img src='{asset_url('ok.png')}'>"
        f"<img src='file://{secret}'><img src='file:///etc/passwd'><img src='{http_trap}/img.png'>"
        f"<img src='https://127.0.0.1:1/x.png'><img src='data:image/png;base64,iVBORw0KGgo='>"
        f"<div style=\"background: url('{http_trap}/css.png')\">x</div>"
        f"<link rel='stylesheet' href='{http_trap}/style.css'><object data='file:///etc/passwd'></object>"
        f"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'><image href='{http_trap}/svg.png' width='10' height='10'/></svg>"
        f"<img src='../../../etc/passwd'><img src='asset:fonts/../../../../etc/passwd'>"
        f"<style>@import url('{http_trap}/import.css');</style>"
    )
    css = "body { background: url('file:///etc/passwd'); }"
    result = render(page(body, css), assets={"ok.png": PNG_PIXEL})
    time.sleep(0.2)
    assert _Recorder.hits == [], f"the renderer reached the network: {_Recorder.hits}"
    refused = " ".join(result.refused)
    for url in (f"file://{secret}", "file:///etc/passwd", f"{http_trap}/img.png", f"{http_trap}/css.png",
                f"{http_trap}/style.css", f"{http_trap}/import.css", "data:image/png"):
        assert url in refused, (url, result.refused)
    assert asset_url("ok.png") not in refused
    text = pdf_text(result.pdf)
    assert "正文 body" in text and "root:" not in text and "top secret" not in text


def test_text_in_the_advice_is_escaped_and_loads_nothing(http_trap):
    hostile = (f"<script>alert(1)</script><img src=\"file:///etc/passwd\"><img src=\"{http_trap}/a.png\">"
               f"<style>body{{background:url('{http_trap}/b.png')}}</style>")
    case = sample_case(chief_complaint=hostile, history=hostile, clinical_question=hostile)
    case.patient.name = "<b>陈</b>" + hostile[:150]
    advice = sample_advice(assessment=hostile, follow_up=hostile[:400], warning_signs=hostile,
                           recommendations=[{"kind": "medication", "text": hostile, "dose": hostile[:200],
                                             "duration": "url(file:///etc/passwd)"}],
                           diagnoses=[{"code": "I10", "name": hostile[:200]}])
    result = render(sample_document(case, advice).html, assets=sample_document(case, advice).assets)
    time.sleep(0.2)
    assert _Recorder.hits == []
    assert result.refused == (), result.refused  # escaped text never becomes a URL
    text = pdf_text(result.pdf)
    assert "<script>alert(1)</script>" in text
    assert '<img src="file:///etc/passwd">' in text
    assert "root:x:0:0" not in text


# ------------------------------------------------------------------ limits


def test_render_over_the_time_limit_fails_cleanly():
    rows = "".join(f"<tr><td>{i}</td><td>{'测试 text ' * 40}</td></tr>" for i in range(6000))
    started = time.monotonic()
    with pytest.raises(RenderFailed) as caught:
        render_pdf(page(f"<table>{rows}</table>"), timeout_s=1.5)
    assert caught.value.reason == "timeout" and caught.value.code == "render_failed"
    assert time.monotonic() - started < 10
    assert render_pdf(page("<p>之后照常 fine afterwards</p>"))  # the next render is unaffected


def test_render_over_the_memory_limit_fails_cleanly():
    rows = "".join(f"<p>{'内存 memory ' * 200}</p>" for _ in range(3000))
    with pytest.raises(RenderFailed) as caught:
        render_pdf(page(rows), memory_mb=40, timeout_s=60)
    assert caught.value.reason in ("memory", "crashed", "error")
    assert render_pdf(page("<p>之后照常</p>"))


def test_font_face_css_names_the_embedded_family():
    css = font_face_css()
    assert FONT_FAMILY in css and "asset:fonts/ReferralSansSC-Regular.otf" in css and "@page" in css
    assert shutil.which("pdftoppm")

"""The advice journey in Debian's Chromium: the specialist fills the structured form and
signs, the village doctor finds the PDF on the case page, and anyone can verify its code."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import pytest

from tests.web.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LiveServer

from .conftest import advice_versions, case_in_review, pdf_text

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    """Browser tests run on SQLite; the services are tested on both backends elsewhere."""
    return "sqlite"


@pytest.fixture(scope="module")
def chromium():
    import os

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI (make system-deps installs it)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _sign_in(page, base: str, username: str) -> None:
    from tests.conftest import DEMO_PASSWORD

    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/")


def test_specialist_signs_and_doctor_prints_and_anyone_verifies(app, api, chromium, poppler):
    from tests.conftest import DEMO_PASSWORD

    ARTIFACTS.mkdir(exist_ok=True)
    case_id = case_in_review(api)
    requests: list[str] = []
    with LiveServer(app) as server:
        base = server.url
        specialist = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        specialist.on("request", lambda req: requests.append(req.url))
        page = specialist.new_page()
        page.set_default_timeout(20_000)
        _sign_in(page, base, "township.specialist")
        page.goto(f"{base}/cases/{case_id}")
        page.get_by_role("link", name="填写诊疗意见").click()
        page.wait_for_url(f"{base}/cases/{case_id}/advice/new")
        page.get_by_label("您对病情的评估").fill("考虑不稳定型心绞痛。Unstable angina likely.")
        page.get_by_label("ICD-10 编码 1", exact=True).fill("I20.0")
        page.get_by_label("建议内容 1", exact=True).fill("阿司匹林肠溶片")
        page.get_by_label("剂量/用法 1", exact=True).fill("300 mg 嚼服")
        page.get_by_label("疗程 1", exact=True).fill("立即")
        page.get_by_label("处置意见").select_option("urgent_transfer")
        page.get_by_label("警示症状：出现以下情况请立即复诊").fill("胸痛持续超过20分钟、大汗")
        page.get_by_label("您的密码（用于签署意见）").fill(DEMO_PASSWORD)
        page.screenshot(path=str(ARTIFACTS / "advice-form.png"), full_page=True)
        page.get_by_label("您的密码（用于签署意见）").press("Enter")  # Enter signs, as the last button says
        page.wait_for_url(f"{base}/cases/{case_id}#advice")
        assert page.locator("#advice").get_by_text("现行版本").is_visible()

        doctor = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        doctor.on("request", lambda req: requests.append(req.url))
        page = doctor.new_page()
        page.set_default_timeout(20_000)
        _sign_in(page, base, "village.doctor")
        page.goto(f"{base}/cases/{case_id}")
        section = page.locator("#advice")
        section.scroll_into_view_if_needed()
        section.screenshot(path=str(ARTIFACTS / "advice-case-section.png"))
        link = section.get_by_role("link", name="打印（PDF）")
        href = link.get_attribute("href")
        assert href == f"/cases/{case_id}/advice/1.pdf" and link.get_attribute("target") == "_blank"
        response = page.request.get(base + href)
        assert response.ok and response.headers["content-type"] == "application/pdf"
        pdf = response.body()
        [v1] = advice_versions(api, case_id)
        assert hashlib.sha256(pdf).hexdigest() == v1["pdf_sha256"]
        assert "阿司匹林肠溶片" in pdf_text(pdf)

        # Amended after a follow-up question: both versions on the page, the first marked replaced.
        assert api.act("village.doctor", case_id, "follow_up", message="仍胸闷").status_code == 200
        from .conftest import issue

        assert issue(api, case_id).status_code == 200
        page.goto(f"{base}/cases/{case_id}")
        section = page.locator("#advice")
        section.locator("details.advice-earlier > summary").click()
        assert section.locator('article.superseded[data-version="1"]').get_by_text("已被取代").is_visible()
        section.screenshot(path=str(ARTIFACTS / "advice-case-section-amended.png"))

        public = chromium.new_context(locale="zh-CN")
        public.on("request", lambda req: requests.append(req.url))
        page = public.new_page()
        page.goto(f"{base}/verify")
        page.get_by_label("二维码下方的核验码").fill(v1["verify_code"][:4] + "-" + v1["verify_code"][4:8] + "-" +
                                                  v1["verify_code"][8:])
        page.get_by_role("button", name="核验", exact=True).click()
        page.wait_for_url(f"{base}/verify/*")
        assert page.get_by_text("真实，但已被新版本取代").is_visible()
        page.screenshot(path=str(ARTIFACTS / "advice-verify.png"), full_page=True)
        for context in (specialist, doctor, public):
            context.close()
    own = urlsplit(base).netloc
    foreign = [u for u in requests if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own]
    assert foreign == [], foreign

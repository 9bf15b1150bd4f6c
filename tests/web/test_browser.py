"""The web app in Debian's Chromium: a case's whole journey through four people's browsers,
nothing requested from another host, CSRF refusal, page weight, and screenshots."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import DEMO_PASSWORD

from .conftest import keep_screenshot

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def backend() -> str:
    """The browser tests run on SQLite (the services run on both backends in their own tests)."""
    return "sqlite"


class Browsers:
    """Browser contexts for several people, recording every request they make."""

    def __init__(self, chromium, server) -> None:
        self.chromium, self.server = chromium, server
        self.contexts = []
        self.requests: list[str] = []

    def open(self, username: str | None, viewport=DESKTOP):
        context = self.chromium.new_context(viewport=viewport, locale="zh-CN")
        context.on("request", lambda req: self.requests.append(req.url))
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        if username:
            sign_in(page, self.server.url, username)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()

    def foreign_requests(self) -> list[str]:
        own = urlsplit(self.server.url).netloc
        return [u for u in self.requests
                if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).netloc != own]


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/")


@pytest.fixture
def browsers(chromium, live_server):
    b = Browsers(chromium, live_server)
    yield b
    b.close()


def _case_path(page) -> str:
    return urlsplit(page.url).path


def _act(page, summary: str) -> None:
    """Open the action's form (a <details>) unless it is already open."""
    details = page.locator("details.action", has=page.locator("summary", has_text=summary)).first
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def test_the_journey_of_a_case_through_four_browsers(browsers, live_server, artifacts):
    base = live_server.url
    doctor = browsers.open("village.doctor")
    township = browsers.open("township.specialist")
    county = browsers.open("county.specialist")
    admin = browsers.open("county.admin")

    # The village doctor writes and submits a case, picking a diagnosis from the ICD-10 search.
    doctor.get_by_role("link", name="新建病例").first.click()
    doctor.get_by_label("姓名").fill("程玉兰")
    doctor.get_by_label("性别").select_option("female")
    doctor.get_by_label("出生日期").fill("1958-02-17")
    doctor.locator("label.urg-urgent").click()
    doctor.get_by_label("申请专科").select_option("cardiology")
    doctor.get_by_label("主诉").fill("阵发性胸痛2天")
    doctor.get_by_label("会诊问题").fill("是否为不稳定型心绞痛？是否需要转诊？")
    doctor.get_by_label("心率（次/分）").fill("102")
    doctor.get_by_label("收缩压（mmHg）").fill("172")
    doctor.get_by_label("按名称或编码查找诊断").fill("心绞痛")
    doctor.locator("[data-dx-results] button", has_text="I20.0").click()
    assert doctor.locator('[data-dx-list] input[name="dx_code"][value="I20.0"]').count() == 1
    doctor.screenshot(path=artifacts / "new-case-desktop.png", full_page=True)
    doctor.get_by_role("button", name="提交上级医生").click()
    doctor.wait_for_url(re.compile(r"/cases/\d+$"))
    case_path = _case_path(doctor)
    assert doctor.locator(".case-head").get_by_text("待接诊").count() == 1

    # The township specialist finds it in the queue, claims it and escalates it.
    township.reload()
    township.locator(f'a[href="{case_path}"]').first.click()
    township.get_by_role("button", name="接诊").click()
    township.wait_for_load_state()
    _act(township, "上转")
    township.get_by_label("需要上转的原因").fill("疑似急性冠脉综合征，本院无心内科，申请上级会诊。")
    township.get_by_role("button", name="上转上一级").click()
    township.wait_for_load_state()
    assert township.locator(".case-head").get_by_text("郧西县人民医院").count() == 1

    # The county specialist claims it and asks for information.
    county.goto(base + "/")
    county.locator(f'a[href="{case_path}"]').first.click()
    county.get_by_role("button", name="接诊").click()
    county.wait_for_load_state()
    _act(county, "请求补充资料")
    county.get_by_label("需要基层医生补充什么？").fill("请上传心电图并补充肌钙蛋白结果。")
    county.get_by_role("button", name="发送请求").click()
    county.wait_for_load_state()
    assert county.locator(".case-head").get_by_text("需补充资料").count() == 1

    # The village doctor sees the request first on her home page and answers it.
    doctor.goto(base + "/")
    group = doctor.locator(".group-info_requested")
    assert group.locator(f'a[href="{case_path}"]').count() == 1
    group.locator(f'a[href="{case_path}"]').click()
    assert doctor.get_by_text("请上传心电图并补充肌钙蛋白结果。").count() >= 1
    doctor.get_by_label("给上级医生的答复").fill("心电图：V1-V4 ST段压低0.1mV；肌钙蛋白I 0.08 ng/mL。")
    doctor.get_by_role("button", name="发送补充资料").click()
    doctor.wait_for_load_state()

    # The county specialist signs the advice.
    county.reload()
    _act(county, "出具诊疗意见")
    county.get_by_label("病情评估").fill("不稳定型心绞痛，高危。")
    county.get_by_label("处置意见").select_option("urgent_transfer")
    county.get_by_label("建议（治疗、用药、检查）").fill("阿司匹林300mg嚼服，立即转县人民医院胸痛中心。")
    county.get_by_label("您的密码（用于签署意见）").fill(DEMO_PASSWORD)
    county.get_by_role("button", name="签署并发送意见").click()
    county.wait_for_load_state()
    assert county.locator(".case-head").get_by_text("已出具意见").count() == 1
    county.screenshot(path=artifacts / "case-specialist-desktop.png", full_page=True)

    # The village doctor reads the advice and closes the case.
    doctor.goto(base + "/")
    doctor.locator(".group-advised").locator(f'a[href="{case_path}"]').click()
    assert doctor.get_by_text("阿司匹林300mg嚼服").count() >= 1
    _act(doctor, "结案")
    doctor.get_by_label("患者结局").select_option("transferred")
    doctor.get_by_role("button", name="结案").last.click()
    doctor.wait_for_load_state()
    assert doctor.locator(".case-head").get_by_text("已结案").count() == 1
    timeline = doctor.locator(".timeline").inner_text()
    for step in ("已提交", "已接诊", "已上转", "补充资料", "已出具诊疗意见", "已结案"):
        assert step in timeline

    # The county administrator sees the closed case in the jurisdiction.
    admin.goto(base + "/?status=closed")
    assert admin.locator(f'a[href="{case_path}"]').count() == 1

    assert browsers.foreign_requests() == []


def test_typing_survives_a_dropped_link_and_is_forgotten_once_sent(browsers, live_server):
    """A village doctor's link drops as she submits a long case: when she opens the form again the
    text is back, and once the server has taken the case the next new form is empty."""
    base = live_server.url
    doctor = browsers.open("village.doctor")
    doctor.goto(base + "/cases/new")
    doctor.get_by_label("姓名").fill("程玉兰")
    doctor.get_by_label("性别").select_option("female")
    doctor.locator("label.urg-urgent").click()
    doctor.get_by_label("主诉").fill("阵发性胸痛2天")
    doctor.get_by_label("会诊问题").fill("是否为不稳定型心绞痛？")
    doctor.wait_for_timeout(600)  # the page keeps what was typed after a short pause
    doctor.context.set_offline(True)
    doctor.get_by_role("button", name="提交上级医生").click()
    doctor.wait_for_timeout(1000)
    doctor.context.set_offline(False)

    doctor.goto(base + "/cases/new")
    assert doctor.get_by_label("姓名").input_value() == "程玉兰"
    assert doctor.get_by_label("性别").input_value() == "female"
    assert doctor.locator("label.urg-urgent input").is_checked()
    assert doctor.get_by_label("会诊问题").input_value() == "是否为不稳定型心绞痛？"
    kept = doctor.locator(".alert-kept").inner_text()
    beijing = datetime.now(ZoneInfo("Asia/Shanghai"))  # the site speaks Beijing time, whatever the browser's zone
    assert "已恢复您在" in kept and any((beijing - timedelta(minutes=k)).strftime("%H:%M") in kept for k in range(3))

    # Sent for real: the case exists, and the next new case starts empty.
    doctor.get_by_role("button", name="提交上级医生").click()
    doctor.wait_for_url(re.compile(r"/cases/\d+$"))
    doctor.goto(base + "/cases/new")
    assert doctor.get_by_label("姓名").input_value() == ""
    assert doctor.locator(".alert-kept").count() == 0

    # "Discard it" empties the fields and forgets them.
    doctor.get_by_label("主诉").fill("头晕3天")
    doctor.wait_for_timeout(600)
    doctor.reload()
    assert doctor.get_by_label("主诉").input_value() == "头晕3天"
    doctor.locator(".alert-kept button").click()
    assert doctor.get_by_label("主诉").input_value() == ""
    doctor.reload()
    assert doctor.get_by_label("主诉").input_value() == "" and doctor.locator(".alert-kept").count() == 0

    # Signing out leaves nothing of it in the tab for the next person.
    doctor.get_by_label("主诉").fill("咳嗽1周")
    doctor.wait_for_timeout(600)
    doctor.locator("details.menu summary").click()
    doctor.get_by_role("button", name="退出登录").click()
    doctor.wait_for_load_state()
    assert not doctor.evaluate("() => Object.keys(sessionStorage).filter(k => k.startsWith('keep'))")


def test_keyboard_only_sign_in(browsers, live_server):
    page = browsers.open(None)
    page.goto(live_server.url + "/login")
    # The username field takes the focus by itself (autofocus, applied at the next rendering).
    page.wait_for_function("document.activeElement && document.activeElement.name === 'username'", timeout=10_000)
    page.keyboard.type("village.doctor")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/")
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.className") == "skip"


def test_a_forged_form_is_refused(browsers, live_server):
    page = browsers.open("village.doctor")
    page.evaluate("""() => {
        const form = document.querySelector('form[action="/logout"]');
        form.querySelector('input[name=csrf_token]').value = 'forged';
        form.submit();
    }""")
    page.wait_for_load_state()
    assert page.locator(".error-code").inner_text() == "400"
    assert page.get_by_text("表单已过期").count() == 1
    page.goto(live_server.url + "/")
    assert page.url == live_server.url + "/"  # still signed in: the forged sign-out did nothing


def _transfer(page, url: str) -> int:
    """Bytes received over the network to load `url` (cached files cost nothing)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    received: list[float] = []
    cdp.on("Network.loadingFinished", lambda e: received.append(e["encodedDataLength"]))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(500)
    cdp.detach()
    return int(sum(received))


def _signed_in_cold(browsers, base: str, username: str):
    """A page in a new browser whose cache is empty, signed in without loading any page."""
    context = browsers.chromium.new_context(viewport=DESKTOP)
    browsers.contexts.append(context)
    html = context.request.get(base + "/login").text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = context.request.post(base + "/login", form={"username": username, "password": DEMO_PASSWORD,
                                                    "csrf_token": token}, max_redirects=0)
    assert r.status == 302
    return context.new_page()


def test_page_weight(browsers, live_server):
    base = live_server.url
    page = _signed_in_cold(browsers, base, "village.doctor")
    cold_home = _transfer(page, base + "/")
    warm_home = _transfer(page, base + "/")
    case_link = page.locator(".case-item a").first.get_attribute("href")
    page = _signed_in_cold(browsers, base, "village.doctor")
    cold_case = _transfer(page, base + case_link)
    warm_case = _transfer(page, base + case_link)
    assert cold_home < 300_000 and cold_case < 300_000, (cold_home, cold_case)
    assert warm_home < 50_000 and warm_case < 50_000, (warm_home, warm_case)
    print(f"home: {cold_home} B first, {warm_home} B after; case: {cold_case} B first, {warm_case} B after")


SCREENS = [
    ("village.doctor", "/", "doctor-home"),
    ("village.doctor", "/cases/new", "new-case"),
    ("township.specialist", "/", "specialist-queue"),
    ("county.admin", "/", "admin-home"),
    ("county.admin", "/admin/users", "admin-accounts"),
    ("county.admin", "/admin/rules", "admin-rules"),
]


def test_screenshots_of_the_main_pages(browsers, live_server, artifacts):
    base = live_server.url
    login = browsers.open(None, PHONE)
    login.goto(base + "/login")
    login.screenshot(path=artifacts / "login-phone.png", full_page=True)
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        pages = {}
        for username, path, name in SCREENS:
            if username not in pages:
                pages[username] = browsers.open(username, viewport)
            page = pages[username]
            page.goto(base + path)
            page.screenshot(path=artifacts / f"{name}-{suffix}.png", full_page=True)
            # Nothing sticks out sideways at phone width.
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (path, suffix)
        doctor = pages["village.doctor"]
        doctor.goto(base + "/")
        doctor.locator(".case-item a").first.click()
        doctor.screenshot(path=artifacts / f"case-doctor-{suffix}.png", full_page=True)
        assert doctor.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        specialist = pages["township.specialist"]
        specialist.goto(base + "/")
        specialist.locator(".case-item a").first.click()
        specialist.screenshot(path=artifacts / f"case-specialist-{suffix}.png", full_page=True)
    keep_screenshot(artifacts / "specialist-queue-desktop.png", "specialist-queue-desktop.png")
    keep_screenshot(artifacts / "case-doctor-phone.png", "case-doctor-phone.png")
    assert browsers.foreign_requests() == []

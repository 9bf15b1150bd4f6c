"""In Debian's Chromium: a submitted emergency case lights up the specialist's open page at once;
an emergency notice reaches a village clinic's page and its acknowledgement moves the county's
board live. Nothing is loaded from another host."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import DEMO_PASSWORD
from tests.notifications.live import LiveServer

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
def backend() -> str:
    """Browser tests run on SQLite; the services run on both backends in their own tests."""
    return "sqlite"


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


def open_as(chromium, live, username: str, seen: list[str], problems: list[str]):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.on("request", lambda r: seen.append(r.url))
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda e: problems.append(f"{username}: {e}"))
    page.goto(live.url + "/login")
    page.fill("#f-username", username)
    page.fill("#f-password", DEMO_PASSWORD)
    page.press("#f-password", "Enter")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector('[data-notify-badge][data-live="1"]', state="attached")
    return page


def test_live_badge_toast_notice_and_board(chromium, live):
    seen, problems = [], []
    specialist = open_as(chromium, live, "township.specialist", seen, problems)
    before = int(specialist.inner_text("[data-notify-count]") or 0)

    token = live.token("village.doctor")
    headers = {"Authorization": f"Bearer {token}"}
    case = requests.post(live.url + "/api/v1/cases", headers=headers, timeout=10, json={
        "patient": {"name": "李四", "sex": "male", "birth_date": "1955-02-03"}, "urgency": "emergency",
        "specialty": "internal_medicine", "chief_complaint": "高热伴意识模糊", "clinical_question": "是否立即转诊？"}).json()
    started = time.monotonic()
    live.act(token, case["id"], "submit")
    toast = specialist.wait_for_selector("[data-notify-toast]", timeout=5_000)
    assert time.monotonic() - started < 1.5  # pushed, not polled
    assert toast.inner_text().startswith(f"【危急】新病例待接诊 {case['reference']}")
    assert int(specialist.inner_text("[data-notify-count]")) == before + 1

    admin = open_as(chromium, live, "county.admin", seen, problems)
    doctor = open_as(chromium, live, "village.doctor", seen, problems)
    admin.goto(live.url + "/notices/new")
    admin.fill("#f-title", "关于开展发热病例排查的紧急通知")
    admin.fill("#f-body", "请立即排查近7日内发热患者。")
    admin.check("input[name=level][value=orange]")
    admin.check("input[name=tiers][value=village]")
    admin.click("form.compose button[type=submit]")
    admin.wait_for_selector("[data-notice-board]")
    assert admin.inner_text("[data-outstanding-count]") == "286"

    notice_toast = doctor.wait_for_selector("[data-notify-toast].kind-emergency_notice", timeout=5_000)
    assert "【橙色预警】关于开展发热病例排查的紧急通知" in notice_toast.inner_text()
    assert doctor.inner_text("[data-notices-count]") == "1"
    notice_toast.query_selector("a").click()
    doctor.wait_for_selector("[data-ack]").click()
    doctor.wait_for_selector('[data-ack-state="done"]')

    admin.wait_for_selector("[data-acknowledged] tr", timeout=5_000)  # without reloading the board
    assert admin.inner_text("[data-acked-count]") == "1"
    assert admin.inner_text("[data-outstanding-count]") == "285"
    assert "王秀兰" in admin.inner_text("[data-acknowledged]")

    assert problems == []
    assert {urlsplit(u).netloc for u in seen if u.startswith("http")} == {urlsplit(live.url).netloc}

"""Two people in two Chromium browsers (fake camera and microphone) hold a consult from the case's
room page: they connect, receive each other's video, chat, and see each other mute."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection"]
# --use-fake-ui-for-media-stream is also what lets getDisplayMedia() answer in headless Chromium (a fake
# 1280x720 "screen"); --auto-select-desktop-capture-source alone leaves the call waiting for a picker.

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium():
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/system-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def sign_in(browser, base: str, username: str, target: str):
    context = browser.new_context(permissions=["camera", "microphone"], locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/login?next={target}")
    page.fill("#f-username", username)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"**{target}")
    return page


CONNECTED_WITH_FRAMES = """() => window.consult && window.consult.peers().some(
    p => p.connectionState === 'connected' && p.framesDecoded > 10)"""


def doctor_and_specialist_in_a_room(live_server, chromium):
    """A fresh consult case, its room's path, and the village doctor's and county specialist's
    pages in it, each connected to the other and receiving video."""
    case_id = live_server.consult_case()
    room = f"/cases/{case_id}/consult"
    doctor = sign_in(chromium, live_server.url, "village.doctor", room)
    specialist = sign_in(chromium, live_server.url, "county.specialist", room)
    for page in (doctor, specialist):
        page.wait_for_function(CONNECTED_WITH_FRAMES, timeout=40_000)
    return case_id, room, doctor, specialist


def test_two_browsers_hold_a_consult(live_server, chromium, tmp_path):
    case_id, room, doctor, specialist = doctor_and_specialist_in_a_room(live_server, chromium)
    for page in (doctor, specialist):
        size = page.evaluate("""() => { const v = document.querySelector('[data-peer] video');
                                 return [v.videoWidth, v.videoHeight]; }""")
        assert size[0] > 0 and size[1] > 0
    assert specialist.locator('[data-peer][data-state="connected"]').count() == 1
    # Connection quality from getStats: round trip, loss and bitrates, shown in the participants list.
    specialist.wait_for_function("""() => { const q = window.consult.peers()[0].quality;
        return q && q.rtt_ms !== null && q.loss !== null && q.kbps_in > 0; }""", timeout=15_000)
    assert "ms" in specialist.inner_text("#consult-participants .person-quality")

    # Chat goes to the other browser (and onto the case's timeline).
    doctor.fill("#consult-chat-input", "血压已复测：150/90")
    doctor.press("#consult-chat-input", "Enter")
    specialist.wait_for_selector("#consult-chat-log >> text=血压已复测：150/90", timeout=10_000)

    # Screen sharing replaces the camera for the other side (no renegotiation) and says so.
    specialist.click("#consult-screen")
    doctor.wait_for_function("""() => [...window.consult.state.peers.values()].some(
        p => p.info.media && p.info.media.screen === true)""", timeout=15_000)
    # The sharer sees the screen the right way round (the own camera is mirrored), and how to stop.
    assert specialist.evaluate("() => getComputedStyle(document.getElementById('consult-local-video')).transform") == "none"
    assert specialist.inner_text("#consult-screen") == "停止共享"
    frames = doctor.evaluate("() => window.consult.peers()[0].framesDecoded")
    doctor.wait_for_function(f"() => window.consult.peers()[0].framesDecoded > {frames + 5}", timeout=15_000)
    specialist.click("#consult-screen")
    doctor.wait_for_function("""() => [...window.consult.state.peers.values()].some(
        p => p.info.media && p.info.media.screen === false)""", timeout=15_000)

    # Muting shows up in the other participant's list; the button now offers to unmute.
    doctor.click("#consult-mic")
    assert doctor.inner_text("#consult-mic") == "取消静音"
    specialist.wait_for_function(
        "() => [...document.querySelectorAll('#consult-participants .person-media')].some(e => e.textContent.trim())",
        timeout=10_000)
    # Audio only: the video sender stops, the call stays up.
    specialist.select_option("#consult-preset", "audio")
    doctor.wait_for_function("""() => window.consult.state.peers.size === 1 &&
        [...window.consult.state.peers.values()][0].info.media &&
        [...window.consult.state.peers.values()][0].info.media.preset === 'audio'""", timeout=10_000)
    # The camera itself is released, and the other side shows the name instead of a frozen picture.
    assert specialist.evaluate("() => window.consult.state.cameraTrack") is None
    doctor.wait_for_selector('[data-peer][data-video="off"] .tile-placeholder', state="visible", timeout=10_000)
    assert "仅语音" in doctor.inner_text("#consult-participants")
    specialist.screenshot(path=str(tmp_path / "consult.png"))
    # The case page links the room and offers the assignee the invitation form.
    case_page = specialist.context.new_page()
    case_page.goto(f"{live_server.url}/cases/{case_id}")
    assert case_page.locator(f'a[href="{room}"]').count() == 1
    assert case_page.locator("#consult-invitee option[value='province.expert']").count() == 1
    case_page.screenshot(path=str(tmp_path / "case.png"), full_page=True)

    events = live_server.api("GET", "county.specialist", f"/api/v1/cases/{case_id}/events").json()
    items = events["items"] if isinstance(events, dict) else events
    assert any(e["kind"] == "consult_chat" and e["payload"]["text"] == "血压已复测：150/90" for e in items)


def test_a_dropped_connection_comes_back_without_reloading(live_server, chromium):
    case_id, room, doctor, specialist = doctor_and_specialist_in_a_room(live_server, chromium)
    doctor.evaluate("() => { window.__marker = 'same page'; }")
    old = doctor.evaluate("() => window.consult.state.me.sid")
    # The network drops: the signalling socket goes away (as when a village link flaps).
    doctor.context.set_offline(True)
    doctor.evaluate("() => window.consult.state.socket.io.engine.close()")
    doctor.wait_for_timeout(1500)
    doctor.context.set_offline(False)
    doctor.wait_for_function(f"() => window.consult.state.me && window.consult.state.me.sid !== '{old}'",
                             timeout=30_000)
    for page in (doctor, specialist):
        page.wait_for_function(CONNECTED_WITH_FRAMES, timeout=40_000)
    assert doctor.evaluate("() => window.__marker") == "same page"


def test_a_recording_is_seen_by_everyone_and_plays_on_the_case_page(live_server, chromium):
    case_id, room, doctor, specialist = doctor_and_specialist_in_a_room(live_server, chromium)
    assert doctor.locator("#consult-record").is_hidden()  # recording is the specialist's call
    specialist.click("#consult-record")
    recording = """() => window.consult.state.recording && window.consult.state.recording.state === 'recording'"""
    for page in (doctor, specialist):
        page.wait_for_function(recording, timeout=60_000)
    assert doctor.locator("#consult-recording").is_visible()
    assert "录制" in doctor.inner_text("#consult-participants")  # the recorder is listed for everyone
    specialist.wait_for_function("""() => window.consult.peers().some(p => p.role === 'recorder'
        && p.connectionState === 'connected')""", timeout=30_000)
    specialist.wait_for_timeout(3000)
    specialist.click("#consult-record")
    specialist.wait_for_function("() => !window.consult.state.recording", timeout=60_000)
    specialist.wait_for_selector("#consult-chat-log a[href*='/recordings/']", timeout=10_000)

    case_page = doctor.context.new_page()
    case_page.goto(f"{live_server.url}/cases/{case_id}")
    case_page.wait_for_function("""() => { const v = document.querySelector('.consult-recordings video');
        return v && v.readyState >= 1 && v.duration > 0; }""", timeout=20_000)
    played = case_page.evaluate("""async () => { const v = document.querySelector('.consult-recordings video');
        v.muted = true; await v.play(); await new Promise(r => setTimeout(r, 1500));
        return {duration: v.duration, time: v.currentTime, width: v.videoWidth, error: v.error && v.error.code}; }""")
    assert played["error"] is None and played["width"] == 640 and played["duration"] >= 2, played
    assert played["time"] > 0.5, played


def test_refusals_are_told_in_the_pages_language(live_server, chromium):
    """What the server refuses reaches the user as a sentence of the room's (Chinese) interface, never
    as the server's English message: a chat message over the limit, then a rejoin after the invitation
    was taken back."""
    case_id = live_server.consult_case()
    r = live_server.api("POST", "county.specialist", f"/api/v1/cases/{case_id}/consult/invitations",
                        {"username": "province.expert"})
    assert r.status_code == 201, r.text
    expert = sign_in(chromium, live_server.url, "province.expert", f"/cases/{case_id}/consult")
    expert.wait_for_function("() => window.consult.state.joined", timeout=30_000)

    # The field holds at most 2,000 characters; a longer text (set by a script) is refused by the server.
    expert.evaluate("() => { document.getElementById('consult-chat-input').value = '肺'.repeat(2100); }")
    expert.press("#consult-chat-input", "Enter")
    expert.wait_for_selector("#consult-chat-log .chat-notice >> text=消息为空或过长（最多 2000 个字符）。",
                             timeout=10_000)

    r = live_server.api("DELETE", "county.specialist",
                        f"/api/v1/cases/{case_id}/consult/invitations/{r.json()['id']}")
    assert r.status_code == 204, r.text
    expert.click("#consult-leave")
    expert.click("#consult-rejoin")
    refusal = "您无法进入此会诊室：您不是该病例的参与者，或邀请已被撤销。"
    expert.wait_for_function(f"() => document.getElementById('consult-status').textContent === {refusal!r}",
                             timeout=10_000)
    notices = expert.locator("#consult-chat-log .chat-notice").all_inner_texts()
    assert notices.count(refusal) == 1, notices  # told once, not by both the reply and the error event
    assert not any(c.isascii() and c.isalpha() for text in notices for c in text), notices

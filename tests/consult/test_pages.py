"""The room page and the consult panel of the case page."""

from __future__ import annotations

import json
import re


def config_of(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="consult-config">(.*?)</script>', html, re.S)
    assert match, html[:2000]
    return json.loads(match.group(1))


def test_the_room_page_is_for_members_only(consult_case, browser, client):
    page = browser("village.doctor").get(f"/cases/{consult_case}/consult")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    config = config_of(html)
    assert config["caseId"] == consult_case and config["mayRecord"] is False
    assert "consult/room.js" in html and "socket.io.min.js" in html
    assert config_of(browser("county.specialist").get(f"/cases/{consult_case}/consult").get_data(as_text=True))[
        "mayRecord"] is True
    # Seeing the case is not enough to enter its consult; strangers get the same 404 as for no case.
    assert browser("county.specialist2").get(f"/cases/{consult_case}/consult").status_code == 404
    assert browser("village.doctor2").get(f"/cases/{consult_case}/consult").status_code == 404
    assert browser("village.doctor").get("/cases/999999/consult").status_code == 404
    anonymous = client.get(f"/cases/{consult_case}/consult")
    assert anonymous.status_code in (302, 401)


def test_every_script_of_the_room_is_served_by_the_app(consult_case, browser):
    me = browser("village.doctor")
    html = me.get(f"/cases/{consult_case}/consult").get_data(as_text=True)
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    for src in sources:
        if src.startswith("/static/"):
            assert me.get(src).status_code == 200, src


def test_the_case_page_offers_the_room_invitations_and_recordings(consult_case, browser):
    specialist = browser("township.specialist")  # a past assignee
    html = specialist.get(f"/cases/{consult_case}").get_data(as_text=True)
    assert f'href="/cases/{consult_case}/consult"' in html
    assert f'action="/cases/{consult_case}/consult/invitations"' in html
    assert 'value="province.expert"' in html and 'value="village.doctor2"' not in html
    doctor_html = browser("village.doctor").get(f"/cases/{consult_case}").get_data(as_text=True)
    assert f'href="/cases/{consult_case}/consult"' in doctor_html
    assert "consult/invitations" not in doctor_html  # the author does not invite
    # Someone who may see the case but is not in its room gets no link to it.
    other = browser("county.specialist2").get(f"/cases/{consult_case}").get_data(as_text=True)
    assert f'href="/cases/{consult_case}/consult"' not in other


def test_an_invited_expert_reaches_the_room_from_the_notification(consult_case, browser):
    browser("county.specialist").post(f"/cases/{consult_case}/consult/invitations", {"username": "province.expert"})
    expert = browser("province.expert")
    inbox = expert.get("/notifications").get_data(as_text=True)
    assert re.search(r'href="/notifications/\d+"', inbox), inbox[:3000]
    opened = expert.get(re.search(r'href="(/notifications/\d+)"', inbox).group(1))
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/cases/{consult_case}/consult")
    assert expert.get(f"/cases/{consult_case}/consult").status_code == 200


def test_a_refused_invitation_says_why_in_the_pages_language(consult_case, browser):
    specialist = browser("county.specialist")
    for form, reason in [({"username": "nobody.here"}, "没有使用该用户名的账号。"),
                         ({"username": "county.admin"}, "只能邀请已启用的专家账号。"),
                         ({"username": "province.expert", "note": "心" * 501}, "附言过长：最多 500 个字符。")]:
        page = specialist.post(f"/cases/{consult_case}/consult/invitations", form, follow_redirects=True)
        html = page.get_data(as_text=True)
        assert f"邀请失败：{reason}" in html, (form, re.findall(r'class="flash[^"]*"[^>]*>([^<]*)', html))
    specialist.post(f"/cases/{consult_case}/consult/invitations", {"username": "province.expert"})
    again = specialist.post(f"/cases/{consult_case}/consult/invitations", {"username": "province.expert"},
                            follow_redirects=True).get_data(as_text=True)
    assert "邀请失败：该专家已在会诊室中。" in again


def test_a_reader_outside_the_room_sees_the_panel_only_for_a_ready_recording(consult_case, browser, app):
    from referral.models import Recording, User

    database = app.extensions["referral"].database
    other = browser("county.specialist2")  # may see the case, is not in its room

    def panel_shown() -> bool:
        html = other.get(f"/cases/{consult_case}").get_data(as_text=True)
        assert f'href="/cases/{consult_case}/consult"' not in html  # never the room link
        return "consult-recordings" in html

    with database.sessionmaker() as session:
        author = session.query(User).filter_by(username="county.specialist").one()
        recording = Recording(case_id=consult_case, requested_by_id=author.id, status="recording")
        session.add(recording)
        session.commit()
        assert not panel_shown()
        recording.status, recording.duration_seconds = "ready", 65
        session.commit()
        assert panel_shown()

"""The case page's timeline says what happened in the consult: chat lines, invitations, recordings."""

from __future__ import annotations

from .conftest import NS


def test_the_case_timeline_shows_the_consults_chat_and_invitations(sock, consult_case, browser):
    doctor = sock("village.doctor")
    doctor.emit("join", {"case_id": consult_case}, namespace=NS, callback=True)
    assert doctor.emit("chat", {"text": "血压已复测：150/90"}, namespace=NS, callback=True)["ok"]
    specialist = browser("county.specialist")
    specialist.post(f"/cases/{consult_case}/consult/invitations", {"username": "province.expert", "note": "请协助"})
    html = browser("village.doctor").get(f"/cases/{consult_case}").get_data(as_text=True)
    assert "血压已复测：150/90" in html and "会诊留言" in html
    assert "邀请参加视频会诊" in html and "周文博" in html and "consult_chat" not in html

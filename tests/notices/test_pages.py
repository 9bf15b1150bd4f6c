"""The county admin composes and sends a notice, watches the board, resends; a clinic reads and
acknowledges it — through the pages."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from referral.models import EmergencyNotice
from tests.notifications.pages import Browser

PDF = b"%PDF-1.4\n%%EOF\n"


def send(admin: Browser, **fields):
    data = {"title": "发热病例聚集预警", "body": "请排查近7日发热患者。", "level": "red", "tiers": ["village"],
            **fields}
    return admin.post("/notices/new", data, content_type="multipart/form-data")


def test_compose_send_read_acknowledge_and_watch(app, session):
    admin = Browser(app, "county.admin")
    page = admin.get("/notices/new").get_data(as_text=True)
    assert 'name="tiers" value="village"' in page and "data-facility-picker" in page
    assert page.count('name="facility_ids"') > 300

    r = send(admin, attachments=[(io.BytesIO(PDF), "方案.pdf")])
    assert r.status_code == 302
    notice = session.scalars(select(EmergencyNotice).order_by(EmergencyNotice.id.desc())).first()
    assert r.headers["Location"].endswith(f"/notices/{notice.id}/board")
    board = admin.get(f"/notices/{notice.id}/board").get_data(as_text=True)
    assert re.search(r"data-outstanding-count>\s*286\s*<", board) and re.search(r"data-acked-count>\s*0\s*<", board)

    doctor = Browser(app, "village.doctor")
    assert "有 1 条应急通知等待本机构确认" in doctor.get("/").get_data(as_text=True)  # the home page says so first
    listing = doctor.get("/notices").get_data(as_text=True)
    assert "发热病例聚集预警" in listing
    shown = doctor.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "请排查近7日发热患者。" in shown and "data-ack" in shown and "方案.pdf" in shown
    file = doctor.get(f"/notices/{notice.id}/attachments/{notice.attachments[0].id}")
    assert file.status_code == 200 and file.data == PDF and file.mimetype == "application/pdf"
    assert "attachment" in file.headers["Content-Disposition"]

    r = doctor.post(f"/notices/{notice.id}/ack")
    assert r.status_code == 302
    shown = doctor.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert 'data-ack-state="done"' in shown and "王秀兰" in shown
    assert "应急通知等待本机构确认" not in doctor.get("/").get_data(as_text=True)

    board = admin.get(f"/notices/{notice.id}/board").get_data(as_text=True)
    assert re.search(r"data-acked-count>\s*1\s*<", board) and re.search(r"data-outstanding-count>\s*285\s*<", board)
    state = admin.get(f"/notices/{notice.id}/board.json").get_json()
    assert (state["acknowledged"], state["outstanding"]) == (1, 285)

    r = admin.post(f"/notices/{notice.id}/resend")
    assert r.status_code == 302
    board = admin.get(f"/notices/{notice.id}/board").get_data(as_text=True)
    assert "(×2)" in board


def test_the_wrong_people_get_nothing(app, session):
    admin = Browser(app, "county.admin")
    send(admin)
    notice = session.scalars(select(EmergencyNotice).order_by(EmergencyNotice.id.desc())).first()
    doctor = Browser(app, "village.doctor")
    assert doctor.get("/notices/new").status_code == 403
    assert doctor.get(f"/notices/{notice.id}/board").status_code == 404
    assert doctor.post(f"/notices/{notice.id}/resend").status_code == 404
    specialist = Browser(app, "county.specialist")  # a county hospital: not a village clinic
    assert specialist.get(f"/notices/{notice.id}").status_code == 404
    assert specialist.post(f"/notices/{notice.id}/ack").status_code == 404
    assert "发热病例聚集预警" not in specialist.get("/notices").get_data(as_text=True)


def test_a_notice_without_an_audience_is_refused_with_the_form_kept(app):
    admin = Browser(app, "county.admin")
    r = admin.post("/notices/new", {"title": "演练", "body": "内容", "level": "blue"},
                   content_type="multipart/form-data")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'value="演练"' in html and "field-error" in html
    r = send(admin, attachments=[(io.BytesIO(b"MZ\x90"), "virus.exe")])
    assert r.status_code == 422 and "field-error" in r.get_data(as_text=True)


def test_the_same_notice_twice_needs_a_second_thought(app, session):
    """Back to the filled-in form after sending, and 'send' again: the page says it went out minutes ago
    and sends a second alert only when ticked."""
    admin = Browser(app, "county.admin")
    assert send(admin, title="停水通知", body="明日8时至12时停水。").status_code == 302
    count = len(session.scalars(select(EmergencyNotice)).all())
    again = send(admin, title="停水通知", body="明日8时至12时停水。")
    html = again.get_data(as_text=True)
    assert again.status_code == 409 and "几分钟前刚刚发送过" in html and 'name="repeat"' in html
    assert "明日8时至12时停水。" in html  # what was typed is still there
    session.expire_all()
    assert len(session.scalars(select(EmergencyNotice)).all()) == count
    assert send(admin, title="停水通知", body="明日8时至12时停水。", repeat="1").status_code == 302
    assert send(admin, title="停水通知（更正）", body="明日8时至12时停水。").status_code == 302  # a new text goes out
    session.expire_all()
    assert len(session.scalars(select(EmergencyNotice)).all()) == count + 2


def test_an_unknown_tier_marks_the_audience(app):
    admin = Browser(app, "county.admin")
    r = send(admin, tiers=["bogus"])
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "请从列表中选择层级或机构。" in html and 'class="audience has-error"' in html

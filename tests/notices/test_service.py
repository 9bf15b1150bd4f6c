"""Emergency notices: every village clinic reached, acknowledgements counted per facility,
resend only to the outstanding, nothing for the wrong people."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from referral.domain.errors import Forbidden, NotFound, TooLarge, ValidationFailed
from referral.models import Facility, NoticeTarget, Notification, User
from referral.notices import service
from referral.notices.service import Upload
from referral.realtime import socketio
from referral.services.auth import hash_password
from tests.conftest import DEMO_PASSWORD

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def staffed_villages(session) -> dict[int, list[int]]:
    """Every village clinic gets a doctor account (the demo has accounts at only a few)."""
    hashed = hash_password(DEMO_PASSWORD)
    villages = session.scalars(select(Facility).where(Facility.tier == "village").order_by(Facility.code)).all()
    have = {fid for fid, in session.execute(select(User.facility_id).distinct())}
    for f in villages:
        if f.id not in have:
            session.add(User(username=f"doc.{f.code.lower()}", display_name=f"{f.name}医生", password_hash=hashed,
                             facility_id=f.id, roles=["doctor"], specialties=["general_practice"]))
    session.commit()
    staff: dict[int, list[int]] = {}
    for u in session.scalars(select(User).where(User.facility_id.in_([f.id for f in villages]))):
        staff.setdefault(u.facility_id, []).append(u.id)
    return staff


def person(session, users, name) -> User:
    return session.get(User, users[name].id)


def notice_inbox(session, notice_id) -> Counter:
    session.expire_all()
    return Counter(session.scalars(select(Notification.recipient_id).where(Notification.notice_id == notice_id)))


def test_a_notice_to_every_village_clinic_reaches_each_and_tracks_acknowledgements(session, users, staffed_villages,
                                                                                    tmp_path):
    admin = person(session, users, "county.admin")
    notice = service.send_notice(session, admin, {
        "title": "发热病例聚集预警", "body": "请各村卫生室立即排查近7日发热患者并上报。", "level": "orange",
        "tiers": ["village"]}, [Upload("排查表.pdf", PDF)], data_dir=tmp_path)
    assert len(notice.targets) == 286 == len(staffed_villages)
    assert {t.facility_id for t in notice.targets} == set(staffed_villages)
    everyone = {uid for ids in staffed_villages.values() for uid in ids}
    inbox = notice_inbox(session, notice.id)
    assert set(inbox) == everyone and set(inbox.values()) == {1}  # each user of each clinic, once
    assert sum(t.recipients for t in notice.targets) == len(everyone)
    title = session.scalars(select(Notification.title).where(Notification.notice_id == notice.id)).first()
    assert title == "【橙色预警】发热病例聚集预警"
    assert users["township.specialist"].id not in inbox and users["county.specialist"].id not in inbox

    # Two colleagues of one clinic: the first acknowledgement stands.
    v1 = users["village.doctor"].facility_id
    colleague = person(session, users, "village.doctor3")  # at another clinic of T1
    first = service.acknowledge(session, person(session, users, "village.doctor"), notice.id)
    assert first.acknowledged_by_id == users["village.doctor"].id
    extra = User(username="village.nurse", display_name="护士", password_hash="x", facility_id=v1, roles=["doctor"])
    session.add(extra)
    session.commit()
    again = service.acknowledge(session, extra, notice.id)
    assert again.acknowledged_by_id == users["village.doctor"].id and again.acknowledged_at == first.acknowledged_at
    service.acknowledge(session, colleague, notice.id)
    service.acknowledge(session, person(session, users, "village.doctor2"), notice.id)

    board = service.board(session, admin, notice.id)
    assert (len(board.acknowledged), len(board.outstanding), board.total) == (3, 283, 286)
    assert board.acknowledged[0].facility_id == v1

    # Resend reaches the outstanding clinics' people only, once more each.
    facilities, people = service.resend(session, admin, notice.id)
    assert facilities == 283
    acknowledged_people = {uid for t in board.acknowledged for uid in staffed_villages[t.facility_id]}
    inbox = notice_inbox(session, notice.id)
    assert people == len(everyone - acknowledged_people)
    assert all(inbox[uid] == 2 for uid in everyone - acknowledged_people)
    assert all(inbox[uid] == 1 for uid in acknowledged_people)
    session.expire_all()
    assert session.scalar(select(func.max(NoticeTarget.send_count)).where(NoticeTarget.notice_id == notice.id)) == 2
    assert session.scalar(select(func.min(NoticeTarget.send_count)).where(NoticeTarget.notice_id == notice.id)) == 1


def test_only_the_county_sends_and_only_the_addressed_read(session, users, tmp_path):
    data = {"title": "演练", "body": "应急演练通知", "level": "blue", "tiers": ["township"]}
    for name in ("township.admin", "village.doctor", "county.specialist"):
        with pytest.raises(Forbidden):
            service.send_notice(session, person(session, users, name), data, data_dir=tmp_path)
    admin = person(session, users, "county.admin")
    notice = service.send_notice(session, admin, data, data_dir=tmp_path)
    assert len(notice.targets) == 18

    specialist = person(session, users, "township.specialist")
    read, target = service.read_notice(session, specialist, notice.id)
    assert read.id == notice.id and target.acknowledged_at is None
    for outsider in ("village.doctor", "county.specialist"):
        with pytest.raises(NotFound):
            service.read_notice(session, person(session, users, outsider), notice.id)
    # township.admin belongs to T1: the notice reached T1, so the admin reads and acknowledges it, but runs no board.
    township_admin = person(session, users, "township.admin")
    assert service.read_notice(session, township_admin, notice.id)[1].facility_id == township_admin.facility_id
    for name in ("township.specialist", "township.admin"):
        with pytest.raises(NotFound):
            service.board(session, person(session, users, name), notice.id)
    with pytest.raises(NotFound):
        service.resend(session, specialist, notice.id)
    with pytest.raises(NotFound):
        service.read_notice(session, specialist, 999_999)


def test_bad_notices_are_refused_and_change_nothing(session, users, tmp_path):
    admin = person(session, users, "county.admin")
    before = session.scalar(select(func.count(NoticeTarget.id)))
    with pytest.raises(ValidationFailed) as exc:
        service.send_notice(session, admin, {"title": "", "body": "x", "level": "purple"}, data_dir=tmp_path)
    assert {"title", "level"} <= set(exc.value.fields)
    with pytest.raises(ValidationFailed):
        service.send_notice(session, admin, {"title": "t", "body": "b", "level": "red"}, data_dir=tmp_path)
    partner = session.scalar(select(Facility.id).where(Facility.code == "WH-UNION"))
    with pytest.raises(ValidationFailed) as exc:
        service.send_notice(session, admin, {"title": "t", "body": "b", "level": "red", "facility_ids": [partner]},
                            data_dir=tmp_path)
    assert "facility_ids" in exc.value.fields  # outside the county's jurisdiction
    with pytest.raises(ValidationFailed) as exc:
        service.send_notice(session, admin, {"title": "t", "body": "b", "level": "red", "tiers": ["county"]},
                            [Upload("run.exe", b"MZ\x90\x00")], data_dir=tmp_path)
    assert "attachments" in exc.value.fields
    with pytest.raises(TooLarge):
        service.send_notice(session, admin, {"title": "t", "body": "b", "level": "red", "tiers": ["county"]},
                            [Upload("big.pdf", PDF + b"0" * service.MAX_ATTACHMENT_BYTES)], data_dir=tmp_path)
    assert session.scalar(select(func.count(NoticeTarget.id))) == before


def test_attachments_are_stored_by_content_and_served_to_readers_only(session, users, tmp_path):
    admin = person(session, users, "county.admin")
    clinic = users["village.doctor"].facility_id
    notice = service.send_notice(session, admin, {"title": "t", "body": "b", "level": "yellow",
                                                  "facility_ids": [clinic]},
                                 [Upload("C:\\Users\\admin\\方案.pdf", PDF), Upload("照片.png", b"\x89PNG\r\n\x1a\n..")],
                                 data_dir=tmp_path)
    assert [(a.filename, a.content_type) for a in notice.attachments] == [
        ("方案.pdf", "application/pdf"), ("照片.png", "image/png")]
    item, path = service.attachment(session, person(session, users, "village.doctor"), notice.id,
                                    notice.attachments[0].id, tmp_path)
    assert path.read_bytes() == PDF and path.name == item.sha256
    with pytest.raises(NotFound):
        service.attachment(session, person(session, users, "village.doctor2"), notice.id, notice.attachments[0].id,
                           tmp_path)


def test_acknowledgements_reach_the_board_live(app, api, session, users, tmp_path):
    admin = person(session, users, "county.admin")
    board_client = socketio.test_client(app, auth={"token": api.token("county.admin")})
    reader = socketio.test_client(app, auth={"token": api.token("village.doctor")})
    try:
        notice = service.send_notice(session, admin, {"title": "暴雨预警", "body": "做好防汛准备", "level": "red",
                                                      "tiers": ["village"]}, data_dir=tmp_path)
        [pushed] = [m["args"][0] for m in reader.get_received() if m["name"] == "notification"]
        assert pushed["kind"] == "emergency_notice" and pushed["notice_id"] == notice.id
        assert pushed["title"] == "【红色预警】暴雨预警" and pushed["case_id"] is None
        assert board_client.get_received() == []  # the sender is not a recipient

        service.acknowledge(session, person(session, users, "village.doctor"), notice.id)
        [ack] = [m["args"][0] for m in board_client.get_received() if m["name"] == "notice_ack"]
        assert ack["notice_id"] == notice.id and ack["facility_id"] == users["village.doctor"].facility_id
        assert ack["by"] == "王秀兰" and (ack["acknowledged"], ack["outstanding"]) == (1, 285)
        assert [m["args"][0] for m in reader.get_received() if m["name"] == "notifications_read"][-1]["unread"] >= 0
    finally:
        board_client.disconnect()
        reader.disconnect()

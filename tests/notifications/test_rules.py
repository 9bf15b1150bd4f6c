"""The who-hears-what table and the titles: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime

from referral.notifications.rules import (EVENT_RULES, Audience, Kind, goes_outbound, language, rules_for_event,
                                          title_for)


def test_every_event_that_asks_someone_to_act_has_a_rule():
    assert {r.audience for r in rules_for_event("submit")} == {Audience.QUEUE}
    assert {(r.kind, r.audience) for r in rules_for_event("escalate")} == {
        (Kind.CASE_QUEUED, Audience.QUEUE), (Kind.CASE_ESCALATED, Audience.AUTHOR)}
    assert rules_for_event("request_info")[0].audience is Audience.AUTHOR
    assert rules_for_event("provide_info")[0].audience is Audience.ASSIGNEE
    assert rules_for_event("issue_advice")[0].kind is Kind.ADVICE_ISSUED
    assert rules_for_event("decline")[0].audience is Audience.AUTHOR
    for quiet in ("claim", "cancel", "close", "created", "sla_breach"):
        assert rules_for_event(quiet) == ()
    assert set(EVENT_RULES) >= {"submit", "resubmit", "release", "escalate"}


def test_titles_in_the_recipients_language_without_patient_data():
    zh = title_for(Kind.CASE_QUEUED, "zh", reference="YX-2026-000001", urgency="emergency")
    en = title_for(Kind.CASE_QUEUED, "en", reference="YX-2026-000001", urgency="emergency")
    assert zh == "【危急】新病例待接诊 YX-2026-000001"
    assert en == "[emergency] New case in your queue: YX-2026-000001"
    assert title_for(Kind.CASE_QUEUED, None, reference="R", urgency="routine").startswith("【普通】")


def test_deadline_titles_show_beijing_time_and_the_action():
    due = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    assert title_for(Kind.DEADLINE_NEAR, "zh", reference="R", deadline="claim", due=due) == \
        "即将超时：R 须在 03-01 08:30 前接诊"
    assert title_for(Kind.DEADLINE_PASSED, "en", reference="R", deadline="advice", action="escalate") == \
        "Deadline passed: R was not answered in time; escalated automatically"


def test_escalation_names_the_facility_in_the_readers_language():
    facility = {"name": "郧西县人民医院", "name_en": "Yunxi County People's Hospital"}
    assert title_for(Kind.CASE_ESCALATED, "zh", reference="R", facility=facility) == "病例已上转至郧西县人民医院 R"
    assert "People's Hospital" in title_for(Kind.CASE_ESCALATED, "en-US", reference="R", facility=facility)


def test_notice_titles_and_reminders():
    assert title_for(Kind.EMERGENCY_NOTICE, "zh", level="red", title="发热聚集") == "【红色预警】发热聚集"
    assert title_for(Kind.EMERGENCY_NOTICE, "en", level="red", title="Fever cluster", resend=True) == \
        "(reminder) [Level I (red)] Fever cluster"


def test_a_missing_fact_renders_empty_instead_of_failing():
    assert title_for(Kind.CONSULT_INVITE, "zh", reference="R") == "邀请您参加远程会诊 R"


def test_language_and_outbound_choice():
    assert language("en") == "en" and language("en_GB") == "en"
    assert language("zh") == "zh" and language("") == "zh" and language(None) == "zh"
    assert goes_outbound(Kind.EMERGENCY_NOTICE, None)
    assert goes_outbound(Kind.CASE_QUEUED, "emergency")
    assert not goes_outbound(Kind.CASE_QUEUED, "routine")

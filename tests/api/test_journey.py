"""The full journey of one case across four tiers, through the API."""

from __future__ import annotations

from tests.conftest import DEMO_PASSWORD


def test_village_to_province_and_back_with_advice(api):
    case = api.new_case("village.doctor", specialty="cardiology", urgency="urgent")
    cid = case["id"]
    assert case["status"] == "draft" and case["allowed_actions"] == ["submit", "cancel"]
    assert case["reference"].startswith("YX-")

    c = api.act("village.doctor", cid, "submit").get_json()
    assert c["status"] == "submitted"
    assert c["current_hop"]["tier"] == "township" and c["current_hop"]["facility"]["code"] == "YX-T01"
    assert c["current_hop"]["due_at"]

    queue = api.get("township.specialist", "/api/v1/cases?scope=queue").get_json()
    assert cid in [item["id"] for item in queue["items"]]

    c = api.act("township.specialist", cid, "claim").get_json()
    assert c["status"] == "in_review" and c["current_hop"]["assignee"]["username"] == "township.specialist"
    c = api.act("township.specialist", cid, "escalate", reason="需要心内科评估").get_json()
    assert c["status"] == "submitted"
    assert c["current_hop"]["tier"] == "county" and c["current_hop"]["facility"]["code"] == "YX-RMYY"

    api.act("county.specialist", cid, "claim")
    c = api.act("county.specialist", cid, "escalate", reason="建议省级专家会诊").get_json()
    assert c["current_hop"]["tier"] == "provincial" and c["current_hop"]["facility"]["code"] == "WH-UNION"

    api.act("province.expert", cid, "claim")
    c = api.act("province.expert", cid, "escalate", reason="no higher tier")
    assert c.status_code == 409 and c.get_json()["error"] == "invalid_transition"
    assert "top tier" in c.get_json()["message"]

    c = api.act("province.expert", cid, "request_info", message="请上传心电图").get_json()
    assert c["status"] == "info_requested"
    c = api.act("village.doctor", cid, "provide_info", message="心电图已上传：V1-V4 ST段压低").get_json()
    assert c["status"] == "in_review"
    advice = {"assessment": "不稳定型心绞痛", "disposition": "urgent_transfer",
              "diagnoses": [{"code": "I20.0", "name": "不稳定型心绞痛"}],
              "recommendations": [{"kind": "medication", "text": "阿司匹林", "dose": "300 mg", "duration": "立即"}]}
    bad = api.act("province.expert", cid, "issue_advice", advice=advice, password="wrong-password")
    assert bad.status_code == 422 and "password" in bad.get_json()["fields"]
    c = api.act("province.expert", cid, "issue_advice", advice=advice, password=DEMO_PASSWORD).get_json()
    assert c["status"] == "advised"
    assert c["allowed_actions"] == []  # the expert has nothing more to do

    doctor_view = api.get("village.doctor", f"/api/v1/cases/{cid}").get_json()
    assert doctor_view["allowed_actions"] == ["follow_up", "close"]
    versions = api.get("village.doctor", f"/api/v1/cases/{cid}/advice").get_json()["items"]
    assert [v["version"] for v in versions] == [1] and versions[0]["signer"]["username"] == "province.expert"

    c = api.act("village.doctor", cid, "close", outcome="transferred", note="已转诊").get_json()
    assert c["status"] == "closed"

    hops = c["hops"]
    assert [h["tier"] for h in hops] == ["township", "county", "provincial"]
    assert [h["outcome"] for h in hops] == ["escalated", "escalated", "advised"]

    events = api.get("village.doctor", f"/api/v1/cases/{cid}/events").get_json()["items"]
    assert [e["kind"] for e in events] == [
        "created", "submit", "claim", "escalate", "claim", "escalate", "claim",
        "request_info", "provide_info", "issue_advice", "close",
    ]
    assert all(e["actor"] for e in events)
    assert "password" not in str(events)


def test_decline_resubmit_and_cancel(api):
    cid = api.new_case("village.doctor2", specialty="internal_medicine")["id"]
    api.act("village.doctor2", cid, "submit")
    c = api.act("township.specialist2", cid, "decline", reason="资料不全").get_json()
    assert c["status"] == "returned"
    assert api.get("village.doctor2", f"/api/v1/cases/{cid}").get_json()["allowed_actions"] == [
        "cancel", "resubmit", "close"]
    c = api.act("village.doctor2", cid, "resubmit", note="已补充").get_json()
    assert c["status"] == "submitted" and len(c["hops"]) == 2
    c = api.act("village.doctor2", cid, "cancel", reason="患者已转院").get_json()
    assert c["status"] == "cancelled"


def test_release_returns_the_case_to_the_pool_and_follow_up_reopens(api):
    cid = api.new_case("village.doctor")["id"]
    api.act("village.doctor", cid, "submit")
    api.act("township.specialist", cid, "claim")
    c = api.act("township.specialist", cid, "release", note="交由他人").get_json()
    assert c["status"] == "submitted" and c["current_hop"]["assignee"] is None
    api.act("township.specialist", cid, "claim")
    api.act("township.specialist", cid, "issue_advice", password=DEMO_PASSWORD,
            advice={"assessment": "稳定", "disposition": "manage_locally"})
    c = api.act("village.doctor", cid, "follow_up", message="症状未缓解").get_json()
    assert c["status"] == "in_review" and c["current_hop"]["assignee"]["username"] == "township.specialist"
    api.act("township.specialist", cid, "issue_advice", password=DEMO_PASSWORD,
            advice={"assessment": "调整用药", "disposition": "follow_up_township"})
    versions = api.get("village.doctor", f"/api/v1/cases/{cid}/advice").get_json()["items"]
    assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, True)]


def test_emergency_skips_the_township_where_the_rules_say_so(api):
    cid = api.new_case("village.doctor", specialty="neurology", urgency="emergency")["id"]
    c = api.act("village.doctor", cid, "submit").get_json()
    assert c["current_hop"]["facility"]["code"] == "YX-RMYY"


def test_township_cases_route_by_specialty(api):
    for specialty, code in [("obstetrics", "YX-FYBJY"), ("tcm", "YX-ZYY"), ("cardiology", "YX-RMYY")]:
        cid = api.new_case("township.doctor", specialty=specialty)["id"]
        c = api.act("township.doctor", cid, "submit").get_json()
        assert c["current_hop"]["facility"]["code"] == code, specialty


def test_release_gives_a_fresh_claim_window(session, users):
    """A case handed back after its claim deadline is not overdue the moment it rejoins the pool."""
    from datetime import UTC, datetime, timedelta

    from referral.services import cases as case_service
    from referral.services.inputs import CaseIn

    t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    doctor, specialist = users["village.doctor"], users["township.specialist"]
    data = CaseIn.model_validate({"patient": {"name": "释放测试", "sex": "male"}, "urgency": "emergency",
                                  "specialty": "internal_medicine", "chief_complaint": "胸痛",
                                  "clinical_question": "?"})
    case = case_service.create_draft(session, doctor, data, now=t0)
    case_service.perform_action(session, doctor, case.id, "submit", now=t0)
    case_service.perform_action(session, specialist, case.id, "claim", now=t0 + timedelta(minutes=5))
    later = t0 + timedelta(hours=2)
    case = case_service.perform_action(session, specialist, case.id, "release", now=later)
    assert case.current_hop.due_claim_at == later + timedelta(minutes=30)
    assert case.current_hop.due_advice_at == later + timedelta(hours=2)

"""A specialist invited into a case's consult may read the case, until the invitation is revoked."""

from __future__ import annotations

from referral.consult.invitations import invite_specialist, revoke_invitation


def test_invited_expert_reads_the_case_until_revoked(api, session, users):
    cid = api.new_case("village.doctor", specialty="internal_medicine")["id"]
    api.act("village.doctor", cid, "submit")
    api.act("township.specialist", cid, "claim")
    assert api.get("province.expert", f"/api/v1/cases/{cid}").status_code == 404

    invitation = invite_specialist(session, users["township.specialist"], cid, username="province.expert")
    body = api.get("province.expert", f"/api/v1/cases/{cid}").get_json()
    assert body["id"] == cid and body["allowed_actions"] == []  # reading, not acting
    listed = api.get("province.expert", "/api/v1/cases?scope=all&per_page=100").get_json()["items"]
    assert cid in [c["id"] for c in listed]

    revoke_invitation(session, users["township.specialist"], cid, invitation.id)
    assert api.get("province.expert", f"/api/v1/cases/{cid}").status_code == 404

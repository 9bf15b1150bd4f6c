"""The county admin edits the SLA policy on its page; others may not."""

from __future__ import annotations

from referral.domain.vocabulary import Tier, Urgency
from referral.services.sla import current_policy
from tests.notifications.pages import Browser


def form(**changes) -> dict:
    data = {}
    for urgency, (claim, advice, breach) in {"emergency": (30, 120, "escalate"), "urgent": (240, 1440, "reopen"),
                                             "routine": (1440, 4320, "notify")}.items():
        data.update({f"{urgency}.default.claim_minutes": str(claim), f"{urgency}.default.advice_minutes": str(advice),
                     f"{urgency}.default.on_breach": breach})
        for tier in ("township", "county", "provincial"):
            data.update({f"{urgency}.{tier}.claim_minutes": "", f"{urgency}.{tier}.advice_minutes": "",
                         f"{urgency}.{tier}.on_breach": breach})
    data.update(changes)
    return data


def test_the_county_admin_edits_the_policy(app, session):
    admin = Browser(app, "county.admin")
    page = admin.get("/admin/sla").get_data(as_text=True)
    assert 'name="emergency.default.claim_minutes" value="30"' in page
    assert 'name="routine.provincial.advice_minutes" value="7200"' in page  # the file's override, shown

    r = admin.post("/admin/sla", form(**{"emergency.default.claim_minutes": "20",
                                         "urgent.county.claim_minutes": "180", "urgent.county.advice_minutes": "900",
                                         "urgent.county.on_breach": "escalate"}))
    assert r.status_code == 302
    session.expire_all()
    policy = current_policy(session)
    assert policy.window(Urgency.EMERGENCY, Tier.TOWNSHIP).claim_minutes == 20
    assert policy.window(Urgency.URGENT, Tier.COUNTY).on_breach == "escalate"
    assert policy.window(Urgency.URGENT, Tier.TOWNSHIP).claim_minutes == 240
    assert 'name="emergency.default.claim_minutes" value="20"' in admin.get("/admin/sla").get_data(as_text=True)


def test_bad_values_are_refused_and_others_may_not_edit(app, session):
    admin = Browser(app, "county.admin")
    r = admin.post("/admin/sla", form(**{"urgent.default.advice_minutes": "10"}))
    assert r.status_code == 422 and "field-error" in r.get_data(as_text=True)
    r = admin.post("/admin/sla", form(**{"routine.default.claim_minutes": "soon"}))
    assert r.status_code == 422
    r = admin.post("/admin/sla", form(**{"routine.default.claim_minutes": "0"}))  # whole, but out of range
    assert r.status_code == 422 and "1 到 43200（30 天）之间的整数分钟" in r.get_data(as_text=True)
    assert current_policy(session).window(Urgency.URGENT, Tier.TOWNSHIP).advice_minutes == 1440
    for name in ("township.admin", "township.specialist"):
        assert Browser(app, name).get("/admin/sla").status_code == 403

from datetime import UTC, datetime, timedelta

import pytest

from referral.domain.sla import default_policy, parse_policy
from referral.domain.vocabulary import Tier, Urgency


def test_defaults_match_the_policy():
    p = default_policy()
    assert (p.window(Urgency.EMERGENCY, Tier.TOWNSHIP).claim_minutes, p.window(Urgency.EMERGENCY, Tier.TOWNSHIP).advice_minutes) == (30, 120)
    assert (p.window(Urgency.URGENT, Tier.COUNTY).claim_minutes, p.window(Urgency.URGENT, Tier.COUNTY).advice_minutes) == (240, 1440)
    assert p.window(Urgency.ROUTINE, Tier.COUNTY).claim_minutes == 1440
    assert p.window(Urgency.ROUTINE, Tier.PROVINCIAL).advice_minutes == 7200  # per-tier override


def test_due_times():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    claim, advice = default_policy().window(Urgency.EMERGENCY, Tier.COUNTY).due(t0)
    assert claim - t0 == timedelta(minutes=30) and advice - t0 == timedelta(hours=2)


def test_invalid_policy_is_refused():
    with pytest.raises(ValueError):
        parse_policy("""
[urgency.emergency]
claim_minutes = 30
advice_minutes = 10
[urgency.urgent]
claim_minutes = 1
advice_minutes = 2
[urgency.routine]
claim_minutes = 1
advice_minutes = 2
""")

"""The SLA policy: how long a facility has to claim and to advise, by urgency and tier."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from .vocabulary import Tier, Urgency

BREACH_ACTIONS = ("notify", "reopen", "escalate")
WARNING_FRACTION = 0.75


@dataclass(frozen=True)
class Window:
    claim_minutes: int
    advice_minutes: int
    on_breach: str

    def due(self, opened_at: datetime) -> tuple[datetime, datetime]:
        """Claim and advice deadlines for a hop opened at `opened_at`."""
        return (
            opened_at + timedelta(minutes=self.claim_minutes),
            opened_at + timedelta(minutes=self.advice_minutes),
        )


@dataclass(frozen=True)
class SlaPolicy:
    by_urgency: dict[Urgency, Window]
    overrides: dict[tuple[Tier, Urgency], Window]

    def window(self, urgency: Urgency, tier: Tier) -> Window:
        return self.overrides.get((tier, urgency), self.by_urgency[urgency])


def parse_policy(text: str) -> SlaPolicy:
    raw = tomllib.loads(text)
    base = {}
    for urgency in Urgency:
        item = raw["urgency"][urgency.value]
        base[urgency] = _window(item)
    overrides = {}
    for tier_name, per_urgency in raw.get("tier", {}).items():
        for urgency_name, item in per_urgency.items():
            u = Urgency(urgency_name)
            overrides[(Tier(tier_name), u)] = replace(base[u], **item)
    return SlaPolicy(base, overrides)


def _window(item: dict) -> Window:
    w = Window(int(item["claim_minutes"]), int(item["advice_minutes"]), item.get("on_breach", "notify"))
    if w.on_breach not in BREACH_ACTIONS or w.claim_minutes <= 0 or w.advice_minutes < w.claim_minutes:
        raise ValueError(f"invalid SLA window {item}")
    return w


@cache
def default_policy() -> SlaPolicy:
    return parse_policy(resources.files("referral.data").joinpath("sla.toml").read_text("utf-8"))

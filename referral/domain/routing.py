"""Routing: which facility a case goes to next, decided by the rules in `data/routing.toml`.

The rules are data; this module only interprets them against a `Directory`
of facilities that the service layer provides.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Protocol

from .errors import RoutingError
from .vocabulary import TOP_TIER, FacilityKind, Tier, Urgency


@dataclass(frozen=True)
class FacilityRef:
    """A facility as routing sees it."""

    id: int
    tier: Tier
    kind: FacilityKind
    name: str = ""


class Directory(Protocol):
    """The facility look-ups routing needs; implemented over the database by the services."""

    def parent(self, facility: FacilityRef) -> FacilityRef | None: ...

    def county_facility(self, facility: FacilityRef, kind: FacilityKind) -> FacilityRef | None: ...

    def partner(self, facility: FacilityRef, specialty: str) -> FacilityRef | None: ...


@dataclass(frozen=True)
class Rule:
    name: str
    from_tier: Tier
    target: str
    urgency: frozenset[Urgency] = field(default_factory=frozenset)
    specialties: frozenset[str] = field(default_factory=frozenset)
    kind: FacilityKind | None = None

    def matches(self, tier: Tier, specialty: str, urgency: Urgency) -> bool:
        return (
            self.from_tier == tier
            and (not self.urgency or urgency in self.urgency)
            and (not self.specialties or specialty in self.specialties)
        )


TARGETS = {"parent", "county", "partner", "skip"}


def parse_rules(text: str) -> tuple[Rule, ...]:
    """Parse and validate a rules file; a bad file fails loudly at start-up, not mid-referral."""
    rules = []
    for raw in tomllib.loads(text).get("rule", []):
        if raw["target"] not in TARGETS:
            raise ValueError(f"routing rule {raw.get('name')!r}: unknown target {raw['target']!r}")
        if raw["target"] == "county" and "kind" not in raw:
            raise ValueError(f"routing rule {raw.get('name')!r}: target 'county' needs a kind")
        rules.append(
            Rule(
                name=raw.get("name", ""),
                from_tier=Tier(raw["from_tier"]),
                target=raw["target"],
                urgency=frozenset(Urgency(u) for u in raw.get("urgency", [])),
                specialties=frozenset(raw.get("specialties", [])),
                kind=FacilityKind(raw["kind"]) if "kind" in raw else None,
            )
        )
    return tuple(rules)


@cache
def default_rules() -> tuple[Rule, ...]:
    return parse_rules(resources.files("referral.data").joinpath("routing.toml").read_text("utf-8"))


def next_facility(
    origin: FacilityRef,
    specialty: str,
    urgency: Urgency,
    directory: Directory,
    rules: tuple[Rule, ...] | None = None,
) -> tuple[FacilityRef, Rule]:
    """The facility a case leaving `origin` goes to, and the rule that sent it there.

    Raises `RoutingError` at the top tier or when the directory has no such facility.
    """
    rules = rules if rules is not None else default_rules()
    if origin.tier == TOP_TIER:
        raise RoutingError(f"{origin.name or 'this facility'} is at the top tier ({TOP_TIER.value}); there is no tier above")
    for rule in rules:
        if rule.matches(origin.tier, specialty, urgency):
            target = _resolve(rule, origin, specialty, urgency, directory, rules)
            if target is None:
                raise RoutingError(
                    f"no facility to receive the case from {origin.name or origin.tier.value} "
                    f"for specialty '{specialty}' (rule: {rule.name})"
                )
            return target, rule
    raise RoutingError(f"no routing rule for a {origin.tier.value} case in '{specialty}'")


def _resolve(rule, origin, specialty, urgency, directory, rules) -> FacilityRef | None:
    if rule.target == "parent":
        return directory.parent(origin)
    if rule.target == "county":
        return directory.county_facility(origin, rule.kind)
    if rule.target == "partner":
        return directory.partner(origin, specialty)
    if rule.target == "skip":
        parent = directory.parent(origin)
        if parent is None:
            return None
        return next_facility(parent, specialty, urgency, directory, rules)[0]
    raise AssertionError(rule.target)

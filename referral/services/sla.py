"""The SLA policy in force: the county admin's edited policy in the database, or the data file's defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..domain.errors import Forbidden
from ..domain.sla import SlaPolicy, Window, default_policy
from ..domain.vocabulary import FacilityKind, Role, Tier, Urgency
from ..models import AuditEntry, SlaPolicyRow, User, utcnow
from .inputs import Strict, parse
from .transaction import transactional

MAX_MINUTES = 60 * 24 * 30  # a month: anything longer is a typing mistake, not a service level


def current_policy(session: Session) -> SlaPolicy:
    """The policy deadlines are computed with: the edited one when the county admin saved one."""
    rows = list(session.scalars(select(SlaPolicyRow)))
    if not rows:
        return default_policy()
    return policy_from_rows(rows)


def policy_from_rows(rows: list[SlaPolicyRow]) -> SlaPolicy:
    """Rows without a tier are the windows by urgency; rows with one override it for that tier.
    An urgency the rows leave out keeps the data file's window."""
    defaults = default_policy()
    by_urgency = dict(defaults.by_urgency)
    overrides = {}
    for row in rows:
        window = Window(row.claim_minutes, row.advice_minutes, row.on_breach)
        if row.tier is None:
            by_urgency[Urgency(row.urgency)] = window
        else:
            overrides[(Tier(row.tier), Urgency(row.urgency))] = window
    return SlaPolicy(by_urgency, overrides)


def policy_rows(policy: SlaPolicy) -> list[dict]:
    """The policy as the editing page and the API show it: one row per urgency, then the overrides."""
    out = [{"urgency": u.value, "tier": None, "claim_minutes": w.claim_minutes, "advice_minutes": w.advice_minutes,
            "on_breach": w.on_breach} for u, w in policy.by_urgency.items()]
    out += [{"urgency": u.value, "tier": t.value, "claim_minutes": w.claim_minutes,
             "advice_minutes": w.advice_minutes, "on_breach": w.on_breach}
            for (t, u), w in sorted(policy.overrides.items(), key=lambda kv: (kv[0][0].rank, kv[0][1].value))]
    return out


class WindowIn(Strict):
    urgency: Urgency
    tier: Tier | None = Field(default=None, description="omit for the default of every tier")
    claim_minutes: int = Field(ge=1, le=MAX_MINUTES)
    advice_minutes: int = Field(ge=1, le=MAX_MINUTES)
    on_breach: Literal["notify", "reopen", "escalate"]

    @model_validator(mode="after")
    def _advice_after_claim(self) -> "WindowIn":
        if self.advice_minutes < self.claim_minutes:
            raise ValueError("the time to advise cannot be shorter than the time to claim")
        return self


class PolicyIn(Strict):
    windows: list[WindowIn] = Field(min_length=3, max_length=3 * 5)

    @model_validator(mode="after")
    def _complete(self) -> "PolicyIn":
        keys = [(w.urgency, w.tier) for w in self.windows]
        if len(set(keys)) != len(keys):
            raise ValueError("each urgency and tier may be given once")
        missing = [u.value for u in Urgency if (u, None) not in keys]
        if missing:
            raise ValueError(f"a default window is needed for every urgency (missing: {', '.join(missing)})")
        return self


def is_county_admin(user: User) -> bool:
    """The county admin (at the health bureau, whose jurisdiction is the county) or a system admin:
    who sets the SLA policy and sends emergency notices."""
    roles = set(user.roles or ())
    if Role.SYSADMIN.value in roles:
        return True
    return Role.ADMIN.value in roles and user.facility is not None and \
        user.facility.kind == FacilityKind.HEALTH_BUREAU.value


@transactional
def update_policy(session: Session, user: User, data: dict) -> SlaPolicy:
    """Replace the policy. New deadlines follow it; hops already open keep the deadlines they were given."""
    if not is_county_admin(user):
        raise Forbidden("only the county admin sets the SLA policy")
    parsed: PolicyIn = parse(PolicyIn, data)  # type: ignore[assignment]
    before = policy_rows(current_policy(session))
    now = utcnow()
    session.execute(delete(SlaPolicyRow))
    for w in parsed.windows:
        session.add(SlaPolicyRow(urgency=w.urgency.value, tier=w.tier.value if w.tier else None,
                                 claim_minutes=w.claim_minutes, advice_minutes=w.advice_minutes,
                                 on_breach=w.on_breach, updated_at=now, updated_by_id=user.id))
    session.flush()
    policy = current_policy(session)
    session.add(AuditEntry(actor_id=user.id, action="sla.policy.update", object_type="sla_policy",
                           details={"before": before, "after": policy_rows(policy)}, created_at=now))
    return policy

"""The referral workflow: one declarative transition table and the guards on it.

Everything that needs to know what may happen to a case reads this table: the
case service enforces it, the API reports `allowed_actions` from it, and the
diagram in `docs/workflow.md` is generated from it (`referral docs`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from .errors import Forbidden, InvalidTransition, NotFound
from .vocabulary import TOP_TIER, Role, Tier


class CaseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    INFO_REQUESTED = "info_requested"
    ADVISED = "advised"
    RETURNED = "returned"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    SUBMIT = "submit"
    CANCEL = "cancel"
    CLAIM = "claim"
    RELEASE = "release"
    REQUEST_INFO = "request_info"
    PROVIDE_INFO = "provide_info"
    ESCALATE = "escalate"
    DECLINE = "decline"
    RESUBMIT = "resubmit"
    ISSUE_ADVICE = "issue_advice"
    FOLLOW_UP = "follow_up"
    CLOSE = "close"


class Party(StrEnum):
    """Who, relative to the case, may take an action."""

    AUTHOR = "author"  # the doctor who wrote the case
    HOP_SPECIALIST = "hop_specialist"  # any specialist of the facility now holding it
    ASSIGNEE = "assignee"  # the specialist who claimed it


class Condition(StrEnum):
    """Extra guards beyond state and party, named so the table stays declarative."""

    BELOW_TOP_TIER = "below_top_tier"


@dataclass(frozen=True)
class ActorFacts:
    """What the rules need to know about the person acting."""

    user_id: int
    facility_id: int
    roles: frozenset[str]
    specialties: frozenset[str] = frozenset()

    def has_role(self, role: Role) -> bool:
        return role.value in self.roles


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know about the case."""

    status: CaseStatus
    author_id: int
    origin_facility_id: int
    hop_facility_id: int | None = None
    hop_tier: Tier | None = None
    assignee_id: int | None = None


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[CaseStatus]
    target: CaseStatus
    party: Party
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    new_hop: bool = False  # the case moves to another facility (submit, escalate, resubmit)


S = CaseStatus


def _t(action, sources, target, party, **kw) -> Transition:
    return Transition(Action(action), frozenset(sources), target, party, **kw)


TRANSITIONS: tuple[Transition, ...] = (
    _t("submit", {S.DRAFT}, S.SUBMITTED, Party.AUTHOR, new_hop=True),
    _t("cancel", {S.DRAFT, S.SUBMITTED, S.RETURNED}, S.CANCELLED, Party.AUTHOR, optional=("reason",)),
    _t("claim", {S.SUBMITTED}, S.IN_REVIEW, Party.HOP_SPECIALIST),
    _t("release", {S.IN_REVIEW}, S.SUBMITTED, Party.ASSIGNEE, optional=("note",)),
    _t("request_info", {S.IN_REVIEW}, S.INFO_REQUESTED, Party.ASSIGNEE, required=("message",)),
    _t("provide_info", {S.INFO_REQUESTED}, S.IN_REVIEW, Party.AUTHOR, required=("message",)),
    _t(
        "escalate",
        {S.IN_REVIEW},
        S.SUBMITTED,
        Party.ASSIGNEE,
        required=("reason",),
        optional=("specialty",),
        conditions=(Condition.BELOW_TOP_TIER,),
        new_hop=True,
    ),
    _t("decline", {S.SUBMITTED, S.IN_REVIEW}, S.RETURNED, Party.HOP_SPECIALIST, required=("reason",)),
    _t("resubmit", {S.RETURNED}, S.SUBMITTED, Party.AUTHOR, optional=("note",), new_hop=True),
    _t("issue_advice", {S.IN_REVIEW}, S.ADVISED, Party.ASSIGNEE, required=("advice", "password")),
    _t("follow_up", {S.ADVISED}, S.IN_REVIEW, Party.AUTHOR, required=("message",)),
    _t("close", {S.ADVISED, S.RETURNED}, S.CLOSED, Party.AUTHOR, required=("outcome",), optional=("note",)),
)

_BY_ACTION = {t.action: t for t in TRANSITIONS}


def transition_for(action: str) -> Transition:
    """The transition named `action`; an unknown name is `not_found`."""
    try:
        return _BY_ACTION[Action(action)]
    except ValueError:
        raise NotFound(f"unknown action '{action}'", allowed=[a.value for a in Action]) from None


def is_party(party: Party, case: CaseFacts, actor: ActorFacts) -> bool:
    """Whether `actor` plays `party` for `case`."""
    if party is Party.AUTHOR:
        return actor.user_id == case.author_id and actor.has_role(Role.DOCTOR)
    if party is Party.HOP_SPECIALIST:
        return (
            actor.has_role(Role.SPECIALIST)
            and case.hop_facility_id is not None
            and actor.facility_id == case.hop_facility_id
        )
    if party is Party.ASSIGNEE:
        return case.assignee_id is not None and actor.user_id == case.assignee_id
    raise AssertionError(party)


def _condition_holds(condition: Condition, case: CaseFacts) -> bool:
    if condition is Condition.BELOW_TOP_TIER:
        return case.hop_tier is not None and case.hop_tier != TOP_TIER
    raise AssertionError(condition)


def _permitted(t: Transition, case: CaseFacts, actor: ActorFacts) -> bool:
    return (
        case.status in t.sources
        and is_party(t.party, case, actor)
        and all(_condition_holds(c, case) for c in t.conditions)
    )


def allowed_actions(case: CaseFacts, actor: ActorFacts) -> list[str]:
    """The actions `actor` may take on `case` now, in table order."""
    return [t.action.value for t in TRANSITIONS if _permitted(t, case, actor)]


def check(action: str, case: CaseFacts, actor: ActorFacts) -> Transition:
    """Return the transition if `actor` may take `action` now; raise the precise refusal otherwise.

    The order of the checks decides the error a caller sees: a wrong party is
    `forbidden` (nothing they can wait for), a wrong state is
    `invalid_transition` with what is allowed instead.
    """
    t = transition_for(action)
    if not is_party(t.party, case, actor) and not _waiting_assignee(t, case, actor):
        raise Forbidden(f"only the {t.party.value.replace('_', ' ')} may {t.action.value}")
    if case.status not in t.sources:
        raise InvalidTransition(
            f"cannot {t.action.value} a case that is {case.status.value}",
            allowed_actions=allowed_actions(case, actor),
        )
    for condition in t.conditions:
        if not _condition_holds(condition, case):
            raise InvalidTransition(
                _condition_message(condition, case), allowed_actions=allowed_actions(case, actor)
            )
    return t


def _waiting_assignee(t: Transition, case: CaseFacts, actor: ActorFacts) -> bool:
    """A specialist of the holding facility asking for an assignee action on an unclaimed case:
    the problem is the state (claim it first), not who they are."""
    return t.party is Party.ASSIGNEE and case.assignee_id is None and is_party(Party.HOP_SPECIALIST, case, actor)


def _condition_message(condition: Condition, case: CaseFacts) -> str:
    if condition is Condition.BELOW_TOP_TIER:
        return f"the case is already at the top tier ({TOP_TIER.value}); it cannot be escalated further"
    return condition.value


def statuses_from(transitions: Iterable[Transition]) -> list[CaseStatus]:
    return sorted({s for t in transitions for s in t.sources} | {t.target for t in transitions})


def mermaid() -> str:
    """The state diagram of the table, in Mermaid syntax, for the docs."""
    lines = ["stateDiagram-v2", f"  [*] --> {CaseStatus.DRAFT.value}"]
    edges: dict[tuple[str, str], list[str]] = {}
    for t in TRANSITIONS:
        for source in sorted(t.sources):
            edges.setdefault((source.value, t.target.value), []).append(t.action.value)
    for (source, target), actions in edges.items():
        lines.append(f"  {source} --> {target}: {' / '.join(actions)}")
    for final in (CaseStatus.CLOSED, CaseStatus.CANCELLED):
        lines.append(f"  {final.value} --> [*]")
    return "\n".join(lines) + "\n"


def workflow_markdown() -> str:
    """The whole of `docs/workflow.md`, generated; a test fails when the file is stale."""
    rows = [
        "| action | from | to | who | required fields | optional fields |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in TRANSITIONS:
        rows.append(
            f"| `{t.action.value}` | {', '.join(s.value for s in sorted(t.sources))} | {t.target.value} | "
            f"{t.party.value.replace('_', ' ')} | {', '.join(t.required) or '—'} | {', '.join(t.optional) or '—'} |"
        )
    return (
        "# Case workflow\n\n"
        "Generated from `referral/domain/workflow.py` by `referral docs`; do not edit by hand.\n\n"
        "```mermaid\n" + mermaid() + "```\n\n" + "\n".join(rows) + "\n\n"
        "`escalate` is refused at the top tier (provincial). `submit`, `resubmit` and `escalate` open a new\n"
        "hop at the facility chosen by the routing rules (`referral/data/routing.toml`).\n"
    )

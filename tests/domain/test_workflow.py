"""The transition table, exhaustively: every status x action x party."""

from __future__ import annotations

import itertools

import pytest

from referral.domain.errors import Forbidden, InvalidTransition, NotFound
from referral.domain.vocabulary import Tier
from referral.domain.workflow import (
    TRANSITIONS, Action, ActorFacts, CaseFacts, CaseStatus, Party, allowed_actions, check, mermaid,
)

AUTHOR = ActorFacts(user_id=1, facility_id=10, roles=frozenset({"doctor"}))
ASSIGNEE = ActorFacts(user_id=2, facility_id=20, roles=frozenset({"specialist"}))
COLLEAGUE = ActorFacts(user_id=3, facility_id=20, roles=frozenset({"specialist"}))  # same facility, not assignee
STRANGER = ActorFacts(user_id=4, facility_id=30, roles=frozenset({"specialist"}))
ADMIN = ActorFacts(user_id=5, facility_id=20, roles=frozenset({"admin"}))

# What the contract of API.md says, written out independently of the table.
EXPECTED = {
    "submit": ({"draft"}, "submitted", "author"),
    "cancel": ({"draft", "submitted", "returned"}, "cancelled", "author"),
    "claim": ({"submitted"}, "in_review", "hop_specialist"),
    "release": ({"in_review"}, "submitted", "assignee"),
    "request_info": ({"in_review"}, "info_requested", "assignee"),
    "provide_info": ({"info_requested"}, "in_review", "author"),
    "escalate": ({"in_review"}, "submitted", "assignee"),
    "decline": ({"submitted", "in_review"}, "returned", "hop_specialist"),
    "resubmit": ({"returned"}, "submitted", "author"),
    "issue_advice": ({"in_review"}, "advised", "assignee"),
    "follow_up": ({"advised"}, "in_review", "author"),
    "close": ({"advised", "returned"}, "closed", "author"),
}


def case_in(status: CaseStatus, tier: Tier = Tier.TOWNSHIP, assigned: bool = True) -> CaseFacts:
    at_facility = status in (CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW, CaseStatus.INFO_REQUESTED)
    return CaseFacts(
        status=status, author_id=1, origin_facility_id=10,
        hop_facility_id=20 if at_facility else None, hop_tier=tier,
        assignee_id=2 if assigned and status in (CaseStatus.IN_REVIEW, CaseStatus.INFO_REQUESTED) else None,
    )


def test_table_matches_the_contract():
    table = {t.action.value: ({s.value for s in t.sources}, t.target.value, t.party.value) for t in TRANSITIONS}
    assert table == EXPECTED


def _expected_permitted(action: str, status: CaseStatus, actor: ActorFacts) -> bool:
    sources, _, party = EXPECTED[action]
    if status.value not in sources:
        return False
    case = case_in(status)
    return {
        "author": actor is AUTHOR,
        "assignee": actor is ASSIGNEE and case.assignee_id == 2,
        "hop_specialist": actor in (ASSIGNEE, COLLEAGUE) and case.hop_facility_id == 20,
    }[party]


@pytest.mark.parametrize("status,action,actor", list(itertools.product(
    CaseStatus, Action, [AUTHOR, ASSIGNEE, COLLEAGUE, STRANGER, ADMIN])))
def test_every_status_action_and_party(status, action, actor):
    case = case_in(status)
    permitted = _expected_permitted(action.value, status, actor)
    assert (action.value in allowed_actions(case, actor)) == permitted
    if permitted:
        assert check(action.value, case, actor).action is action
    else:
        with pytest.raises((Forbidden, InvalidTransition)):
            check(action.value, case, actor)


def test_wrong_state_is_invalid_transition_with_what_is_allowed():
    with pytest.raises(InvalidTransition) as err:
        check("close", case_in(CaseStatus.IN_REVIEW), AUTHOR)
    assert err.value.details["allowed_actions"] == []
    with pytest.raises(InvalidTransition) as err:
        check("submit", case_in(CaseStatus.RETURNED), AUTHOR)
    assert set(err.value.details["allowed_actions"]) == {"cancel", "resubmit", "close"}


def test_wrong_party_is_forbidden():
    with pytest.raises(Forbidden):
        check("claim", case_in(CaseStatus.SUBMITTED), STRANGER)
    with pytest.raises(Forbidden):
        check("submit", case_in(CaseStatus.DRAFT), ASSIGNEE)
    with pytest.raises(Forbidden):
        check("issue_advice", case_in(CaseStatus.IN_REVIEW), COLLEAGUE)


def test_assignee_action_on_unclaimed_case_says_claim_first():
    case = case_in(CaseStatus.SUBMITTED)
    with pytest.raises(InvalidTransition) as err:
        check("issue_advice", case, COLLEAGUE)
    assert err.value.details["allowed_actions"] == ["claim", "decline"]


def test_escalation_is_refused_at_the_top_tier():
    top = case_in(CaseStatus.IN_REVIEW, tier=Tier.PROVINCIAL)
    assert "escalate" not in allowed_actions(top, ASSIGNEE)
    with pytest.raises(InvalidTransition, match="top tier"):
        check("escalate", top, ASSIGNEE)
    assert "escalate" in allowed_actions(case_in(CaseStatus.IN_REVIEW, tier=Tier.COUNTY), ASSIGNEE)


def test_unknown_action_is_not_found():
    with pytest.raises(NotFound):
        check("approve", case_in(CaseStatus.DRAFT), AUTHOR)


def test_a_specialist_author_needs_the_doctor_role_to_act_as_author():
    specialist_author = ActorFacts(user_id=1, facility_id=10, roles=frozenset({"specialist"}))
    assert allowed_actions(case_in(CaseStatus.DRAFT), specialist_author) == []


def test_diagram_has_every_edge():
    diagram = mermaid()
    for t in TRANSITIONS:
        for source in t.sources:
            line = next(l for l in diagram.splitlines() if l.strip().startswith(f"{source.value} --> {t.target.value}:"))
            assert t.action.value in line
    assert Party.AUTHOR  # the party vocabulary is part of the public table

"""Two specialists claiming the same case at the same instant: one wins, one gets `conflict`."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from referral.domain.errors import Conflict
from referral.models import Case, Event, User
from referral.services import cases as case_service
from referral.services.inputs import CaseIn


def _submitted_case(database) -> tuple[int, int]:
    with database.session() as s:
        author = s.scalars(select(User).where(User.username == "village.doctor")).one()
        data = CaseIn.model_validate({"patient": {"name": "并发测试", "sex": "male"}, "urgency": "urgent",
                                      "specialty": "internal_medicine", "chief_complaint": "发热",
                                      "clinical_question": "?"})
        case = case_service.create_draft(s, author, data)
        case = case_service.perform_action(s, author, case.id, "submit")
        return case.id, case.version


def _race(database, case_id: int, version: int, usernames: list[str]) -> dict[str, str]:
    barrier = threading.Barrier(len(usernames))
    results: dict[str, str] = {}

    def claim(username: str) -> None:
        with database.session() as s:
            user = s.scalars(select(User).where(User.username == username)).one()
            barrier.wait()
            try:
                case_service.perform_action(s, user, case_id, "claim", version=version)
                results[username] = "ok"
            except Conflict:
                results[username] = "conflict"
            except Exception as exc:  # anything else is a failure of the guarantee
                results[username] = repr(exc)

    threads = [threading.Thread(target=claim, args=(name,)) for name in usernames]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_concurrent_claims_give_one_winner(database):
    rounds = 8
    for _ in range(rounds):
        case_id, version = _submitted_case(database)
        # two specialists of the same township health center (T1): the demo one and a second one
        results = _race(database, case_id, version, ["township.specialist", "township.doctor"])
        assert sorted(results.values()) == ["conflict", "ok"], results
        winner = next(name for name, r in results.items() if r == "ok")
        with database.session() as s:
            case = s.get(Case, case_id)
            assert case.status == "in_review" and case.version == version + 1
            assert case.current_hop.assignee.username == winner
            claims = s.scalar(select(func.count()).where(Event.case_id == case_id, Event.kind == "claim"))
            assert claims == 1

"""Editing a draft case before it is submitted: the author may change everything."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..domain.errors import Conflict, Forbidden, InvalidTransition
from ..domain.workflow import CaseStatus
from ..models import Case, Event, User, utcnow
from . import inputs
from .access import visible_case
from .cases import _patient_for
from .transaction import transactional


@transactional
def update_draft(session: Session, user: User, case_id: int, data: inputs.CaseIn, *,
                 version: int | None = None, now: datetime | None = None) -> Case:
    """Replace the content of a draft; refused once submitted, and for a stale `version`."""
    case = visible_case(session, user, case_id)
    if case.author_id != user.id:
        raise Forbidden("only the author may edit a draft")
    if case.status != CaseStatus.DRAFT.value:
        raise InvalidTransition(f"a case that is {case.status} can no longer be edited", allowed_actions=[])
    if version is not None and version != case.version:
        raise Conflict(
            f"the case has changed since you loaded it (now version {case.version}); reload and try again",
            version=case.version,
        )
    now = now or utcnow()
    case.patient = _patient_for(session, user, data)
    case.urgency = data.urgency.value
    case.specialty = data.specialty
    case.chief_complaint = data.chief_complaint
    case.clinical_question = data.clinical_question
    case.history = data.history
    case.vitals = data.vitals.model_dump(exclude_none=True)
    case.diagnoses = [d.model_dump() for d in data.diagnoses]
    case.version += 1
    case.updated_at = now
    session.add(Event(case_id=case.id, hop_id=None, actor_id=user.id, kind="draft_updated",
                      from_status=CaseStatus.DRAFT.value, to_status=CaseStatus.DRAFT.value, payload={},
                      created_at=now))
    return case

"""The access rule applied to the database: every read and write of a case goes through here."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.orm import Session

from ..domain.access import CaseScope
from ..domain.errors import NotFound
from ..models import AuditEntry, Case, ConsultInvitation, Hop, User
from .actors import scope_of


def case_filter(scope: CaseScope) -> ColumnElement[bool]:
    """The SQL form of `CaseScope.admits`, built from the same fields."""
    if scope.everything:
        return true()
    clauses = []
    if scope.origin_facility_ids:
        clauses.append(Case.origin_facility_id.in_(sorted(scope.origin_facility_ids)))
    if scope.hop_facility_ids:
        clauses.append(
            exists().where(Hop.case_id == Case.id, Hop.facility_id.in_(sorted(scope.hop_facility_ids)))
        )
    if scope.invited_user_id is not None:
        clauses.append(
            exists().where(
                ConsultInvitation.case_id == Case.id,
                ConsultInvitation.invitee_id == scope.invited_user_id,
                ConsultInvitation.revoked_at.is_(None),
            )
        )
    return or_(*clauses) if clauses else false()


def visible_case(session: Session, user: User, case_id: int) -> Case:
    """The case if `user` may see it; `not_found` whether it is absent or out of scope."""
    scope = scope_of(session, user)
    stmt = select(Case).where(Case.id == case_id, case_filter(scope))
    case = session.scalars(stmt).unique().first()
    if case is None:
        raise NotFound("no such case")
    return case


def record_read(
    session: Session,
    user: User,
    action: str,
    *,
    case: Case | None = None,
    object_type: str = "case",
    object_id: int | None = None,
    ip: str = "",
    **details,
) -> None:
    """Append an audit entry for a read of protected data, in the caller's transaction."""
    session.add(
        AuditEntry(
            actor_id=user.id,
            action=action,
            object_type=object_type,
            object_id=object_id if object_id is not None else (case.id if case is not None else None),
            case_id=case.id if case is not None else None,
            details=details,
            ip=ip,
        )
    )

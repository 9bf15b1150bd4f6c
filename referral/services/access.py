"""The access rule applied to the database: every read and write of a case goes through here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, exists, false, insert, or_, select, true
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from ..domain.access import CaseScope
from ..domain.errors import NotFound
from ..models import AuditEntry, Case, ConsultInvitation, Hop, User
from .actors import scope_of
from .statements import cached_statements


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
    """The case if `user` may see it; `not_found` whether it is absent or out of scope.

    A page asks this several times for one case (the page, then each feature's panel). When
    the session already holds the case with its hops, the rule's Python form answers from
    them; otherwise, or when only an invitation would admit the reader, the SQL form does."""
    scope = scope_of(session, user)
    known = _loaded_case(session, case_id)
    if known is not None and scope.admits(known.origin_facility_id, [h.facility_id for h in known.hops]):
        return known
    (stmt,) = cached_statements(
        ("visible_case", scope), lambda: (select(Case).where(Case.id == bindparam("case_id"), case_filter(scope)),))
    case = session.scalars(stmt, {"case_id": case_id}).unique().first()
    if case is None:
        raise NotFound("no such case")
    return case


@dataclass(frozen=True, slots=True)
class CaseRef:
    """What a panel of the case page needs to know of a case it only lists things of."""

    id: int
    origin_facility_id: int
    author_id: int
    status: str


def visible_case_ref(session: Session, user: User, case_id: int) -> CaseRef:
    """`visible_case` for a reader who does not need the case itself: the same rule, answered
    from the loaded case when the session has it, else by one narrow statement; no model is
    loaded. `not_found` whether the case is absent or out of scope.

    A page asks this once per panel, after the page's own read committed: a "yes" is kept for
    the rest of the session (one request) until the session writes anything that could take
    access away (see `_forget_answers`). Only what admits is kept: a refusal is asked again."""
    answered = session.info.setdefault(_ANSWERED, {})
    key = (user.id, case_id)
    if key not in answered:
        answered[key] = _case_ref(session, user, case_id)
    return answered[key]


def remember_visible(session: Session, user: User, ref: CaseRef) -> None:
    """Note that `user` may see the case of `ref`, for a reader that has just applied the access
    rule itself (the case page's own statement), so that the page's panels need not ask again."""
    session.info.setdefault(_ANSWERED, {})[(user.id, ref.id)] = ref


# What `visible_case_ref` admitted in this session. Access is taken away only by changing or
# removing rows (an invitation revoked, an account deactivated, a facility moved); inserting rows
# only ever admits more. So the answers are forgotten when the session flushes ORM changes, runs
# an UPDATE or DELETE (or any statement that is not a SELECT or INSERT), or rolls back: not when
# a read-only transaction (audit INSERTs included) commits.
_ANSWERED = "referral.visible_case_refs"


@event.listens_for(Session, "after_flush")
def _forget_after_flush(session: Session, _context) -> None:
    session.info.pop(_ANSWERED, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, _transaction) -> None:
    session.info.pop(_ANSWERED, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_answers(state) -> None:
    if _ANSWERED in state.session.info and not (state.is_select or state.is_insert):
        state.session.info.pop(_ANSWERED, None)


def _case_ref(session: Session, user: User, case_id: int) -> CaseRef:
    scope = scope_of(session, user)
    known = _loaded_case(session, case_id)
    if known is not None and scope.admits(known.origin_facility_id, [h.facility_id for h in known.hops]):
        return CaseRef(known.id, known.origin_facility_id, known.author_id, known.status)
    (stmt,) = cached_statements(("visible_case_ref", scope), lambda: (
        select(Case.id, Case.origin_facility_id, Case.author_id, Case.status)
        .where(Case.id == bindparam("case_id"), case_filter(scope)),))
    row = session.execute(stmt, {"case_id": case_id}).first()
    if row is None:
        raise NotFound("no such case")
    return CaseRef(*row)


def _loaded_case(session: Session, case_id: int) -> Case | None:
    """The case as this session already loaded it, with its hops, or None (no SQL either way)."""
    case = session.identity_map.get(identity_key(Case, case_id))
    if case is None:
        return None
    state = inspect(case)
    if state.deleted or state.expired or {"origin_facility_id", "hops"} & state.unloaded:
        return None
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
    record_reads(session, user, [action], case=case, object_type=object_type, object_id=object_id, ip=ip,
                 **details)


def record_reads(
    session: Session,
    user: User,
    actions: list[str],
    *,
    case: Case | None = None,
    object_type: str = "case",
    object_id: int | None = None,
    ip: str = "",
    **details,
) -> None:
    """Append one audit entry per action (a page that shows several kinds of protected data).

    A plain INSERT rather than models added to the session: a read writes nothing else, and
    the unit of work's flush would cost more than the statement."""
    case_id = case.id if case is not None else None
    row = {"actor_id": user.id, "object_type": object_type,
           "object_id": object_id if object_id is not None else case_id, "case_id": case_id, "details": details,
           "ip": ip}
    session.execute(_AUDIT_INSERT, [{**row, "action": action} for action in actions])


_AUDIT_INSERT = insert(AuditEntry.__table__)

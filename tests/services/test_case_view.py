"""The case detail read as plain rows (`services/case_view.py`) shows exactly what the case
model shows, for every demo case and reader, and is audited and scoped like any read."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from referral.api.serializers import case_detail
from referral.domain.errors import NotFound
from referral.models import AuditEntry, Case
from referral.services.access import visible_case
from referral.services.case_view import read_case_view

READERS = ("village.doctor", "township.specialist", "county.specialist", "province.expert", "county.admin")


def test_every_visible_case_reads_the_same_as_its_model(session, users):
    compared = 0
    for username in READERS:
        user = users[username]
        for case_id in session.scalars(select(Case.id).order_by(Case.id)):
            try:
                model = visible_case(session, user, case_id)
            except NotFound:
                with pytest.raises(NotFound):
                    read_case_view(session, user, case_id)
                continue
            expected = case_detail(model, user)
            session.expunge_all()  # the view must not lean on loaded models
            assert case_detail(read_case_view(session, user, case_id), user) == expected, (username, case_id)
            compared += 1
    assert compared > 50


def test_a_read_is_audited_and_an_absent_case_is_not_found(session, users):
    user = users["village.doctor"]
    case_id = session.scalar(select(func.min(Case.id)).where(Case.author_id == user.id))
    before = session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "case.read"))
    read_case_view(session, user, case_id, ip="10.0.0.7")
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.case_id, entry.actor_id, entry.ip) == ("case.read", case_id, user.id, "10.0.0.7")
    assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "case.read")) == before + 1
    with pytest.raises(NotFound):
        read_case_view(session, user, 10**9)


def test_a_visibility_answer_lasts_until_the_session_writes(session, users):
    """The panels of one page ask after the page's read committed: a "yes" is answered from
    memory until the session changes something; a revocation is seen at once after it."""
    from sqlalchemy import event, update

    from referral.models import ConsultInvitation, utcnow
    from referral.services.access import visible_case_ref

    expert, village = users["province.expert"], users["village.doctor"]
    case_id = session.scalar(select(func.min(Case.id)).where(Case.author_id == village.id))
    with pytest.raises(NotFound):
        visible_case_ref(session, expert, case_id)
    session.rollback()
    invitation = ConsultInvitation(case_id=case_id, invitee_id=expert.id, inviter_id=users["township.specialist"].id)
    session.add(invitation)
    session.commit()
    statements: list[str] = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731 (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert visible_case_ref(session, expert, case_id).id == case_id
        session.commit()  # a read-only transaction ends: the answer stays
        assert visible_case_ref(session, expert, case_id).id == case_id
        assert len(statements) == 1
        session.execute(update(ConsultInvitation).where(ConsultInvitation.id == invitation.id)
                        .values(revoked_at=utcnow()))
        session.commit()
        with pytest.raises(NotFound):
            visible_case_ref(session, expert, case_id)
        session.rollback()
        invitation.revoked_at = None
        session.commit()  # an ORM change (a flush) forgets too
        assert visible_case_ref(session, expert, case_id).id == case_id
        invitation.revoked_at = utcnow()
        session.commit()
        with pytest.raises(NotFound):
            visible_case_ref(session, expert, case_id)
    finally:
        event.remove(engine, "before_cursor_execute", listener)

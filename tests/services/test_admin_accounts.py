"""Who may change whose account: administrators answer to the level above."""

from __future__ import annotations

import pytest

from referral.domain.errors import Forbidden
from referral.services import admin as admin_service
from referral.services.auth import password_matches


@pytest.fixture
def peer_admin(session, users):
    """A second administrator at the township health center, created by the county."""
    township = users["township.admin"]
    return admin_service.create_account(
        session, users["county.admin"], username="township.admin2", password="peer-pass-2026",
        display_name="副院长", facility_id=township.facility_id, roles=["admin"], specialties=[])


def test_an_admin_cannot_take_over_a_colleagues_account(session, users, peer_admin):
    township = users["township.admin"]
    with pytest.raises(Forbidden):
        admin_service.reset_password(session, township, peer_admin.id, "taken-over-2026")
    with pytest.raises(Forbidden):
        admin_service.set_active(session, township, peer_admin.id, False)
    with pytest.raises(Forbidden):
        admin_service.update_account(session, township, peer_admin.id, display_name="x", title="", roles=["doctor"],
                                     specialties=[])
    session.refresh(peer_admin)
    assert password_matches(peer_admin, "peer-pass-2026") and peer_admin.active and peer_admin.roles == ["admin"]


def test_the_level_above_manages_an_admin_and_an_admin_their_own_staff(session, users, peer_admin):
    admin_service.reset_password(session, users["county.admin"], peer_admin.id, "reset-by-county-2026")
    assert password_matches(session.get(type(peer_admin), peer_admin.id), "reset-by-county-2026")
    doctor = users["township.doctor"]
    admin_service.reset_password(session, users["township.admin"], doctor.id, "reset-by-township-2026")
    assert password_matches(session.get(type(doctor), doctor.id), "reset-by-township-2026")


def test_an_admin_changes_their_own_password_on_their_account_page_only(session, users):
    admin = users["township.admin"]
    with pytest.raises(Forbidden):
        admin_service.reset_password(session, admin, admin.id, "no-current-password-2026")

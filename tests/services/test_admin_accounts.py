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


def test_a_password_sign_in_would_refuse_cannot_be_set(session, users, peer_admin):
    """Sign-in takes at most 200 characters: a longer password set by an admin, or by the person,
    would lock the account out."""
    from referral.domain.errors import ValidationFailed
    from referral.services import users as user_service

    doctor = users["township.doctor"]
    with pytest.raises(ValidationFailed) as refused:
        admin_service.reset_password(session, users["township.admin"], doctor.id, "p" * 201)
    assert refused.value.fields == {"password": "at most 200 characters"}
    with pytest.raises(ValidationFailed) as refused:
        admin_service.create_account(session, users["county.admin"], username="long.pass", password="p" * 254,
                                     display_name="长密码", facility_id=doctor.facility_id, roles=["doctor"],
                                     specialties=[])
    assert refused.value.fields == {"password": "at most 200 characters"}
    with pytest.raises(ValidationFailed) as refused:
        user_service.change_own_password(session, doctor, "demo-pass-2026", "p" * 201)
    assert refused.value.fields == {"new_password": "at most 200 characters"}
    admin_service.reset_password(session, users["township.admin"], doctor.id, "p" * 200)
    assert password_matches(session.get(type(doctor), doctor.id), "p" * 200)


@pytest.mark.parametrize("fields,expected", [
    ({"display_name": "名" * 101}, {"display_name": "at most 100 characters"}),
    ({"title": "职" * 61}, {"title": "at most 60 characters"}),
    ({"display_name": "x" * 100_000, "title": "y" * 100_000},
     {"display_name": "at most 100 characters", "title": "at most 60 characters"}),
    ({"display_name": "王\x00医生"}, {"display_name": "contains a control character"}),
    ({"title": "主治\u202e医师"}, {"title": "contains a control character"}),
])
def test_an_accounts_name_and_title_fit_their_columns_and_hold_no_control_characters(session, users, fields,
                                                                                     expected):
    from referral.domain.errors import ValidationFailed

    admin, doctor = users["township.admin"], users["township.doctor"]
    profile = {"display_name": "王医生", "title": "主治医师", **fields}
    with pytest.raises(ValidationFailed) as refused:
        admin_service.create_account(session, admin, username="new.doctor", password="new-pass-2026",
                                     facility_id=doctor.facility_id, roles=["doctor"], specialties=[], **profile)
    assert refused.value.fields == expected
    with pytest.raises(ValidationFailed) as refused:
        admin_service.update_account(session, admin, doctor.id, roles=["doctor"], specialties=[], **profile)
    assert refused.value.fields == expected
    session.refresh(doctor)
    assert doctor.display_name == users["township.doctor"].display_name
    # At the limit, after trimming, it is taken.
    admin_service.update_account(session, admin, doctor.id, display_name=" " + "名" * 100 + " ", title="职" * 60,
                                 roles=["doctor"], specialties=[])
    session.refresh(doctor)
    assert doctor.display_name == "名" * 100 and doctor.title == "职" * 60


def test_a_search_with_a_control_character_finds_no_one(session, users):
    assert admin_service.list_users(session, users["county.admin"], query="王\x00") == []
    assert admin_service.list_users(session, users["county.admin"], query="village")

"""The account pages of the administration (/admin/users/...): what a form may not do to an account.
A flag that is neither 0 nor 1 changes nothing; a password sign-in would refuse is not set; a
name or title is held to its column's length and to text without control characters, with a message
next to the field, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from referral.models import User
from tests.conftest import DEMO_PASSWORD
from tests.web.conftest import post_form, sign_in


@pytest.fixture
def admin(signed_in):
    return signed_in("township.admin")


@pytest.fixture
def doctor_id(users) -> int:
    return users["township.doctor"].id


def _account(app, username: str) -> User | None:
    with app.extensions["referral"].database.session() as s:
        return s.scalars(select(User).where(User.username == username)).first()


@pytest.mark.parametrize("form", [{}, {"active": "abc"}, {"active": ""}, {"active": "false"}, {"active": "00"}])
def test_an_active_flag_that_is_neither_0_nor_1_changes_nothing(app, admin, doctor_id, form):
    r = post_form(admin, f"/admin/users/{doctor_id}/active", form, token_from=f"/admin/users/{doctor_id}")
    assert r.status_code == 400
    assert _account(app, "township.doctor").active
    assert sign_in(app.test_client(), "township.doctor").status_code == 302


def test_0_deactivates_and_1_reactivates(app, admin, doctor_id):
    page = f"/admin/users/{doctor_id}"
    assert post_form(admin, f"{page}/active", {"active": "0"}, token_from=page).status_code == 302
    assert not _account(app, "township.doctor").active
    assert post_form(admin, f"{page}/active", {"active": "1"}, token_from=page).status_code == 302
    assert _account(app, "township.doctor").active


def test_a_password_longer_than_sign_in_takes_is_refused(app, admin, doctor_id):
    page = f"/admin/users/{doctor_id}"
    r = post_form(admin, f"{page}/password", {"password": "p" * 254}, token_from=page)
    assert r.status_code == 422 and "最多 200 个字符。" in r.get_data(as_text=True)
    assert sign_in(app.test_client(), "township.doctor").status_code == 302  # the old password still works
    r = post_form(admin, f"{page}/password", {"password": "p" * 200}, token_from=page)
    assert r.status_code == 302
    assert sign_in(app.test_client(), "township.doctor", "p" * 200).status_code == 302


@pytest.mark.parametrize("fields,message", [
    ({"display_name": "名" * 100_000}, "最多 100 个字符。"),
    ({"title": "职" * 100_000}, "最多 60 个字符。"),
    ({"display_name": "王\x00医生"}, "含有控制字符"),
    ({"title": "主治\u202e医师"}, "含有控制字符"),
])
def test_a_new_account_with_a_name_or_title_that_does_not_fit_is_refused(app, admin, users, fields, message):
    form = {"username": "new.doctor", "password": "new-pass-2026", "display_name": "王医生", "title": "医师",
            "facility_id": str(users["township.doctor"].facility_id), "roles": "doctor", **fields}
    r = post_form(admin, "/admin/users/new", form)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and message in html, html[:2000]
    assert _account(app, "new.doctor") is None


@pytest.mark.parametrize("fields,message", [
    ({"display_name": "名" * 101}, "最多 100 个字符。"),
    ({"title": "职" * 100_000}, "最多 60 个字符。"),
    ({"display_name": "王\x00医生"}, "含有控制字符"),
])
def test_an_edit_with_a_name_or_title_that_does_not_fit_is_refused(app, admin, doctor_id, users, fields, message):
    before = users["township.doctor"].display_name
    page = f"/admin/users/{doctor_id}"
    r = post_form(admin, page, {"display_name": "王医生", "title": "医师", "roles": "doctor", **fields})
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert _account(app, "township.doctor").display_name == before


def test_a_search_with_a_control_character_finds_no_one(admin):
    r = admin.get("/admin/users?q=%00")
    assert r.status_code == 200
    assert admin.get("/admin/users?q=township").status_code == 200


def test_ones_own_new_password_is_held_to_the_same_maximum(signed_in, app):
    doctor = signed_in("township.doctor")
    r = post_form(doctor, "/account/password", {"current_password": DEMO_PASSWORD, "new_password": "p" * 201,
                                                "confirm_password": "p" * 201})
    assert r.status_code == 422 and "最多 200 个字符。" in r.get_data(as_text=True)
    assert sign_in(app.test_client(), "township.doctor").status_code == 302

"""The case pages: writing a case, its page, the workflow actions, and who may see what."""

from __future__ import annotations

import re

import pytest
from jinja2 import Undefined
from jinja2.utils import missing

from .conftest import csrf_token, post_form

NEW_CASE = {
    "patient_choice": "new", "patient_name": "周春花", "patient_sex": "female", "patient_birth_date": "1961-04-09",
    "patient_id_number": "420322196104090021", "patient_phone": "13800000000",
    "urgency": "urgent", "specialty": "cardiology", "chief_complaint": "胸闷3天",
    "clinical_question": "是否为急性冠脉综合征？", "history": "高血压10年",
    "heart_rate": "96", "bp_systolic": "160", "bp_diastolic": "95",
    "dx_code": "I20.0", "dx_name": "不稳定型心绞痛",
}


def _case_id(response) -> int:
    match = re.search(r"/cases/(\d+)$", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


def _version(html: str, action: str) -> str:
    form = html[html.index(f"/actions/{action}"):]
    return re.search(r'name="version" value="(\d+)"', form).group(1)


def test_new_case_form_has_a_label_for_every_input(signed_in):
    page = signed_in("village.doctor").get("/cases/new").get_data(as_text=True)
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', page))
    assert ids and not [i for i in ids if i not in labelled]
    # Inputs without an id (radios, checkboxes) sit inside their label.
    for tag in re.findall(r'<input[^>]*type="(?:radio|checkbox)"[^>]*>', page):
        assert 'id="' not in tag


def test_validation_errors_keep_what_the_doctor_typed(signed_in):
    client = signed_in("village.doctor")
    data = {**NEW_CASE, "chief_complaint": "", "heart_rate": "999", "patient_id_number": "12345", "intent": "submit"}
    r = post_form(client, "/cases/new", data)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "必填" in page  # chief complaint
    assert "不能大于 300" in page  # heart rate
    assert "应为18位" in page  # ID number
    for kept in ("周春花", "是否为急性冠脉综合征？", "高血压10年", 'value="999"', 'value="12345"', 'value="I20.0"'):
        assert kept in page
    assert 'value="urgent" checked' in page
    assert client.get("/").get_data(as_text=True).count("周春花") == 0  # nothing was saved


def test_a_mistyped_id_number_is_told_in_chinese_and_kept_for_correcting(signed_in):
    client = signed_in("village.doctor")
    data = {**NEW_CASE, "patient_id_number": "420322196104090012", "intent": "submit"}  # two digits swapped
    r = post_form(client, "/cases/new", data)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "校验位不符" in page and 'value="420322196104090012"' in page
    r = post_form(client, "/cases/new", {**data, "patient_birth_date": "1961-09-04",
                                         "patient_id_number": "420322196104090021"})
    assert r.status_code == 422 and "与填写的出生日期不符" in r.get_data(as_text=True)


def test_save_draft_then_submit_from_the_case_page(signed_in):
    client = signed_in("village.doctor")
    r = post_form(client, "/cases/new", {**NEW_CASE, "intent": "save"})
    assert r.status_code == 302
    case_id = _case_id(r)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "草稿" in page and "周春花" in page
    assert "420322********0021" in page and "420322196104090021" not in page  # ID masked
    assert "I20.0" in page
    r = post_form(client, f"/cases/{case_id}/actions/submit", {"version": _version(page, "submit")},
                  token_from=f"/cases/{case_id}")
    assert r.status_code == 302
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "待接诊" in page and "郧西县城关镇卫生院" in page


def test_submit_directly_and_the_specialist_sees_it_in_the_queue(signed_in):
    doctor = signed_in("village.doctor")
    r = post_form(doctor, "/cases/new", {**NEW_CASE, "intent": "submit"})
    case_id = _case_id(r)
    queue = signed_in("township.specialist").get("/").get_data(as_text=True)
    assert f"/cases/{case_id}" in queue
    page = doctor.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "96 次/分" in page and "/min" not in page  # units as Chinese writes them
    # A refused action leaves its address in the address bar; reloading it shows the case again.
    reloaded = doctor.get(f"/cases/{case_id}/actions/request_info")
    assert reloaded.status_code == 302 and reloaded.headers["Location"].endswith(f"/cases/{case_id}")


def test_edit_a_draft(signed_in):
    client = signed_in("village.doctor")
    case_id = _case_id(post_form(client, "/cases/new", {**NEW_CASE, "intent": "save"}))
    form = client.get(f"/cases/{case_id}/edit").get_data(as_text=True)
    assert "胸闷3天" in form
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    data = {**NEW_CASE, "patient_choice": re.search(r'name="patient_choice" value="(\d+)" checked', form).group(1),
            "chief_complaint": "胸闷5天", "version": version, "intent": "save"}
    r = post_form(client, f"/cases/{case_id}/edit", data)
    assert r.status_code == 302
    assert "胸闷5天" in client.get(f"/cases/{case_id}").get_data(as_text=True)
    data["version"] = version  # stale now
    r = post_form(client, f"/cases/{case_id}/edit", data)
    assert r.status_code == 409
    assert "他人已更改" in r.get_data(as_text=True)


def test_no_js_diagnosis_search_and_patient_search(signed_in):
    client = signed_in("village.doctor")
    r = post_form(client, "/cases/new", {**NEW_CASE, "dx_q": "高血压", "intent": "search_dx"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'name="add_dx" value="I10"' in page and "胸闷3天" in page
    r = post_form(client, "/cases/new", {**NEW_CASE, "add_dx": "I10"}, token_from="/cases/new")
    page = r.get_data(as_text=True)
    assert 'name="dx_code" value="I10"' in page and 'name="dx_code" value="I20.0"' in page
    # A patient the clinic registered before (seeded), found by name.
    r = post_form(client, "/cases/new", {**NEW_CASE, "patient_q": "陈", "intent": "search_patient"})
    page = r.get_data(as_text=True)
    assert re.search(r'name="patient_choice" value="\d+"', page)


def test_lookup_endpoints(signed_in):
    client = signed_in("village.doctor")
    items = client.get("/lookup/icd10?q=i10").get_json()["items"]
    assert items[0]["code"] == "I10" and items[0]["name"] == "原发性高血压"
    items = client.get("/lookup/icd10?q=pneumonia").get_json()["items"]
    assert any(i["code"] == "J18.9" for i in items)
    found = client.get("/lookup/patients?q=陈").get_json()["items"]
    assert found and all("*" in (p["id_number"] or "*") for p in found)
    # A specialist has no patients to pick from.
    assert signed_in("township.specialist").get("/lookup/patients?q=陈").status_code == 403


def test_out_of_scope_case_is_404(signed_in, users):
    doctor = signed_in("village.doctor")
    case_id = _case_id(post_form(doctor, "/cases/new", {**NEW_CASE, "intent": "submit"}))
    other = signed_in("village.doctor2")
    assert other.get(f"/cases/{case_id}").status_code == 404
    assert other.get(f"/cases/{case_id}/edit").status_code in (403, 404)
    token = csrf_token(other.get("/").data)
    r = other.post(f"/cases/{case_id}/actions/cancel", data={"csrf_token": token})
    assert r.status_code == 404
    assert "页面不存在" in r.get_data(as_text=True)
    assert signed_in("township.specialist2").get(f"/cases/{case_id}").status_code == 404
    assert doctor.get("/cases/999999").status_code == 404


def test_only_the_allowed_actions_are_offered(signed_in):
    doctor = signed_in("village.doctor")
    case_id = _case_id(post_form(doctor, "/cases/new", {**NEW_CASE, "intent": "submit"}))
    page = doctor.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"/cases/{case_id}/actions/cancel" in page
    assert "/actions/claim" not in page and "/actions/issue_advice" not in page
    specialist = signed_in("township.specialist")
    page = specialist.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "/actions/claim" in page and "/actions/decline" in page and "/actions/cancel" not in page


def test_stale_page_gets_a_clear_conflict_message(signed_in):
    doctor = signed_in("village.doctor")
    case_id = _case_id(post_form(doctor, "/cases/new", {**NEW_CASE, "intent": "submit"}))
    one, two = signed_in("township.specialist"), signed_in("township.specialist")
    page = one.get(f"/cases/{case_id}").get_data(as_text=True)
    version = _version(page, "claim")
    token = csrf_token(page)
    assert one.post(f"/cases/{case_id}/actions/claim", data={"version": version, "csrf_token": token}).status_code == 302
    token2 = csrf_token(two.get("/").data)
    r = two.post(f"/cases/{case_id}/actions/claim", data={"version": version, "csrf_token": token2})
    assert r.status_code == 409
    assert "他人已更改了此病例" in r.get_data(as_text=True)


def test_action_errors_keep_the_text_and_advice_needs_the_password(signed_in):
    doctor = signed_in("village.doctor")
    case_id = _case_id(post_form(doctor, "/cases/new", {**NEW_CASE, "intent": "submit"}))
    specialist = signed_in("township.specialist")
    page = specialist.get(f"/cases/{case_id}").get_data(as_text=True)
    post_form(specialist, f"/cases/{case_id}/actions/claim", {"version": _version(page, "claim")},
              token_from=f"/cases/{case_id}")
    page = specialist.get(f"/cases/{case_id}").get_data(as_text=True)
    advice = {"version": _version(page, "issue_advice"), "assessment": "考虑不稳定型心绞痛",
              "disposition": "urgent_transfer", "recommendations": "阿司匹林300mg嚼服", "password": "wrong-password"}
    r = post_form(specialist, f"/cases/{case_id}/actions/issue_advice", advice, token_from=f"/cases/{case_id}")
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert "密码不正确" in text and "考虑不稳定型心绞痛" in text and "阿司匹林300mg嚼服" in text
    assert "wrong-password" not in text
    from tests.conftest import DEMO_PASSWORD

    r = post_form(specialist, f"/cases/{case_id}/actions/issue_advice", {**advice, "password": DEMO_PASSWORD},
                  token_from=f"/cases/{case_id}")
    assert r.status_code == 302
    page = doctor.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已出具意见" in page and "/actions/close" in page and "/actions/follow_up" in page


def test_request_info_then_provide_info(signed_in):
    doctor = signed_in("village.doctor")
    case_id = _case_id(post_form(doctor, "/cases/new", {**NEW_CASE, "intent": "submit"}))
    specialist = signed_in("township.specialist")
    page = specialist.get(f"/cases/{case_id}").get_data(as_text=True)
    post_form(specialist, f"/cases/{case_id}/actions/claim", {"version": _version(page, "claim")},
              token_from=f"/cases/{case_id}")
    page = specialist.get(f"/cases/{case_id}").get_data(as_text=True)
    r = post_form(specialist, f"/cases/{case_id}/actions/request_info",
                  {"version": _version(page, "request_info"), "message": ""}, token_from=f"/cases/{case_id}")
    assert r.status_code == 422 and "必填" in r.get_data(as_text=True)
    r = post_form(specialist, f"/cases/{case_id}/actions/request_info",
                  {"version": _version(page, "request_info"), "message": "请补充心电图"}, token_from=f"/cases/{case_id}")
    assert r.status_code == 302
    home = doctor.get("/").get_data(as_text=True)
    assert "上级医生请求补充资料" in home
    page = doctor.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "请补充心电图" in page
    r = post_form(doctor, f"/cases/{case_id}/actions/provide_info",
                  {"version": _version(page, "provide_info"), "message": "心电图：ST段压低"}, token_from=f"/cases/{case_id}")
    assert r.status_code == 302
    assert "心电图：ST段压低" in specialist.get(f"/cases/{case_id}").get_data(as_text=True)


def test_admin_pages_are_for_admins_of_the_jurisdiction(signed_in, users):
    assert signed_in("village.doctor").get("/admin/users").status_code == 403
    admin = signed_in("township.admin")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "village.doctor" in page and "county.specialist" not in page
    assert admin.get(f"/admin/users/{users['county.specialist'].id}").status_code == 404
    tree = admin.get("/admin/facilities").get_data(as_text=True)
    assert "城关镇卫生院" in tree and "土门镇卫生院" not in tree
    county = signed_in("county.admin")
    tree = county.get("/").get_data(as_text=True)
    assert "土门镇卫生院" in tree and "/reports" in tree and "华中科技大学同济医学院附属协和医院" in tree
    rules = county.get("/admin/rules").get_data(as_text=True)
    assert "村卫生室转所属乡镇卫生院" in rules and "30 分钟" in rules


def test_admin_creates_an_account_who_can_sign_in(app, signed_in):
    admin = signed_in("township.admin")
    form = admin.get("/admin/users/new").get_data(as_text=True)
    facility = re.search(r'<option value="(\d+)"[^>]*>[^<]*村卫生室', form)
    data = [("username", "new.doctor"), ("password", "short"), ("display_name", "新医生"),
            ("facility_id", facility.group(1)), ("roles", "doctor")]
    r = post_form(admin, "/admin/users/new", data)
    assert r.status_code == 422 and "至少8个字符" in r.get_data(as_text=True) and "新医生" in r.get_data(as_text=True)
    data[1] = ("password", "welcome-2026")
    r = post_form(admin, "/admin/users/new", data)
    assert r.status_code == 302
    from .conftest import sign_in

    assert sign_in(app.test_client(), "new.doctor", password="welcome-2026").status_code == 302
    data[0] = ("username", "sneaky.specialist")
    data[4] = ("roles", "specialist")
    r = post_form(admin, "/admin/users/new", data)
    assert r.status_code == 422 and "至少需要一个专科" in r.get_data(as_text=True)


def test_error_pages_are_in_the_users_language(signed_in, client):
    assert "未找到" in client.get("/no-such-page").get_data(as_text=True)
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"  # the API keeps JSON
    admin_page = signed_in("village.doctor").get("/admin/users")
    assert admin_page.status_code == 403 and "无权访问" in admin_page.get_data(as_text=True)


def test_static_files_are_versioned_and_cached(signed_in):
    client = signed_in("village.doctor")
    page = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]+)"', page).group(1)
    r = client.get(css)
    assert r.status_code == 200 and "immutable" in r.headers["Cache-Control"]
    assert "no-store" in client.get("/").headers["Cache-Control"]
    assert "default-src 'self'" in client.get("/").headers["Content-Security-Policy"]


def test_the_case_page_records_each_read_in_the_audit_trail(signed_in, users, database):
    """One view of the case page: the case, its timeline, messages and advice were read, by whom, from where."""
    from sqlalchemy import select

    from referral.models import AuditEntry

    doctor = signed_in("village.doctor")
    case_id = _case_id(post_form(doctor, "/cases/new", {**NEW_CASE, "intent": "submit"}))
    specialist = signed_in("township.specialist")
    assert specialist.get(f"/cases/{case_id}").status_code == 200
    with database.session() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.case_id == case_id,
                                                   AuditEntry.actor_id == users["township.specialist"].id)).all()
    assert sorted(a.action for a in reads) == ["case.advice.read", "case.events.read", "case.messages.read",
                                               "case.read"]
    assert {a.ip for a in reads} == {"127.0.0.1"}
    assert specialist.get("/cases/999999").status_code == 404


def test_numbers_in_forms_and_links_that_are_not_plain_digits_get_a_page_not_a_crash(signed_in):
    """"²" is a digit to Python's str.isdigit but no number: every form and link treats it as absent."""
    doctor = signed_in("village.doctor")
    assert doctor.get("/?page=²").status_code == 200
    r = post_form(doctor, "/cases/new", {**NEW_CASE, "remove_dx": "²"})
    assert r.status_code == 200 and 'value="I20.0"' in r.get_data(as_text=True)  # the form again, the diagnosis kept
    r = post_form(doctor, "/cases/new", {**NEW_CASE, "patient_choice": "²", "intent": "save"})
    assert r.status_code == 302  # a new patient from the typed fields
    case_id = _case_id(r)
    page = doctor.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "周春花" in page and "I20.0" in page
    r = post_form(doctor, f"/cases/{case_id}/actions/submit", {"version": "²"}, token_from=f"/cases/{case_id}")
    assert r.status_code < 500
    admin = signed_in("county.admin")
    assert admin.get("/admin/users?facility=²").status_code == 200


class _MissingAttributeIsAnError(Undefined):
    """Undefined names stay falsy (templates test optional context with `if`), but an
    attribute a template reads from a real object must exist."""

    __slots__ = ()

    def _check(self) -> None:
        if self._undefined_obj is not missing:
            raise AssertionError(f"{type(self._undefined_obj).__name__} has no {self._undefined_name!r}")

    def __str__(self) -> str:
        self._check()
        return ""

    def __bool__(self) -> bool:
        self._check()
        return False

    def __iter__(self):
        self._check()
        return iter(())


def test_every_case_page_finds_every_fact_it_shows(app, signed_in):
    """The case page reads the case as plain rows: each attribute a template uses is there,
    for every demo case and every kind of reader."""
    app.jinja_env.undefined = _MissingAttributeIsAnError
    app.jinja_env.cache.clear()
    try:
        with pytest.raises(AssertionError):
            app.jinja_env.from_string("{{ case.nothing_here }}").render(case=object())
        shown = 0
        for username in ("village.doctor", "township.specialist", "county.specialist", "province.expert", "county.admin"):
            client = signed_in(username)
            for case_id in range(1, 60):
                r = client.get(f"/cases/{case_id}")
                assert r.status_code in (200, 404), (username, case_id, r.status_code)
                shown += r.status_code == 200
        assert shown > 60
    finally:
        app.jinja_env.undefined = Undefined
        app.jinja_env.cache.clear()

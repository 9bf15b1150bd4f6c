"""Cases: write a new one (or edit a draft), read one, and take the workflow actions it allows."""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from jinja2 import TemplateNotFound
from werkzeug.datastructures import MultiDict

from ..domain import icd10
from ..domain.errors import DomainError, NotFound, ValidationFailed
from ..domain.privacy import mask_id_number
from ..domain.specialties import all_specialties
from ..domain.vocabulary import Role
from ..domain.workflow import Action
from ..runtime import db_session
from ..services import cases as case_service
from ..services import drafts as draft_service
from ..services import patients as patient_service
from ..services.access import visible_case_ref
from ..services.case_record import read_case_record
from ..services.inputs import ICD10 as ICD10_CODE
from ..services.inputs import CaseIn
from ..services.inputs import small_int
from . import forms
from .blueprint import bp
from .i18n import current_locale, label
from .session import me
from .timeline import coalesce_uploads

INTENTS = ("search_patient", "search_dx", "add_dx", "remove_dx", "save", "submit")


def _require_doctor() -> None:
    if Role.DOCTOR.value not in (me().roles or ()):
        abort(403)


def _ip() -> str:
    return request.remote_addr or ""


# ------------------------------------------------------------------ look-ups (JSON for the form's script)


@bp.get("/lookup/icd10")
@login_required
def icd10_search():
    """The curated ICD-10 list, searched by code or name (the new-case and advice forms use it)."""
    locale = current_locale()
    found = icd10.search(request.args.get("q", "")[:50], limit=12)
    return jsonify(items=[{"code": e.code, "name": e.name(locale), "zh": e.zh, "en": e.en} for e in found])


@bp.get("/lookup/patients")
@login_required
def patient_search():
    """Patients of the doctor's facility by name or ID number (shown masked)."""
    _require_doctor()
    found = patient_service.search_patients(db_session(), me(), request.args.get("q", "")[:100], ip=_ip())
    return jsonify(items=[_patient_json(p) for p in found])


def _patient_json(p) -> dict:
    return {"id": p.id, "name": p.name, "sex": p.sex, "birth_date": p.birth_date.isoformat() if p.birth_date else None,
            "id_number": mask_id_number(p.id_number)}


# ------------------------------------------------------------------ new case and draft editing


def _form_context(values: MultiDict, errors: dict, *, case=None, message: str | None = None) -> dict:
    """Everything the case form needs to show again exactly what the user typed."""
    user = me()
    session = db_session()
    locale = current_locale()
    intent = values.get("intent")
    patients, patient_query = [], values.get("patient_q", "").strip()
    if patient_query and intent == "search_patient":
        patients = patient_service.search_patients(session, user, patient_query, ip=_ip())
    chosen = None
    choice = values.get("patient_choice", "")
    if (choice_id := small_int(choice)) is not None:
        try:
            chosen = patient_service.patient_of_facility(session, user, choice_id)
        except NotFound:
            errors.setdefault("patient", _("Choose an existing patient or enter a new one."))
    if chosen is not None and all(p.id != chosen.id for p in patients):
        patients = [chosen, *patients]
    dx_query = values.get("dx_q", "").strip()
    dx_results = icd10.search(dx_query) if dx_query and intent == "search_dx" else []
    free = dx_query.upper()
    dx_free_code = free if ICD10_CODE.match(free) and all(e.code != free for e in dx_results) else None
    return {
        "values": values, "errors": errors, "case": case, "message": message,
        "patients": patients, "patient_query": patient_query, "patient_searched": intent == "search_patient",
        "dx_rows": forms.diagnoses_from(values, locale), "dx_results": dx_results, "dx_query": dx_query,
        "dx_searched": intent == "search_dx", "dx_free_code": dx_free_code, "specialties": all_specialties(), "mask": mask_id_number,
    }


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new_case():
    _require_doctor()
    if request.method == "GET":
        values = MultiDict({"urgency": "routine", "specialty": "general_practice", "patient_choice": "new"})
        return render_template("cases/form.html", **_form_context(values, {}))
    return _save_case_form(None)


@bp.route("/cases/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit_case(case_id: int):
    _require_doctor()
    case = case_service.read_case(db_session(), me(), case_id, ip=_ip())
    if case.status != "draft" or case.author_id != me().id:
        flash(_("Only a draft can be edited, by its author."), "warning")
        return redirect(url_for("web.case_page", case_id=case.id))
    if request.method == "GET":
        return render_template("cases/form.html", **_form_context(forms.case_form_values(case), {}, case=case))
    return _save_case_form(case)


def _save_case_form(case):
    """Save a draft (new or edited) and, when asked, submit it; on errors show the form again."""
    values = request.form.copy()
    intent = values.get("intent") or "save"
    if values.get("add_dx"):
        intent = "add_dx"
    if values.get("remove_dx"):
        intent = "remove_dx"
    values["intent"] = intent
    if intent not in ("save", "submit"):
        # A search or a change of the diagnosis list: show the form again, nothing saved.
        if intent in ("add_dx", "remove_dx"):
            rows = forms.diagnoses_from(values, current_locale())
            for key in ("dx_code", "dx_name", "add_dx", "remove_dx"):
                values.poplist(key)
            for row in rows:
                values.add("dx_code", row["code"])
                values.add("dx_name", row["name"])
        return render_template("cases/form.html", **_form_context(values, {}, case=case))
    data = forms.case_data(values, current_locale())
    parsed, errors = forms.validate(CaseIn, data)
    if parsed is None:
        return render_template("cases/form.html", **_form_context(
            values, errors, case=case, message=_("Some fields are missing or invalid; see the marked fields."))), 422
    session = db_session()
    user = me()
    try:
        if case is None:
            case = case_service.create_draft(session, user, parsed)
        else:
            version = values.get("version", "")
            case = draft_service.update_draft(session, user, case.id, parsed,
                                              version=small_int(version))
    except ValidationFailed as exc:
        return render_template("cases/form.html", **_form_context(
            values, forms.translate_fields(exc.fields), case=case, message=forms.domain_message(exc))), 422
    except DomainError as exc:
        if exc.code == "not_found" and case is None:
            raise
        return render_template("cases/form.html", **_form_context(
            values, {}, case=case, message=forms.domain_message(exc))), exc.status
    if intent == "submit":
        try:
            case = case_service.perform_action(session, user, case.id, "submit", {}, version=case.version)
        except DomainError as exc:
            flash(_("The draft was saved but could not be submitted: %(why)s", why=forms.domain_message(exc)), "error")
            return redirect(url_for("web.case_page", case_id=case.id))
        flash(_("Case %(ref)s submitted.", ref=case.reference), "success")
    else:
        flash(_("Draft %(ref)s saved.", ref=case.reference), "success")
    return redirect(url_for("web.case_page", case_id=case.id))


# ------------------------------------------------------------------ the case page


def _partial_exists(name: str) -> bool:
    try:
        current_app.jinja_env.get_template(name)
    except TemplateNotFound:
        return False
    return True


def _case_page(case_id: int, *, status: int = 200, action_errors: dict | None = None, open_action: str | None = None,
               action_values: MultiDict | None = None, message: str | None = None):
    user = me()
    record = read_case_record(db_session(), user, case_id, ip=_ip())
    case = record.case
    allowed = case_service.allowed_actions(case, user)
    return render_template(
        "cases/show.html", case=case, events=coalesce_uploads(record.events), messages=record.messages,
        advice=record.advice,
        allowed_actions=allowed,
        patient_id_masked=mask_id_number(case.patient.id_number), specialties=all_specialties(),
        action_errors=action_errors or {}, open_action=open_action, action_values=action_values or MultiDict(),
        message=message, has_advice_partial=_partial_exists("advice/_advice.html"),
    ), status


@bp.get("/cases/<int:case_id>")
@login_required
def case_page(case_id: int):
    return _case_page(case_id)


@bp.get("/cases/<int:case_id>/actions/<action>")
@login_required
def act_page(case_id: int, action: str):
    """After a refused action the address bar shows the action's address; reloading it (a GET) shows
    the case, not a 'method not allowed' page (a case out of the reader's scope stays a 404)."""
    visible_case_ref(db_session(), me(), case_id)
    return redirect(url_for("web.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/actions/<action>")
@login_required
def act(case_id: int, action: str):
    """One workflow action, against the version of the case the page showed."""
    if action not in set(Action):
        abort(404)
    version_raw = request.form.get("version", "")
    version = small_int(version_raw)
    data = forms.action_data(action, request.form)
    errors = forms.validate_action(action, data)
    values = request.form.copy()
    values.poplist("password")
    if errors:
        return _case_page(case_id, status=422, action_errors=errors, open_action=action, action_values=values,
                          message=_("Some fields are missing or invalid; see the marked fields."))
    try:
        case = case_service.perform_action(db_session(), me(), case_id, action, data, version=version)
    except ValidationFailed as exc:
        fields = {k.removeprefix("advice."): v for k, v in forms.translate_fields(exc.fields).items()}
        return _case_page(case_id, status=422, action_errors=fields, open_action=action, action_values=values,
                          message=forms.domain_message(exc))
    except NotFound:
        raise
    except DomainError as exc:
        return _case_page(case_id, status=exc.status, open_action=action, action_values=values,
                          message=forms.domain_message(exc))
    flash(_("Done: %(action)s.", action=label("action", action)), "success")
    return redirect(url_for("web.case_page", case_id=case.id))

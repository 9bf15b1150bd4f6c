"""Pages of the advice feature: the structured advice form, PDF download and print, the
public verification page. Thin adapters: parse the form, call one service, render.

`init_app` wires the blueprint, the PDF store of the app's sessions and the
feature's translations into an application.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from ..domain import icd10
from ..domain.errors import DomainError, NotFound, ValidationFailed
from ..domain.workflow import Action
from ..runtime import db_session, runtime
from ..services import cases as case_service
from ..web import forms
from ..web.blueprint import page_headers
from ..web.i18n import add_catalog, label
from ..web.session import me
from ..services.inputs import small_int
from . import service
from .document import format_code
from .storage import PdfStore, bind_pdf_store

log = logging.getLogger(__name__)
bp = Blueprint("advice", __name__)

DISPOSITIONS = ("manage_locally", "follow_up_township", "outpatient_higher", "urgent_transfer")
RECOMMENDATION_KINDS = ("medication", "investigation", "treatment", "other")
MIN_DIAGNOSIS_ROWS, MIN_RECOMMENDATION_ROWS, MAX_ROWS = 3, 4, 20
MAX_CHECKED_PDF_BYTES = 20 * 1024 * 1024
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def init_app(app: Flask) -> None:
    """Register the pages, bind the PDF store to the app's sessions, add the translations.

    The store's public address (printed in QR codes) is `Settings.public_url`
    (REFERRAL_PUBLIC_URL). It is never taken from a request: a Host header is the
    client's to forge, and a QR code pointing elsewhere could "verify" a forged PDF.
    Without it a QR code holds the path `/verify/<code>` only.
    """
    settings = app.extensions["referral"].settings
    store = PdfStore(Path(settings.data_dir), settings.public_url)
    bind_pdf_store(app.extensions["referral"].database.sessionmaker, store)
    app.extensions["referral.advice.store"] = store
    add_catalog(app, TRANSLATIONS)
    app.register_blueprint(bp)

    if store.public_url is None:
        log.warning("REFERRAL_PUBLIC_URL is not set: advice QR codes will hold the path /verify/<code> only")


def _ip() -> str:
    return request.remote_addr or ""


bp.after_request(page_headers)


# ------------------------------------------------------------------ the advice form


@bp.route("/cases/<int:case_id>/advice/new", methods=["GET", "POST"])
@login_required
def new_advice(case_id: int):
    """The structured advice form; signing re-asks the specialist's password."""
    session, user = db_session(), me()
    if request.method == "GET":
        form = service.advice_form(session, user, case_id, ip=_ip())
        return _form_page(form, _values_from(form), {})
    values = request.form.copy()
    values.poplist("password")
    intent = request.form.get("intent", "sign")
    if intent in ("more_diagnoses", "more_recommendations"):
        return _form_page(service.advice_form(session, user, case_id, ip=_ip()), values, {}, extra=intent)
    version_raw = request.form.get("version", "")
    try:
        case_service.perform_action(session, user, case_id, Action.ISSUE_ADVICE.value, advice_data(request.form),
                                    version=small_int(version_raw))
    except NotFound:
        raise
    except DomainError as exc:
        # Shown again with what was typed (the form refuses, with 403, whoever may no longer sign).
        form = service.advice_form(session, user, case_id, ip=_ip())
        errors = form_errors(exc.fields) if isinstance(exc, ValidationFailed) else {}
        if exc.code == "conflict":
            values["version"] = str(form.case.version)  # the message says what happened; signing again is allowed
        return _form_page(form, values, errors, message=_message(exc)), exc.status
    flash(_("The advice is signed and sent. The doctor can print it from the case page."), "success")
    return redirect(f"/cases/{case_id}#advice")


def _message(exc: DomainError) -> str:
    if exc.code == "render_failed":
        return _("The PDF could not be produced, so the advice was not issued (%(why)s). Shorten very long text "
                 "or remove key images, then sign again.", why=exc.message)
    if isinstance(exc, ValidationFailed):
        if exc.fields.get("password") == "the password does not match":  # the only check left once the rest is right
            return _("The password does not match; the advice was not signed.")
        return _("Some fields are missing or invalid; see the marked fields.")
    return forms.domain_message(exc)


def form_errors(fields: dict[str, str]) -> dict[str, str]:
    """Service field errors, worded for the form (keys are already the rows' paths, e.g.
    `advice.recommendations.1.text`: services.inputs.parse drops the union's other arm)."""
    keyed = fields
    ours = {
        "not an image of this case's studies": _("Not an image of this case's studies."),
        "a key image is listed twice": _("An image is chosen twice."),
    }
    return {k: ours.get(v) or forms.translate_fields({k: v})[k] for k, v in keyed.items()}


def advice_data(form: MultiDict) -> dict[str, Any]:
    """The `issue_advice` fields (services.inputs.IssueAdviceIn) from the form; blank rows are dropped."""
    diagnoses = []
    for code, name in zip(form.getlist("dx_code"), form.getlist("dx_name"), strict=False):
        code = code.strip().upper()
        if code:
            entry = icd10.lookup(code)
            diagnoses.append({"code": code, "name": name.strip() or (entry.zh if entry else "")})
    recommendations = []
    rows = zip(form.getlist("rec_kind"), form.getlist("rec_text"), form.getlist("rec_dose"),
               form.getlist("rec_duration"), strict=False)
    for kind, text, dose, duration in rows:
        if text.strip() or dose.strip() or duration.strip():
            recommendations.append({"kind": kind if kind in RECOMMENDATION_KINDS else "other", "text": text.strip(),
                                    "dose": dose.strip(), "duration": duration.strip()})
    advice = {
        "assessment": (form.get("assessment") or "").strip(),
        "diagnoses": diagnoses,
        "recommendations": recommendations,
        "disposition": (form.get("disposition") or "").strip(),
        "follow_up": (form.get("follow_up") or "").strip(),
        "warning_signs": (form.get("warning_signs") or "").strip(),
        "key_images": [ref for ref in form.getlist("key_images") if ref.strip()],
    }
    return {"advice": advice, "password": form.get("password") or ""}


def _values_from(form: service.AdviceForm) -> MultiDict:
    """A new form, or the previous version's content when amending."""
    values = MultiDict({"version": str(form.case.version)})
    content = form.previous.content if form.previous is not None else {}
    for key in ("assessment", "disposition", "follow_up", "warning_signs"):
        values[key] = content.get(key, "")
    for d in content.get("diagnoses") or []:
        values.add("dx_code", d.get("code", ""))
        values.add("dx_name", d.get("name", ""))
    recs = content.get("recommendations")
    if isinstance(recs, str) and recs:
        recs = [{"kind": "other", "text": recs}]
    for r in recs or []:
        values.add("rec_kind", r.get("kind", "other"))
        values.add("rec_text", r.get("text", ""))
        values.add("rec_dose", r.get("dose", ""))
        values.add("rec_duration", r.get("duration", ""))
    for ref in content.get("key_images") or []:
        values.add("key_images", ref)
    return values


def _rows(values: MultiDict, names: tuple[str, ...], minimum: int, more: bool) -> list[dict]:
    columns = [values.getlist(n) for n in names]
    count = max([len(c) for c in columns] + [0])
    rows = [{n: (col[i] if i < len(col) else "") for n, col in zip(names, columns, strict=True)} for i in range(count)]
    rows = [r for r in rows if any(v.strip() for k, v in r.items() if k != "rec_kind")]
    target = min(MAX_ROWS, max(minimum, len(rows) + 1) + (2 if more else 0))
    rows += [{n: "" for n in names} for _ in range(max(0, target - len(rows)))]
    return rows


def _form_page(form: service.AdviceForm, values: MultiDict, errors: dict, *, message: str | None = None,
               extra: str | None = None):
    return render_template(
        "advice/form.html", case=form.case, previous=form.previous, values=values, errors=errors, message=message,
        dx_rows=_rows(values, ("dx_code", "dx_name"), MIN_DIAGNOSIS_ROWS, extra == "more_diagnoses"),
        rec_rows=_rows(values, ("rec_kind", "rec_text", "rec_dose", "rec_duration"), MIN_RECOMMENDATION_ROWS,
                       extra == "more_recommendations"),
        key_images=form.key_images, chosen_images=set(values.getlist("key_images")),
        disposition_options=[(d, label("disposition", d)) for d in DISPOSITIONS],
        recommendation_kinds=RECOMMENDATION_KINDS, kind_labels=_kind_labels(), icd10_entries=icd10.all_entries(),
    )


def _kind_labels() -> dict[str, str]:
    return {"medication": _("Medication"), "investigation": _("Investigation"), "treatment": _("Treatment"),
            "other": _("Other")}


@bp.get("/cases/<int:case_id>/advice/key-image")
@login_required
def key_image(case_id: int):
    """A thumbnail of a frame of the case's studies, for choosing key images."""
    image = service.key_image_thumbnail(db_session(), me(), case_id, request.args.get("ref", ""),
                                        runtime().settings.data_dir, ip=_ip())
    return Response(image, mimetype="image/jpeg")


# ------------------------------------------------------------------ PDF download and print


@bp.get("/cases/<int:case_id>/advice/<int:version>.pdf")
@login_required
def pdf(case_id: int, version: int):
    """The signed PDF as stored: shown in the browser to print, or downloaded with ?download=1."""
    found = service.advice_pdf(db_session(), me(), case_id, version, ip=_ip())
    disposition = "attachment" if request.args.get("download") else "inline"
    response = Response(found.data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{found.filename}"'
    response.headers["ETag"] = f'"{found.advice.pdf_sha256}"'
    return response


# ------------------------------------------------------------------ public verification


@bp.get("/verify")
def verify_lookup():
    """The form to type a code printed on a PDF."""
    code = (request.args.get("code") or "").strip()
    if code:
        return redirect(url_for("advice.verify", code=code[:40]))
    return render_template("advice/verify.html", result=None, checked=None, format_code=format_code)


@bp.route("/verify/<code>", methods=["GET", "POST"])
def verify(code: str):
    """Is the advice with this code genuine, and is it the current version? No patient data."""
    result = service.verify_code(db_session(), code[:40])
    checked = None
    status = 200 if result.genuine else 404
    if request.method == "POST":
        if (request.content_length or 0) > MAX_CHECKED_PDF_BYTES + 64 * 1024:
            abort(413)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            checked = "missing"
        else:
            data = upload.stream.read(MAX_CHECKED_PDF_BYTES + 1)
            checked = "too_large" if len(data) > MAX_CHECKED_PDF_BYTES else (
                "match" if service.file_matches(result, data) else "different")
    response = render_template("advice/verify.html", result=result, checked=checked, format_code=format_code)
    return response, status

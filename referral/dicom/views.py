"""Imaging in the browser: the viewer page, the frames and thumbnails it loads, and the
case page's attachment panel (list, upload with resume, patient confirmation, inbox).

Signed in with the login session (the pages' CSRF token on every POST). Every
route reads through the attachment services, which go through
`services.access.visible_case`: a case or study outside the user's scope is 404.
The JSON routes the page scripts call answer errors as JSON, like the API.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from flask import (
    Blueprint, Flask, Response, flash, jsonify, redirect, render_template, request, send_file, url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..domain.errors import DomainError, NotFound, Unauthorized, ValidationFailed
from ..models import User
from ..runtime import db_session
from ..services import attachments as service
from ..services.inputs import small_int
from ..web.blueprint import json_value, page_headers
from ..web.errors import outage_error
from ..web.i18n import label
from . import imaging
from . import uploads as upload_steps
from .intake import ascii_name
from .limits import BATCHING
from .present import attach_result_json, case_attachments_json, inbox_study_json, study_json
from .render import PRESETS, RenderError, RenderRequest
from .safety import display_name, sees_inbox

bp = Blueprint("dicom", __name__)
TRANSLATIONS = Path(__file__).parent / "translations"
THUMBNAIL = 128
# Timeline labels of this feature's events (the web app's label table knows `attachment_added`).
EVENT_LABELS = {"study_mismatch": _l("Patient mismatch in a study"), "study_confirmed": _l("Imaging study confirmed")}


def page_user() -> User:
    """The signed-in user as a model object (the web app's helper when it is there)."""
    try:
        from ..web.session import me
    except ImportError:  # pragma: no cover - the web app is part of the project
        if not getattr(current_user, "is_authenticated", False):
            raise Unauthorized("sign in first") from None
        return db_session().get(User, int(current_user.get_id()))
    return me()


def _ip() -> str:
    return request.remote_addr or ""


def json_errors(view: Callable) -> Callable:
    """The page scripts' routes answer like the API: `{"error", "message", ...}` with the status."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Exception as exc:
            if not isinstance(exc, DomainError) and (exc := outage_error(exc)) is None:
                raise
            db_session().rollback()
            return jsonify(error=exc.code, message=exc.message, **exc.details), exc.status

    return wrapped


bp.after_request(page_headers)


# ---------------------------------------------------------------- the viewer


@bp.get("/cases/<int:case_id>/studies/<study_uid>")
@login_required
def viewer(case_id: int, study_uid: str):
    user = page_user()
    study = service.open_study(db_session(), user, case_id, study_uid, ip=_ip())
    return render_template("dicom/viewer.html", study=study, case_id=case_id,
                           manifest_url=url_for("dicom.manifest", case_id=case_id, study_uid=study_uid),
                           patient_name=display_name(study.patient_name), presets=list(PRESETS))


@bp.get("/cases/<int:case_id>/studies/<study_uid>/manifest.json")
@login_required
@json_errors
def manifest(case_id: int, study_uid: str):
    """What the viewer needs to lay out the study and fetch frames on demand."""
    study = service.case_study(db_session(), page_user(), case_id, study_uid)
    base = f"/cases/{case_id}/studies/{study_uid}"
    return jsonify(
        study_uid=study.study_uid, description=study.description, modalities=study.modalities or [],
        total_bytes=study.total_bytes, instance_count=study.instance_count, safety=study.safety,
        patient={"name": display_name(study.patient_name), "id": study.patient_id, "sex": study.patient_sex,
                 "sex_label": label("sex", study.patient_sex) if study.patient_sex else None,
                 "birth_date": study.patient_birth_date.isoformat() if study.patient_birth_date else None},
        date=study.study_date.isoformat() if study.study_date else None,
        presets={name: {"center": c, "width": w} for name, (c, w) in PRESETS.items()},
        series=[{
            "series_uid": s.series_uid, "modality": s.modality, "number": s.number, "description": s.description,
            "body_part": s.body_part, "thumbnail": f"{base}/series/{s.series_uid}/thumbnail.jpg",
            "images": [{
                "sop_uid": i.sop_uid, "number": i.number, "frames": i.frames, "rows": i.rows, "columns": i.columns,
                "url": f"{base}/instances/{i.sop_uid}/frames/", "download": f"{base}/instances/{i.sop_uid}/dicom",
                "pixel_spacing": i.facts.get("pixel_spacing"), "spacing_source": i.facts.get("spacing_source"),
                "window": i.facts.get("window"), "photometric": i.facts.get("photometric"),
                "slice_location": i.facts.get("slice_location"), "slice_thickness": i.facts.get("slice_thickness"),
                "tags": i.facts.get("tags", {}),
            } for i in s.instances if i.frames],
        } for s in study.series],
    )


def _render_args(frame: int, fmt: str) -> RenderRequest:
    args = request.args
    window = None
    if args.get("wc") and args.get("ww"):
        try:
            window = (float(args["wc"]), float(args["ww"]))
        except ValueError:
            raise ValidationFailed("window center and width are numbers", fields={"wc": args["wc"]}) from None
    try:
        size = int(args["size"]) if args.get("size") else None
        quality = int(args.get("q", 85))
        return RenderRequest(frame=frame, window=window, preset=args.get("preset") or None, size=size,
                             format="png" if fmt == "png" else "jpeg", quality=quality)
    except (ValueError, RenderError) as exc:
        raise ValidationFailed(str(exc), fields={"query": str(exc)}) from None


def _image_response(instance, render_request: RenderRequest) -> Response:
    try:
        rendered = imaging().render(instance.file.sha256, render_request, instance.facts)
    except RenderError as exc:
        raise ValidationFailed(f"this image cannot be shown: {exc}", fields={"frame": str(exc)}) from None
    response = Response(rendered.data, mimetype=render_request.media_type)
    if rendered.window is not None:
        # The viewer starts window/level dragging from the window the image was made with.
        response.headers["X-Window-Center"] = f"{rendered.window[0]:g}"
        response.headers["X-Window-Width"] = f"{rendered.window[1]:g}"
    # A stored file never changes, so neither does its rendering: the browser may keep it (privately).
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/cases/<int:case_id>/studies/<study_uid>/instances/<sop_uid>/frames/<int:frame>.<fmt>")
@login_required
@json_errors
def frame_image(case_id: int, study_uid: str, sop_uid: str, frame: int, fmt: str):
    """One frame (1-based) as JPEG or PNG, with `wc`/`ww` or `preset`, `size` (longest side), `q`."""
    if fmt not in ("jpg", "png"):
        raise NotFound("frames are .jpg or .png")
    instance = service.case_instance(db_session(), page_user(), case_id, study_uid, sop_uid)
    if not 1 <= frame <= instance.frames:
        raise NotFound(f"no such frame; the image has {instance.frames}")
    return _image_response(instance, _render_args(frame - 1, fmt))


@bp.get("/cases/<int:case_id>/studies/<study_uid>/series/<series_uid>/thumbnail.jpg")
@login_required
@json_errors
def thumbnail(case_id: int, study_uid: str, series_uid: str):
    """The middle image of the series, small: what the viewer shows before anything else."""
    series = service.case_series(db_session(), page_user(), case_id, study_uid, series_uid)
    images = [i for i in series.instances if i.frames]
    if not images:
        raise NotFound("this series has no images")
    middle = images[len(images) // 2]
    request_ = RenderRequest(frame=middle.frames // 2, size=THUMBNAIL, quality=75)
    return _image_response(middle, request_)


@bp.get("/cases/<int:case_id>/studies/<study_uid>/instances/<sop_uid>/dicom")
@login_required
def download_instance(case_id: int, study_uid: str, sop_uid: str):
    instance = service.case_instance(db_session(), page_user(), case_id, study_uid, sop_uid)
    return _send(instance.file.sha256, "application/dicom", f"{sop_uid}.dcm")


def _send(sha256: str, media_type: str, name: str) -> Response:
    path = imaging().store.path_for(sha256)
    if not path.exists():
        raise NotFound("the file is missing from storage")
    return send_file(path, mimetype=media_type, download_name=ascii_name(name), conditional=True, etag=sha256)


# ---------------------------------------------------------------- the case page's panel


@bp.get("/cases/<int:case_id>/attachments/<int:attachment_id>/file")
@login_required
def attachment_file(case_id: int, attachment_id: int):
    item = service.read_attachment_file(db_session(), page_user(), case_id, attachment_id, ip=_ip())
    response = _send(item.file.sha256, item.file.media_type, item.filename)
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{ascii_name(item.filename)}"'
    else:
        response.headers["Content-Disposition"] = "inline"
    return response


@bp.get("/cases/<int:case_id>/attachments/panel")
@login_required
def panel(case_id: int):
    """The attachment panel alone (the page script reloads it after an upload)."""
    from ..services.cases import read_case

    case = read_case(db_session(), page_user(), case_id, ip=_ip())
    return render_template("dicom/_attachments.html", case=case, standalone=True)


@bp.get("/cases/<int:case_id>/attachments.json")
@login_required
@json_errors
def attachments_json(case_id: int):
    result = service.read_attachments(db_session(), page_user(), case_id, ip=_ip())
    return jsonify(case_attachments_json(result, case_id))


@bp.post("/cases/<int:case_id>/attachments/files")
@login_required
@json_errors
def upload_files(case_id: int):
    """A batch of small files in one multipart request (larger ones use the resumable uploads)."""
    result = upload_steps.receive_request(db_session(), imaging(), page_user(), case_id, request)
    if request.accept_mimetypes.best != "application/json":  # the form without scripts
        added = sum(c.added for c in result.studies) + len(result.files)
        flash(_("%(n)s file(s) attached.", n=added), "success")
        for rejection in result.rejected:
            flash(f"{rejection.name}: {rejection.reason}", "warning")
        return redirect(url_for("web.case_page", case_id=case_id) + "#attachments")
    return jsonify(attach_result_json(result, case_id)), 201


@bp.post("/cases/<int:case_id>/attachments/uploads")
@login_required
@json_errors
def start_upload(case_id: int):
    body = json_value(request)
    upload = upload_steps.start_upload(db_session(), imaging(), page_user(), case_id,
                                       body if isinstance(body, dict) else {})
    return jsonify(upload_steps.upload_json(imaging(), upload, f"/cases/{case_id}/attachments/uploads")), 201


@bp.get("/cases/<int:case_id>/attachments/uploads/<token>")
@login_required
@json_errors
def upload_status(case_id: int, token: str):
    upload = service.get_upload(db_session(), page_user(), case_id, token)
    return jsonify(upload_steps.upload_json(imaging(), upload, f"/cases/{case_id}/attachments/uploads"))


@bp.put("/cases/<int:case_id>/attachments/uploads/<token>")
@login_required
@json_errors
def upload_chunk(case_id: int, token: str):
    upload = service.get_upload(db_session(), page_user(), case_id, token)
    offset = upload_steps.chunk_offset(request)
    new_offset = upload_steps.append_chunk(imaging(), upload, offset, request.stream, request.content_length,
                                           request.headers.get("Content-Encoding"))
    return jsonify(upload_id=upload.token, offset=new_offset, size=upload.size)


@bp.post("/cases/<int:case_id>/attachments/uploads/<token>/complete")
@login_required
@json_errors
def complete_upload(case_id: int, token: str):
    result = upload_steps.finish_upload(db_session(), imaging(), page_user(), case_id, token)
    return jsonify(attach_result_json(result, case_id)), 201


@bp.delete("/cases/<int:case_id>/attachments/uploads/<token>")
@login_required
@json_errors
def cancel_upload(case_id: int, token: str):
    upload_steps.cancel_upload(db_session(), imaging(), page_user(), case_id, token)
    return "", 204


@bp.post("/cases/<int:case_id>/studies/<study_uid>/confirm")
@login_required
def confirm(case_id: int, study_uid: str):
    """The doctor confirms the study is this patient's (a form on the case page)."""
    study = service.confirm_study(db_session(), page_user(), case_id, study_uid, request.form.get("note", "")[:2000])
    if request.accept_mimetypes.best == "application/json":
        return jsonify(study_json(study, case_id, instances=False))
    flash(_("Confirmed: the study belongs to this patient. The specialists can see it now."), "success")
    return redirect(url_for("web.case_page", case_id=case_id) + "#attachments")


@bp.post("/cases/<int:case_id>/attachments/inbox")
@login_required
def attach_inbox(case_id: int):
    raw = request.form.get("study_id", "")
    study = service.attach_inbox_study(db_session(), page_user(), case_id, small_int(raw))
    if study.safety == "mismatch":
        flash(_("The study was attached, but its patient details differ from this case. Check and confirm it."),
              "warning")
    else:
        flash(_("The study was attached to this case."), "success")
    return redirect(url_for("web.case_page", case_id=case_id) + "#attachments")


# ---------------------------------------------------------------- templates


def _panel_context(case) -> dict:
    """What `dicom/_attachments.html` shows for `case` to the signed-in user."""
    session, user = db_session(), page_user()
    result = service.list_attachments(session, user, case.id)
    inbox = []
    if sees_inbox(_facts(user), case.origin_facility_id):
        inbox = [inbox_study_json(s, service.suggested_cases(session, user, s))
                 for s in service.list_inbox(session, user)]
    from ..dicom.safety import may_attach, may_confirm
    from ..services.cases import case_facts

    facts = case_facts(case)
    return {
        "files": result.files, "studies": result.studies, "awaiting": result.awaiting_confirmation,
        "inbox": inbox, "can_attach": may_attach(_facts(user), facts) is None,
        "can_confirm": may_confirm(_facts(user), facts), "display_name": display_name,
        "max_bytes": imaging().limits.max_file_bytes, "batching": BATCHING.as_page(),
    }


def _facts(user: User):
    from ..services.actors import actor_facts

    return actor_facts(user)


def init_templates(app: Flask) -> None:
    """The case page's imaging panel, this feature's strings and its timeline events' labels."""
    from ..web.i18n import LABELS, add_catalog

    app.jinja_env.globals["dicom_panel"] = _panel_context
    add_catalog(app, TRANSLATIONS)
    for kind, text in EVENT_LABELS.items():
        LABELS.setdefault("event", {}).setdefault(kind, text)

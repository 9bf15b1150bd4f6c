"""Attachments of a case: files and DICOM studies, resumable uploads, the patient check, the inbox."""

from __future__ import annotations

from flask import Response, jsonify, request, send_file

from ..dicom import imaging
from ..dicom import uploads as upload_steps
from ..dicom.intake import ascii_name
from ..dicom.limits import BATCHING, MiB
from ..dicom.present import attach_result_json, case_attachments_json, inbox_study_json, study_json
from ..domain.errors import NotFound, ValidationFailed
from ..runtime import db_session
from ..services import attachments as service
from ..services.inputs import MAX_SMALL_INT, refuse_control_characters
from . import current_user, endpoint, json_body

_MULTIPART = {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
    "required": ["file"]}}}
_RESULT = ("201: {attachments, studies (with instances_added, duplicates, safety), rejected [{file, reason, kind}], "
           "skipped}. Files that cannot be accepted are listed in `rejected` with the reason and nothing of them "
           "is stored; when no file is accepted the answer is 422 `validation` (or 413 `too_large`) naming each "
           "file and its reason. `kind` sorts the refusal for a page to word it: not_accepted, empty, too_large, "
           "damaged, archive, patient, duplicate or study.")


def _attach_response(result: service.AttachResult, case_id: int):
    return jsonify(attach_result_json(result, case_id)), 201


@endpoint("/cases/{id}/attachments", "POST", "Attach files: DICOM, a ZIP of DICOM, JPEG/PNG photos, PDF reports",
          tag="attachments", body_schema=_MULTIPART,
          description="Multipart field `file`, repeatable. DICOM studies are indexed (study, series, instance) and "
          "checked against the case's patient: a study whose patient name, sex or birth date disagrees is hidden "
          "from specialists until a doctor of the sending facility confirms it. Over a slow link, send the body "
          "gzip-compressed with `Content-Encoding: gzip` (inflated within the upload size limit; a body that "
          "expands more than 200 times is refused, 413). Each request costs the server about as much as five CT "
          "slices besides its files: over a fast link, send a study in a few requests of up to "
          f"{BATCHING.max_bytes // MiB} MB (what the upload page sends) rather than one file each; over a slow one, keep a request to a few seconds, since a dropped request is sent again "
          "whole. For large files use the resumable uploads (`/cases/{id}/uploads`). " + _RESULT)
def post_attachments(id: int):
    result = upload_steps.receive_request(db_session(), imaging(), current_user(), id, request)
    return _attach_response(result, id)


@endpoint("/cases/{id}/attachments", "GET", "The case's attachments; DICOM grouped as studies, series, instances",
          tag="attachments", description="`files` (photos, PDFs), `studies` (each with `safety`: ok, mismatch or "
          "confirmed, and its series and instances) and `awaiting_confirmation` (studies held back from the caller "
          "until the sending doctor confirms the patient).")
def get_attachments(id: int):
    result = service.read_attachments(db_session(), current_user(), id, ip=request.remote_addr or "")
    return jsonify(case_attachments_json(result, id))


@endpoint("/cases/{id}/attachments/{attachment}/file", "GET", "Download a photo or PDF of the case",
          tag="attachments", response="application/octet-stream")
def get_attachment_file(id: int, attachment: str):
    attachment_id = _int_path(attachment, "attachment")
    item = service.read_attachment_file(db_session(), current_user(), id, attachment_id,
                                        ip=request.remote_addr or "")
    return _send_stored(item.file.sha256, item.file.media_type, item.filename)


def _send_stored(sha256: str, media_type: str, filename: str) -> Response:
    path = imaging().store.path_for(sha256)
    if not path.exists():
        raise NotFound("the file is missing from storage; an administrator has been told by `referral dicom verify`")
    response = send_file(path, mimetype=media_type, download_name=ascii_name(filename), conditional=True,
                         etag=sha256, max_age=0)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _int_path(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise NotFound(f"no such {name}") from None
    if not 1 <= number <= MAX_SMALL_INT:
        raise NotFound(f"no such {name}")
    return number


@endpoint("/cases/{id}/studies/{study_uid}/confirm", "POST", "Confirm that a flagged study belongs to the patient",
          tag="attachments", body_schema={"application/json": {"schema": {
              "type": "object", "properties": {"note": {"type": "string", "maxLength": 2000}}}}},
          description="A doctor of the sending facility confirms a study whose DICOM patient name, sex or birth "
          "date disagreed with the case. Recorded on the timeline (`study_confirmed`); the study becomes visible "
          "to the specialists.")
def confirm_case_study(id: int, study_uid: str):
    body = json_body()
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 2000:
        raise ValidationFailed("invalid note", fields={"note": "text up to 2000 characters"})
    refuse_control_characters(note=note)
    study = service.confirm_study(db_session(), current_user(), id, study_uid, note)
    return jsonify(study_json(study, id, instances=False))


# ---------------------------------------------------------------- the facility inbox


@endpoint("/inbox/studies", "GET", "Studies received over DICOM at the caller's facility, not yet attached",
          tag="attachments", description="Each with `suggested_cases`: open cases of the facility whose patient "
          "matches the study's patient ID or name.")
def dicom_inbox():
    session, user = db_session(), current_user()
    studies = service.list_inbox(session, user)
    return jsonify(items=[inbox_study_json(s, service.suggested_cases(session, user, s)) for s in studies])


@endpoint("/cases/{id}/attachments/inbox", "POST", "Attach a study from the facility's DICOM inbox to the case",
          tag="attachments", body_schema={"application/json": {"schema": {
              "type": "object", "properties": {"study_id": {"type": "integer"}}, "required": ["study_id"]}}},
          description="The study moves from the inbox to the case and is checked against the case's patient "
          "like an upload.")
def attach_from_inbox(id: int):
    study = service.attach_inbox_study(db_session(), current_user(), id, json_body().get("study_id"))
    return jsonify(study_json(study, id, instances=False)), 201


# ---------------------------------------------------------------- resumable uploads


_UPLOAD_BODY = {"application/json": {"schema": {"type": "object", "required": ["filename", "size"], "properties": {
    "filename": {"type": "string"}, "size": {"type": "integer", "description": "bytes"},
    "sha256": {"type": "string", "description": "optional; checked when the upload completes"}}}}}


@endpoint("/cases/{id}/uploads", "POST", "Start a resumable upload of one file", tag="uploads",
          body_schema=_UPLOAD_BODY,
          description="Answers 201 with `upload_id`, `offset` (0) and `chunk_limit`. Then send the bytes with "
          "`PUT /cases/{id}/uploads/{upload_id}` in chunks, each with the header `Upload-Offset` (where it "
          "starts); after a dropped connection `GET` the upload for its `offset` and continue from there. "
          "Finish with `POST .../complete`. Uploads expire after 7 days.")
def start_case_upload(id: int):
    body = json_body()
    refuse_control_characters(filename=body.get("filename"), sha256=body.get("sha256"))
    upload = upload_steps.start_upload(db_session(), imaging(), current_user(), id, body)
    return jsonify(upload_steps.upload_json(imaging(), upload, f"/api/v1/cases/{id}/uploads")), 201


@endpoint("/cases/{id}/uploads/{upload_id}", "GET", "How much of a resumable upload has arrived", tag="uploads")
def case_upload_status(id: int, upload_id: str):
    upload = service.get_upload(db_session(), current_user(), id, upload_id)
    return jsonify(upload_steps.upload_json(imaging(), upload, f"/api/v1/cases/{id}/uploads"))


@endpoint("/cases/{id}/uploads/{upload_id}", "PUT", "Send one chunk of a resumable upload", tag="uploads",
          body_schema={"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
          description="Header `Upload-Offset`: the byte offset this chunk starts at; it must equal the `offset` "
          "the server has (else 409 `conflict` with the server's `offset`). Answers the new `offset`. A chunk may be "
          "sent with `Content-Encoding: gzip`; offsets count the file's own (inflated) bytes.")
def case_upload_chunk(id: int, upload_id: str):
    upload = service.get_upload(db_session(), current_user(), id, upload_id)
    offset = upload_steps.chunk_offset(request)
    new_offset = upload_steps.append_chunk(imaging(), upload, offset, request.stream, request.content_length,
                                           request.headers.get("Content-Encoding"))
    return jsonify(upload_id=upload.token, offset=new_offset, size=upload.size)


@endpoint("/cases/{id}/uploads/{upload_id}/complete", "POST", "Finish a resumable upload and attach the file",
          tag="uploads", description="The file is judged and attached like `POST /cases/{id}/attachments`. " + _RESULT)
def complete_case_upload(id: int, upload_id: str):
    result = upload_steps.finish_upload(db_session(), imaging(), current_user(), id, upload_id)
    return _attach_response(result, id)


@endpoint("/cases/{id}/uploads/{upload_id}", "DELETE", "Cancel a resumable upload", tag="uploads")
def cancel_case_upload(id: int, upload_id: str):
    upload_steps.cancel_upload(db_session(), imaging(), current_user(), id, upload_id)
    return "", 204

"""Advice PDFs over the API: the signed file of one version, exactly as stored."""

from __future__ import annotations

from flask import Response, request

from ..advice import service
from ..runtime import db_session
from . import current_user, endpoint


@endpoint("/cases/{id}/advice/{version}/pdf", "GET", "The signed PDF of one advice version", tag="advice",
          response="application/pdf",
          description="The bytes whose SHA-256 is the version's `pdf_sha256` (PDF/A-3b, Chinese or English as the "
          "case). Earlier versions stay downloadable; `GET /verify/{verify_code}` tells whether a version is "
          "current. 404 for versions or cases outside the caller's scope; 500 `pdf_damaged` if the stored "
          "file no longer matches its signature (it is then never served).")
def advice_pdf(id: int, version: int):
    found = service.advice_pdf(db_session(), current_user(), id, version, ip=request.remote_addr or "")
    response = Response(found.data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    response.headers["ETag"] = f'"{found.advice.pdf_sha256}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

"""Error pages in the user's language for every path outside the API (which answers JSON)."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..db import is_unavailable
from ..disk_space import is_disk_full, storage_full
from ..domain.errors import DomainError, Unavailable

log = logging.getLogger(__name__)

UNAVAILABLE = "the database cannot be reached or is too busy right now; try again in a moment"

PAGE_ERRORS = "referral.error_page"
PAGES = (400, 403, 404, 405, 409, 413, 429, 500, 503, 507)


def status_of(exc: BaseException) -> int:
    if isinstance(exc, DomainError):
        return 401 if exc.status == 401 else exc.status
    if isinstance(exc, HTTPException):
        return exc.code or 500
    return 500


def error_page(exc: BaseException):
    """Render the page for `exc`; never raises (a failing page falls back to plain text)."""
    status = status_of(exc)
    session = g.get("db_session")
    if session is not None:
        session.rollback()
    template = f"errors/{status if status in PAGES else (500 if status >= 500 else 400)}.html"
    detail = ""
    if isinstance(exc, CSRFError):
        detail = _("The form had expired or did not come from this site. Go back, reload the page and try again.")
    try:
        response = render_template(template, status=status, detail=detail)
    except Exception:  # pragma: no cover - last resort
        log.exception("error page %s failed to render", status)
        return f"Error {status}", status, {"Content-Type": "text/plain; charset=utf-8"}
    headers = {"Cache-Control": "no-store"}
    if status == 429:
        headers["Retry-After"] = "300"
    elif status == 503:
        headers["Retry-After"] = Unavailable.retry_after
    if status == 405 and isinstance(exc, HTTPException):
        headers.update({k: v for k, v in exc.get_headers() if k == "Allow"})
    return response, status, headers


def init_errors(app: Flask) -> None:
    """The API's app-wide handlers hand non-API paths to `error_page` (see referral/api)."""
    app.extensions[PAGE_ERRORS] = error_page
    app.register_error_handler(CSRFError, _csrf_error)


def outage_error(exc: BaseException) -> DomainError | None:
    """A full disk or an unreachable database, as the error to answer with (logged for the
    administrator); None for anything else. The API, the pages and the pages' scripts all use it."""
    what = f"{request.method} {request.path}"
    if is_disk_full(exc):
        return storage_full(exc, what)
    if is_unavailable(exc):
        log.exception("the database is unavailable on %s", what)
        return Unavailable(UNAVAILABLE)
    return None


def wants_json() -> bool:
    """A page's script asking (it sends `Accept: application/json`), not the browser navigating."""
    return request.accept_mimetypes.best == "application/json"


def _csrf_error(exc: CSRFError):
    log.info("CSRF refusal on %s %s: %s", request.method, request.path, exc.description)
    if wants_json():  # a script of a page left open while its user signed out (or signed in again)
        return jsonify(error="csrf", message="this page is out of date or its sign-in has ended; reload it"), 400
    return error_page(exc)

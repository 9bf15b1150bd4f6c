"""The REST API (`/api/v1`): parses input, calls one service, renders JSON."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import Blueprint, Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..domain.errors import DomainError, TooLarge, Unauthorized, Unavailable, ValidationFailed
from ..models import User
from ..runtime import db_session, runtime
from ..services.auth import user_for_token
from ..services.inputs import MAX_SMALL_INT
from ..web.blueprint import data_headers, json_document
from ..web.errors import outage_error
from .openapi import Operation, Registry, flask_rule

PREFIX = "/api/v1"
log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix=PREFIX)
bp.after_request(data_headers)
registry = Registry(PREFIX)

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}


def endpoint(path: str, method: str, summary: str, *, tag: str, auth: bool = True, body=None,
             body_schema: dict | None = None, query: dict[str, str] | None = None,
             response: str = "application/json", description: str = "", models: tuple = ()) -> Callable:
    """Register a route and its OpenAPI operation in one place, so they cannot drift apart."""

    def decorate(view: Callable) -> Callable:
        registry.add(Operation(path, method, summary, tag, auth, body, body_schema, query or {}, response,
                               description, tuple(models)))

        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if auth:
                g.api_user = authenticated_user()
            return view(*args, **kwargs)

        bp.add_url_rule(flask_rule(path), endpoint=f"{view.__name__}_{method.lower()}", view_func=wrapped,
                        methods=[method])
        return wrapped

    return decorate


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticated_user() -> User:
    token = bearer_token()
    if token is None:
        raise Unauthorized("send Authorization: Bearer <token>; get one from POST /api/v1/auth/token")
    return user_for_token(db_session(), token)


def current_user() -> User:
    return g.api_user


def json_body() -> dict:
    """The request's JSON object, bounded in size; anything else is a clear `validation` error."""
    limit = runtime().settings.max_json_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the body is larger than {limit} bytes")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise TooLarge(f"the body is larger than {limit} bytes")
    if not raw.strip():
        return {}
    try:
        data = json_document(request)
    except ValueError as exc:
        raise ValidationFailed(f"the body is {exc}", fields={"body": str(exc)}) from None
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", fields={"body": "expected a JSON object"})
    return data


def int_arg(name: str, default: int) -> int:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValidationFailed("invalid query parameter", fields={name: "must be an integer"}) from None
    if abs(number) > MAX_SMALL_INT:
        raise ValidationFailed("invalid query parameter", fields={name: "out of range"})
    return number


def error_response(code: str, message: str, status: int, **extra):
    return jsonify(error=code, message=message, **extra), status


def _is_api() -> bool:
    return request.path.startswith(PREFIX) or request.path.startswith("/dicomweb")


def register_api(app: Flask) -> None:
    from . import advice, auth, cases, consult, directory, meta, notifications, reports  # noqa: F401 - routes register on import

    app.register_blueprint(bp)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        if not _is_api() and (page := _page_error(app, exc)) is not None:
            return page
        response, status = error_response(exc.code, exc.message, exc.status, **exc.details)
        if isinstance(exc, Unavailable):
            response.headers["Retry-After"] = exc.retry_after
        elif "retry_after" in exc.details:
            response.headers["Retry-After"] = exc.details["retry_after"]
        return response, status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc):
        if not _is_api() and (page := _page_error(app, exc)) is not None:
            return page
        return error_response("too_large", "the request body is too large", 413)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not _is_api():
            page = _page_error(app, exc)
            return exc if page is None else page
        return error_response(_HTTP_CODES.get(exc.code, "error"), exc.description or exc.name, exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if (outage := outage_error(exc)) is not None:
            return domain_error(outage)
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _is_api():
            return error_response("internal", "something went wrong on the server; it has been logged", 500)
        page = _page_error(app, exc)
        return ("Internal Server Error", 500) if page is None else page


def _page_error(app: Flask, exc: Exception):
    """Outside the API, the web app's error page in the user's language (when the web app is installed)."""
    render = app.extensions.get("referral.error_page")
    return render(exc) if render is not None else None

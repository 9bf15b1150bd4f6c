"""The web app's blueprint and the response headers every blueprint shares: pages get a
content policy that keeps every request on this host; pages, the API and DICOMweb alike
keep patient data out of shared caches and off the browser's disk."""

from __future__ import annotations

from flask import Blueprint, Request, Response
from werkzeug.exceptions import BadRequest

bp = Blueprint("web", __name__)

# Every script, style, image and connection comes from this host (the clinics reach no other).
CONTENT_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                  "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; connect-src 'self'; "
                  "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


def page_headers(response: Response) -> Response:
    """The headers of every response a page blueprint sends: the web app's and each feature's
    (imaging, advice, consult, reports, notifications, notices, SLA) register this one rule.

    The content policy keeps every request on this host. Pages, their JSON and the files behind
    them carry patient data: none of it is kept in a shared cache or on the browser's disk, unless
    its view chose to let the browser keep it privately for a while (a `max-age`: a rendered frame
    of a stored file never changes).
    """
    response.headers.setdefault("Content-Security-Policy", CONTENT_POLICY)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response = data_headers(response)
    if "max-age" not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = "private, no-store"
    return response


def data_headers(response: Response) -> Response:
    """The headers of every API and DICOMweb response (and, through `page_headers`, every page's).

    Programs read these, but what passes through a proxy or a browser's `fetch` is patient data
    all the same: it is stored nowhere unless the view said how it may be kept (a rendered frame
    for a day, a downloaded file revalidated by its ETag). Nothing is taken for another type.
    """
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "private, no-store")
    return response


bp.after_request(page_headers)


def json_value(request: Request):
    """The request's body as JSON, whatever its Content-Type says; None when it is not JSON at all, or
    nested deeper than the parser goes (no request of ours looks like that: it is not a crash either)."""
    try:
        return json_document(request)
    except ValueError:
        return None


def json_document(request: Request):
    """The request's body as JSON, whatever its Content-Type says. A body that is not JSON raises
    ValueError saying so, so that the caller can tell it from valid JSON of the wrong shape."""
    try:
        return request.get_json(force=True)
    except BadRequest:
        raise ValueError("not valid JSON") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None

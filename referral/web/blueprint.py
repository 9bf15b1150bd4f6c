"""The web app's blueprint and what every page of it shares: sign-in required, private
responses, a content policy that keeps every request on this host."""

from __future__ import annotations

from flask import Blueprint, Response, request

bp = Blueprint("web", __name__)

# Every script, style, image and connection comes from this host (the clinics reach no other).
CONTENT_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                  "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; connect-src 'self'; "
                  "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


@bp.after_request
def _page_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.method == "GET" and response.mimetype in ("text/html", "application/json"):
        # Pages show patient data: never kept in shared caches or the browser's disk cache.
        response.headers["Cache-Control"] = "private, no-store"
    return response

"""The web app: the pages village doctors, specialists and administrators use every day.

Thin adapters over the same services as the API: each view parses the form,
calls one service and renders a template. `register_web` wires sessions,
CSRF, languages, static caching and error pages into the application.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_wtf.csrf import CSRFProtect

from .assets import init_assets
from .blueprint import bp
from .errors import init_errors
from .i18n import init_i18n
from .session import init_sessions


class HeaderFirstCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, taking the `X-CSRFToken` header before the form field.

    Flask-WTF looks in the form first, and reading the form parses the whole body: a page's
    upload of a study (which sends its token in the header) was parsed and spooled by werkzeug
    before the upload view could stream it to the store. Forms without scripts send no such
    header and are checked as before."""

    def _get_csrf_token(self):
        for header in current_app.config["WTF_CSRF_HEADERS"]:
            token = request.headers.get(header)
            if token:
                return token
        return super()._get_csrf_token()


csrf = HeaderFirstCSRFProtect()
# Bearer-token adapters (no cookies, so no cross-site forgery): the REST API and DICOMweb.
CSRF_EXEMPT_PREFIXES = ("/api/", "/dicomweb")


def register_web(app: Flask) -> None:
    from . import account, admin, cases, home  # noqa: F401 - routes register on import

    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)

    @app.before_request
    def _csrf_protect() -> None:
        """Every state-changing request outside the bearer-token APIs needs the form's token."""
        if not app.config.get("WTF_CSRF_ENABLED", True) or request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        if request.path.startswith(CSRF_EXEMPT_PREFIXES):
            return
        csrf.protect()

    init_sessions(app)
    init_i18n(app)
    init_assets(app)
    init_errors(app)
    app.register_blueprint(bp)

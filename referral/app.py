"""The application factory: one function that wires settings, database and adapters."""

from __future__ import annotations

from flask import Flask, jsonify
from flask_compress import Compress
from werkzeug.routing import IntegerConverter

from .config import PROJECT_ROOT, Settings
from .runtime import Runtime, close_db_session
from .services.inputs import MAX_SMALL_INT


# Answers worth compressing for a clinic on a slow link: pages, scripts, style sheets and JSON (a
# 300-slice study's viewer manifest is 280 KB as sent, 18 KB gzipped). Images, PDFs and DICOM are
# compressed already or are sent as they are stored.
COMPRESSED_TYPES = ["text/html", "text/css", "text/javascript", "application/javascript", "text/plain", "text/csv",
                    "application/json", "application/dicom+json", "application/problem+json", "image/svg+xml"]


def _compress_text(app: Flask) -> None:
    """Flask-Compress, registered first so that it runs after every other `after_request` hook."""
    app.config.update(COMPRESS_MIMETYPES=COMPRESSED_TYPES, COMPRESS_MIN_SIZE=1024,
                      COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_ALGORITHM_STREAMING=["br", "deflate"])
    _WholeAnswersCompressed(app)


class _WholeAnswersCompressed(Compress):
    """Only whole answers (200): a byte range of a file is a range of its bytes as stored."""

    def after_request(self, response):
        return super().after_request(response) if response.status_code == 200 else response


class RowNumber(IntegerConverter):
    """`<int:...>` in every route: a number no row can have (past what an integer column takes) is
    a path that names nothing, 404, not a database error."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_SMALL_INT,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        "referral",
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "referral" / "static"),
        instance_path=str(settings.data_dir),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False
    app.url_map.converters["int"] = RowNumber  # before any route is added
    _compress_text(app)
    app.extensions["referral"] = Runtime.build(settings)
    app.teardown_appcontext(close_db_session)

    from .advice.views import init_app as init_advice
    from .api import register_api
    from .realtime import init_realtime
    from .reports.views import init_reports
    from .web import register_web
    from .dicom import register_dicom

    register_dicom(app)  # before register_api: its attachment routes join the API blueprint
    register_api(app)
    register_web(app)
    init_advice(app)  # after the web app: shares its sessions and languages
    init_realtime(app)

    from .notifications import init_notifications

    init_notifications(app)

    from .consult import init_consult

    init_consult(app)
    init_reports(app)  # /reports: after the web app, whose sessions and layout it uses

    @app.get("/healthz")
    def healthz():
        """Liveness: no database, no authentication."""
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        """Readiness (`readiness.py`): 200 when the database, Redis and the data directory can be used, else 503."""
        from .readiness import readiness

        ready, checks = readiness(app.extensions["referral"])
        response = jsonify(status="ok" if ready else "unavailable", checks=checks)
        response.headers["Cache-Control"] = "no-store"
        return response, 200 if ready else 503

    return app

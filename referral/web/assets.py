"""Static files with versioned URLs: cached for a year by the browser, so after the first
visit a page costs only its HTML. The version is a hash of the file's content."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from flask import Flask, Response, current_app, has_request_context, request, url_for

YEAR = 365 * 24 * 3600
RECHECK_SECONDS = 2.0  # how often a file's modification time is looked at again
_versions: dict[str, tuple[float, str]] = {}
_urls: dict[tuple[str, str, str], tuple[float, str, str]] = {}  # (root, static path, file) -> (checked, version, url)


def asset_version(filename: str) -> str:
    """A short hash of the file's content, recomputed only when the file changes."""
    path = Path(current_app.static_folder or "") / filename
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return "0"
    cached = _versions.get(filename)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    _versions[filename] = (mtime, digest)
    return digest


def asset_url(filename: str) -> str:
    """The URL of a file under referral/static/ with its content version.

    Every page asks for the same few files: the URL is kept and the file looked at again
    only every couple of seconds (a changed file gets its new version within that time)."""
    if not has_request_context():
        return url_for("static", filename=filename, v=asset_version(filename))
    key = (request.script_root, current_app.static_url_path or "", filename)
    now = time.monotonic()
    cached = _urls.get(key)
    if cached is not None and now - cached[0] < RECHECK_SECONDS:
        return cached[2]
    version = asset_version(filename)
    url = cached[2] if cached is not None and cached[1] == version else url_for("static", filename=filename, v=version)
    _urls[key] = (now, version, url)
    return url


def _cache_static(response: Response) -> Response:
    if request.endpoint == "static" and response.status_code in (200, 304):
        if request.args.get("v"):
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
    return response


def init_assets(app: Flask) -> None:
    app.jinja_env.globals["asset_url"] = asset_url
    app.after_request(_cache_static)

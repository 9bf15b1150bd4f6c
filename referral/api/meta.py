"""The API's own description."""

from __future__ import annotations

from flask import jsonify

from . import endpoint, registry


@endpoint("/openapi.json", "GET", "This OpenAPI description", tag="meta", auth=False)
def openapi_json():
    return jsonify(registry.spec())

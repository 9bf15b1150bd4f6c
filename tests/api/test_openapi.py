"""The OpenAPI description matches the routes."""

from __future__ import annotations

import re


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_api_route_is_described(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    described = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routes = {
        (_openapi_path(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - described == set(), "routes missing from the OpenAPI description"
    assert described - routes == set(), "described operations without a route"


def test_bodies_reference_defined_schemas(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    text = str(spec)
    for ref in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert ref in spec["components"]["schemas"], ref
    create = spec["paths"]["/api/v1/cases"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CaseIn")
    assert "422" in create["responses"] and "401" in create["responses"]

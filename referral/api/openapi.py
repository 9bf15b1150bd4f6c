"""The OpenAPI 3 description, built from the same registrations that create the routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .. import __version__

ERROR_CODES = {
    "400": "bad request",
    "401": "unauthorized: missing, expired or revoked token",
    "403": "forbidden: the caller's role does not allow this",
    "404": "not_found: absent, or outside the caller's scope",
    "409": "invalid_transition (with allowed_actions) or conflict (someone else changed it first)",
    "413": "too_large",
    "422": "validation (with fields)",
    "429": "rate_limited",
    "503": "unavailable: the database cannot be reached or is too busy right now (Retry-After says when to try again)",
    "507": "storage_full: the server's disk is full; nothing of the request was stored (send it again later)",
}


@dataclass
class Operation:
    path: str  # OpenAPI form: /cases/{id}
    method: str
    summary: str
    tag: str
    auth: bool = True
    body: type[BaseModel] | None = None
    body_schema: dict | None = None
    query: dict[str, str] = field(default_factory=dict)
    response: str = "application/json"
    description: str = ""
    models: tuple[type[BaseModel], ...] = ()  # schemas that body_schema refers to


class Registry:
    """Operations registered by `endpoint`; rendered to a spec on request."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.operations: list[Operation] = []

    def add(self, op: Operation) -> None:
        self.operations.append(op)

    def spec(self) -> dict[str, Any]:
        paths: dict[str, dict] = {}
        schemas: dict[str, Any] = {}
        for op in self.operations:
            item = paths.setdefault(self.prefix + op.path, {})
            item[op.method.lower()] = self._operation(op, schemas)
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "Tiered referral and remote consultation API",
                "version": __version__,
                "description": "Errors are JSON {error, message, ...}; see the responses of each operation.",
            },
            "servers": [{"url": "/"}],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        }

    def _operation(self, op: Operation, schemas: dict) -> dict:
        out: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": f"{op.method.lower()}_{op.path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
            "responses": {"200": {"description": "success", "content": {op.response: {}}}},
        }
        if op.description:
            out["description"] = op.description
        if op.auth:
            out["security"] = [{"bearer": []}]
            out["responses"].update({code: {"description": text} for code, text in ERROR_CODES.items()})
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_params(op.path)
        ]
        params += [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
            for name, text in op.query.items()
        ]
        if params:
            out["parameters"] = params
        for model in (*op.models, *([op.body] if op.body else [])):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            schemas[model.__name__] = schema
        if op.body is not None:
            out["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}},
            }
        elif op.body_schema is not None:
            out["requestBody"] = {"required": True, "content": op.body_schema}
        return out


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def flask_rule(path: str) -> str:
    """`/cases/{id}` -> `/cases/<id>` (typed converters are given explicitly where needed)."""
    parts = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            parts.append(f"<int:{name}>" if name in ("id", "version") else f"<{name}>")
        else:
            parts.append(part)
    return "/".join(parts)

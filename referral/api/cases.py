"""Cases: create, list, read, act, timeline, messages, advice."""

from __future__ import annotations

from flask import jsonify, request

from ..domain.errors import ValidationFailed
from ..domain.workflow import Action
from ..runtime import db_session
from ..services import cases as case_service
from ..services import worklists
from ..services.case_view import read_case_view
from ..services.inputs import ACTION_INPUTS, CaseIn, parse
from . import current_user, endpoint, int_arg, json_body
from .serializers import advice_json, case_detail, case_summary, event_json, message_json


@endpoint("/cases", "POST", "Create a draft case", tag="cases", body=CaseIn)
def create_case():
    data = parse(CaseIn, json_body())
    case = case_service.create_draft(db_session(), current_user(), data)
    return jsonify(case_detail(case, current_user())), 201


@endpoint("/cases", "GET", "Cases the caller may see", tag="cases", query={
    "status": "comma-separated statuses (or the parameter repeated)", "urgency": "routine, urgent or emergency",
    "scope": "mine (created or assigned), queue (waiting for my facility and specialties), all (default)",
    "page": "1-based page number", "per_page": "1..100, default 20"})
def list_cases():
    page = worklists.list_cases(
        db_session(), current_user(), scope=request.args.get("scope") or "all",
        status=",".join(request.args.getlist("status")) or None, urgency=request.args.get("urgency") or None,
        page=int_arg("page", 1), per_page=int_arg("per_page", 20),
    )
    return jsonify(items=[case_summary(c) for c in page.items], total=page.total, page=page.page,
                   per_page=page.per_page)


@endpoint("/cases/{id}", "GET", "One case, with the actions the caller may take", tag="cases")
def get_case(id: int):
    case = read_case_view(db_session(), current_user(), id, ip=request.remote_addr or "")
    return jsonify(case_detail(case, current_user()))


_ACTION_SCHEMAS = {
    "application/json": {"schema": {"oneOf": [
        {"title": name, "$ref": f"#/components/schemas/{model.__name__}"} for name, model in ACTION_INPUTS.items()
    ]}}
}


@endpoint("/cases/{id}/actions/{action}", "POST", "Take a workflow action", tag="cases", body_schema=_ACTION_SCHEMAS,
          models=tuple(ACTION_INPUTS.values()),
          description="Actions: " + ", ".join(a.value for a in Action) + ". Optional `version` in the body: "
          "refused with `conflict` when the case has changed since. See docs/workflow.md.")
def act(id: int, action: str):
    body = json_body()
    version = body.pop("version", None)
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise ValidationFailed("invalid version", fields={"version": "must be an integer"})
    case = case_service.perform_action(db_session(), current_user(), id, action, body, version=version)
    return jsonify(case_detail(case, current_user()))


@endpoint("/cases/{id}/events", "GET", "The case's timeline, oldest first", tag="cases")
def events(id: int):
    items = case_service.read_events(db_session(), current_user(), id, ip=request.remote_addr or "")
    return jsonify(items=[event_json(e) for e in items])


@endpoint("/cases/{id}/messages", "GET", "Messages between the doctor and the specialists", tag="cases")
def messages(id: int):
    items = case_service.read_messages(db_session(), current_user(), id, ip=request.remote_addr or "")
    return jsonify(items=[message_json(m) for m in items])


@endpoint("/cases/{id}/advice", "GET", "Advice versions, oldest first", tag="advice")
def advice(id: int):
    items = case_service.read_advice(db_session(), current_user(), id, ip=request.remote_addr or "")
    return jsonify(items=[advice_json(a) for a in items])

"""Facility directory and specialty codes."""

from __future__ import annotations

from flask import jsonify, request

from ..domain.specialties import all_specialties
from ..runtime import db_session
from ..services.facilities import list_facilities
from . import endpoint, int_arg
from .serializers import facility_json


@endpoint("/facilities", "GET", "Facility directory", tag="directory",
          query={"tier": "village, township, county or provincial", "parent": "id of the parent facility"})
def facilities():
    parent = int_arg("parent", 0) or None
    items = list_facilities(db_session(), tier=request.args.get("tier") or None, parent=parent)
    return jsonify(items=[facility_json(f) for f in items], total=len(items))


@endpoint("/specialties", "GET", "Specialty codes with Chinese and English names", tag="directory")
def specialties():
    return jsonify(items=[{"code": s.code, "zh": s.zh, "en": s.en} for s in all_specialties()])

"""`/`: what the signed-in user needs first, by role."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from ..disk_space import human_bytes, space_of
from ..domain.access import can_administer
from ..domain.vocabulary import Role, Urgency
from ..domain.workflow import CaseStatus
from ..runtime import db_session, runtime
from ..services import admin as admin_service
from ..services import worklists
from ..services.actors import actor_facts
from ..services.inputs import small_int
from .blueprint import bp
from .session import me

# A doctor's open cases, in the order they need the doctor: answers first, then drafts, then waiting.
DOCTOR_GROUPS = (
    ("info_requested", ("info_requested",)),
    ("advised", ("advised",)),
    ("returned", ("returned",)),
    ("draft", ("draft",)),
    ("waiting", ("submitted", "in_review")),
)
OPEN_STATUSES = tuple(s for _, group in DOCTOR_GROUPS for s in group)
FINISHED = ("closed", "cancelled")
PER_PAGE = 20


def _page_arg(name: str) -> int:
    return max(1, min(small_int(request.args.get(name)) or 1, 10_000))


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


def doctor_view(user) -> dict:
    session = db_session()
    open_cases = worklists.my_cases(session, user, status=",".join(OPEN_STATUSES), per_page=100)
    groups = {key: [c for c in open_cases.items if c.status in statuses] for key, statuses in DOCTOR_GROUPS}
    finished = worklists.my_cases(session, user, status=",".join(FINISHED), per_page=10)
    return {"groups": groups, "finished": finished.items, "open_total": open_cases.total}


def specialist_view(user) -> dict:
    session = db_session()
    urgency = _choice("urgency", set(Urgency))
    queue = worklists.queue(session, user, urgency=urgency, page=_page_arg("page"), per_page=PER_PAGE)
    status = _choice("mine_status", set(CaseStatus))
    mine = worklists.my_cases(session, user, status=status, page=_page_arg("mine_page"), per_page=PER_PAGE)
    return {"queue": queue, "mine": mine, "filters": {"urgency": urgency or "", "mine_status": status or ""}}


def admin_view(user) -> dict:
    session = db_session()
    status = _choice("status", set(CaseStatus))
    urgency = _choice("urgency", set(Urgency))
    cases = worklists.jurisdiction_cases(session, user, status=status, urgency=urgency, page=_page_arg("page"),
                                         per_page=PER_PAGE)
    return {"tree": admin_service.facility_tree(session, user), "cases": cases,
            "filters": {"status": status or "", "urgency": urgency or ""}, "disk": _low_disk()}


def _low_disk() -> dict | None:
    """Room left for uploads, shown to administrators while it is running low (before uploads are refused)."""
    space = space_of(runtime().settings.data_dir)
    if space is None or not space.low:
        return None
    return {"free": human_bytes(space.free), "total": human_bytes(space.total), "percent": f"{space.percent_free:.0f}"}


@bp.get("/")
@login_required
def home():
    user = me()
    roles = set(user.roles or ())
    context = {"roles": roles}
    if Role.DOCTOR.value in roles:
        context["doctor"] = doctor_view(user)
    if Role.SPECIALIST.value in roles:
        context["specialist"] = specialist_view(user)
    if can_administer(actor_facts(user)):
        context["admin"] = admin_view(user)
    return render_template("home.html", **context)

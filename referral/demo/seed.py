"""`referral seed-demo`: load the Yunxi county demo, idempotently.

Facilities and partnerships are upserted by code; accounts are created when
missing (and their password reset when one is given); sample cases are created
once, through the same services the API uses, so they carry real timelines.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.errors import DomainError
from ..domain.workflow import Party, transition_for
from ..models import Case, Facility, Partnership, User, utcnow
from ..services import cases as case_service
from ..services.auth import hash_password
from ..services.inputs import CaseIn, parse
from . import cases as sample
from .facilities import DEMO_USERS, PARTNERSHIPS, SUPPORT_USERS, UserSeed, all_facilities

CASE_AUTHORS = ["village.doctor", "village.doctor2", "village.doctor3", "village.doctor4", "township.doctor"]
CASES_PER_PATH = 3


@dataclass
class SeedReport:
    facilities_created: int = 0
    users_created: int = 0
    cases_created: int = 0
    password: str | None = None
    password_generated: bool = False


def seed_demo(session: Session, password: str | None = None, *, now: datetime | None = None) -> SeedReport:
    report = SeedReport()
    report.facilities_created = _seed_facilities(session)
    _seed_partnerships(session)
    session.commit()
    missing = [u for u in DEMO_USERS + SUPPORT_USERS if _user(session, u.username) is None]
    if password is None and missing:
        password = secrets.token_urlsafe(9)
        report.password_generated = True
    report.password = password
    report.users_created = _seed_users(session, password, missing)
    session.commit()
    if password is not None and not _has_demo_cases(session):
        report.cases_created = _seed_cases(session, password, now or utcnow())
    return report


def _seed_facilities(session: Session) -> int:
    by_code = {f.code: f for f in session.scalars(select(Facility))}
    created = 0
    for seed in all_facilities():
        f = by_code.get(seed.code)
        if f is None:
            f = Facility(code=seed.code)
            session.add(f)
            by_code[seed.code] = f
            created += 1
        f.name, f.name_en, f.tier, f.kind = seed.name, seed.name_en, seed.tier.value, seed.kind.value
        f.parent = by_code[seed.parent] if seed.parent else None
        f.specialties = list(seed.specialties)
        f.address = seed.address
    session.flush()
    return created


def _seed_partnerships(session: Session) -> None:
    ids = dict(session.execute(select(Facility.code, Facility.id)).all())
    existing = {(p.facility_id, p.partner_id, p.specialty) for p in session.scalars(select(Partnership))}
    for facility, partner, specialty in PARTNERSHIPS:
        key = (ids[facility], ids[partner], specialty)
        if key not in existing:
            session.add(Partnership(facility_id=key[0], partner_id=key[1], specialty=specialty))
    session.flush()


def _user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def _seed_users(session: Session, password: str | None, missing: list[UserSeed]) -> int:
    ids = dict(session.execute(select(Facility.code, Facility.id)).all())
    hashed = hash_password(password) if password else None
    for seed in DEMO_USERS + SUPPORT_USERS:
        user = _user(session, seed.username)
        if user is None:
            user = User(username=seed.username, password_hash=hashed)
            session.add(user)
        elif hashed is not None:
            user.password_hash = hashed
        user.display_name, user.title = seed.display_name, seed.title
        user.facility_id = ids[seed.facility]
        user.roles, user.specialties = list(seed.roles), list(seed.specialties)
        user.active = True
    session.flush()
    return len(missing)


def _has_demo_cases(session: Session) -> bool:
    authors = select(User.id).where(User.username.in_(CASE_AUTHORS))
    return (session.scalar(select(func.count(Case.id)).where(Case.author_id.in_(authors))) or 0) > 0


def _seed_cases(session: Session, password: str, now: datetime) -> int:
    authors = [_user(session, name) for name in CASE_AUTHORS]
    count = 0
    total = len(sample.PATHS) * CASES_PER_PATH
    for i in range(total):
        path = sample.PATHS[i % len(sample.PATHS)]
        # Shift the scenarios on each round so that every path meets different specialties
        # (and so different county hospitals and provincial partners).
        scenario = sample.SCENARIOS[(i + i // len(sample.PATHS)) % len(sample.SCENARIOS)]
        author = authors[i % len(authors)]
        # Finished cases lie further back; open ones are recent.
        age_days = (total - i) * 1.5 if "close" in path else (i % 5) * 0.3
        start = now - timedelta(days=age_days, hours=6)
        _play(session, author, scenario, path, start, password)
        count += 1
    return count


def _play(session: Session, author: User, scenario: sample.Scenario, path: list[str], start: datetime,
          password: str) -> None:
    data = parse(CaseIn, {
        "patient": scenario.patient, "urgency": scenario.urgency, "specialty": scenario.specialty,
        "chief_complaint": scenario.chief_complaint, "clinical_question": scenario.clinical_question,
        "history": scenario.history, "vitals": scenario.vitals, "diagnoses": scenario.diagnoses,
    })
    case = case_service.create_draft(session, author, data, now=start)
    at = start
    for action in path:
        at += timedelta(minutes=37)
        actor = _actor_for(session, case, author, action)
        if actor is None:
            return
        try:
            case_service.perform_action(session, actor, case.id, action, _fields(action, scenario, password), now=at)
        except DomainError:
            return  # e.g. no tier above: the path ends where the case can go no further


def _actor_for(session: Session, case: Case, author: User, action: str) -> User | None:
    party = transition_for(action).party
    if party is Party.AUTHOR:
        return author
    hop = case.current_hop
    if party is Party.ASSIGNEE:
        return hop.assignee
    specialists = [
        u for u in session.scalars(select(User).where(User.facility_id == hop.facility_id).order_by(User.id))
        if "specialist" in u.roles
    ]
    for prefer in (lambda u: hop.specialty in u.specialties, lambda u: "general_practice" in u.specialties,
                   lambda u: True):
        match = next((u for u in specialists if prefer(u)), None)
        if match is not None:
            return match
    return None


_MESSAGES = {
    "request_info": "请补充近期心电图/血常规结果，并上传相关影像资料。",
    "provide_info": "已补充：血常规白细胞 11.2×10⁹/L，心电图见附件。",
    "follow_up": "患者按建议用药3天后症状缓解不明显，请再次评估。",
}


def _fields(action: str, scenario: sample.Scenario, password: str) -> dict:
    if action in _MESSAGES:
        return {"message": _MESSAGES[action]}
    if action == "escalate":
        return {"reason": "本院缺乏相关专科诊疗条件，申请上级医院会诊。"}
    if action == "decline":
        return {"reason": "资料不全，请补充病史及检查结果后重新提交。"}
    if action == "issue_advice":
        return {"advice": scenario.advice, "password": password}
    if action == "close":
        transferred = scenario.advice["disposition"] == "urgent_transfer"
        return {"outcome": "transferred" if transferred else "managed_locally", "note": "患者病情稳定。"}
    if action == "cancel":
        return {"reason": "患者已自行前往县医院就诊。"}
    return {}

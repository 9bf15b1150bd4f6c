"""`referral seed-bulk --cases N`: years of realistic referral history, for demos and benchmarks.

The workflow is simulated in memory exactly as the case services would play it
(the same statuses, hops, deadlines, routing rules, timeline events and event
payloads, messages and advice versions) and written with bulk inserts: COPY on
PostgreSQL, executemany on SQLite. Going around the services is what makes a
million cases take minutes instead of hours; tests/reports/test_bulk.py checks
that the rows agree with what the services write.

Cases spread over `years` ending now, growing over time, mostly in working
hours (Shanghai time), from every tier: village clinics to their township
health center, township cases to the county hospitals, county cases to the
provincial partners. Hops are claimed, released, asked for information,
escalated, declined and advised with delays drawn around the SLA windows (some
deadlines are missed), and cases are closed, cancelled or resubmitted; recent
cases are still open. The demo (`seed-demo`) must be loaded first: the
facilities and demo accounts come from it. Sending clinics without an account
get a disabled `bulk.*` account that cannot sign in.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources

from sqlalchemy import JSON, Table, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from ..domain import routing
from ..domain.errors import RoutingError
from ..domain.resident_id import with_check_character
from ..domain.routing import FacilityRef
from ..domain.sla import SlaPolicy
from ..domain.vocabulary import FacilityKind, Tier, Urgency
from ..models import Advice, Case, Event, Facility, Hop, Message, Partnership, Patient, User
from ..services.cases import REFERENCE_PREFIX
from ..services.sla import current_policy
from . import cases as samples

LOCAL = timedelta(hours=8)  # Shanghai: working hours are drawn in local time
DISABLED_HASH = "!bulk-account-cannot-sign-in"
BATCH = 10_000

ORIGIN_TIERS = ((Tier.VILLAGE, 0.78), (Tier.TOWNSHIP, 0.17), (Tier.COUNTY, 0.05))
URGENCIES = ((Urgency.ROUTINE, 0.58), (Urgency.URGENT, 0.34), (Urgency.EMERGENCY, 0.08))
SPECIALTIES = {
    Tier.VILLAGE: (("general_practice", 6), ("internal_medicine", 12), ("cardiology", 10), ("respiratory", 8),
                   ("endocrinology", 7), ("pediatrics", 8), ("obstetrics", 5), ("neurology", 5), ("tcm", 6),
                   ("general_surgery", 4), ("orthopedics", 4), ("dermatology", 3), ("infectious_disease", 2)),
    Tier.TOWNSHIP: (("internal_medicine", 8), ("cardiology", 10), ("respiratory", 6), ("neurology", 6),
                    ("obstetrics", 6), ("pediatrics", 6), ("tcm", 4), ("general_surgery", 5), ("orthopedics", 4),
                    ("endocrinology", 3), ("radiology", 2)),
    Tier.COUNTY: (("cardiology", 5), ("neurology", 4), ("oncology", 3), ("radiology", 3), ("obstetrics", 2),
                  ("respiratory", 2), ("endocrinology", 1)),
}
# Chance that a facility of the tier sends the case further up instead of advising.
ESCALATE = {Tier.TOWNSHIP: 0.28, Tier.COUNTY: 0.12, Tier.PROVINCIAL: 0.0}
ICD_BY_SPECIALTY = {
    "cardiology": ("I10", "I20", "I21", "I25", "I48", "I50"), "respiratory": ("J",), "endocrinology": ("E",),
    "neurology": ("G", "I6"), "obstetrics": ("O",), "pediatrics": ("B08", "J0", "J18", "A09", "R50"),
    "general_surgery": ("K",), "orthopedics": ("M", "S"), "dermatology": ("L",), "infectious_disease": ("A", "B"),
    "oncology": ("C",), "radiology": ("C", "J18", "I6"), "tcm": ("G47", "K", "M", "R"),
    "internal_medicine": ("I10", "E11", "J", "K", "N"), "general_practice": ("I10", "E11", "J", "K", "R"),
}
SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "秀兰桂英建国志强明华玉梅德明春华国平丽娟海燕文博晓燕立新永强红霞金凤淑珍宏伟子涵浩然欣怡"
MESSAGES = {
    "request_info": "请补充近期心电图/血常规结果，并上传相关影像资料。",
    "provide_info": "已补充：血常规白细胞 11.2×10⁹/L，心电图见附件。",
    "follow_up": "患者按建议用药3天后症状缓解不明显，请再次评估。",
}
REASONS = {
    "escalate": "本院缺乏相关专科诊疗条件，申请上级医院会诊。",
    "decline": "资料不全，请补充病史及检查结果后重新提交。",
    "cancel": "患者已自行前往上级医院就诊。",
}


@dataclass
class BulkReport:
    cases: int = 0
    hops: int = 0
    events: int = 0
    accounts_created: int = 0
    first_submitted: datetime | None = None
    last_submitted: datetime | None = None


# ---------------------------------------------------------------- the facility directory in memory


class MemoryDirectory:
    """`domain.routing.Directory` over facilities loaded once (routing a million cases must not query)."""

    def __init__(self, facilities: list[Facility], partnerships: list[Partnership]) -> None:
        self.by_id = {f.id: f for f in facilities}
        self.partners: dict[int, list[Partnership]] = {}
        for p in partnerships:
            self.partners.setdefault(p.facility_id, []).append(p)

    def ref(self, facility_id: int) -> FacilityRef:
        f = self.by_id[facility_id]
        return FacilityRef(f.id, Tier(f.tier), FacilityKind(f.kind), f.name)

    def parent(self, facility: FacilityRef) -> FacilityRef | None:
        parent_id = self.by_id[facility.id].parent_id
        return self.ref(parent_id) if parent_id is not None else None

    def _root(self, facility_id: int) -> Facility:
        f = self.by_id[facility_id]
        while f.parent_id is not None:
            f = self.by_id[f.parent_id]
        return f

    def county_facility(self, facility: FacilityRef, kind: FacilityKind) -> FacilityRef | None:
        root = self._root(facility.id)
        found = sorted(f.id for f in self.by_id.values() if f.tier == Tier.COUNTY.value and f.kind == kind.value
                       and (f.parent_id == root.id or f.id == root.id))
        return self.ref(found[0]) if found else None

    def partner(self, facility: FacilityRef, specialty: str) -> FacilityRef | None:
        rows = [p for p in self.partners.get(facility.id, []) if p.specialty in (specialty, None)]
        rows.sort(key=lambda p: (p.specialty is None, p.id))
        return self.ref(rows[0].partner_id) if rows else None


# ---------------------------------------------------------------- the simulation


@dataclass
class Rows:
    """Rows of one batch, per table, as dicts of column values."""

    patients: list[dict] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)
    hops: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    advice: list[dict] = field(default_factory=list)
    current_hop: list[tuple[int, int]] = field(default_factory=list)  # (case id, hop id)


@dataclass
class Ids:
    patient: int
    case: int
    hop: int
    event: int
    message: int
    advice: int

    def next(self, name: str) -> int:
        value = getattr(self, name) + 1
        setattr(self, name, value)
        return value


class _CaseState:
    """The fields of one case and its current hop while its story is played."""

    __slots__ = ("row", "hops", "hop", "status", "version", "advice_version", "author_id")

    def __init__(self, row: dict, author_id: int) -> None:
        self.row = row
        self.hops: list[dict] = []
        self.hop: dict | None = None
        self.status = "draft"
        self.version = 1
        self.advice_version = 0
        self.author_id = author_id


class Simulator:
    """Plays cases through the workflow the way services/cases.py does, writing rows instead."""

    def __init__(self, directory: MemoryDirectory, policy: SlaPolicy, doctors: dict[int, int],
                 specialists: dict[int, list[User]], rng: random.Random, ids: Ids, end: datetime) -> None:
        self.directory = directory
        self.policy = policy
        self.doctors = doctors
        self.specialists = specialists
        self.rng = rng
        self.ids = ids
        self.end = end
        self.rows = Rows()
        self._routes: dict[tuple[int, str, str], tuple[FacilityRef, str]] = {}
        self._patients: dict[int, list[int]] = {}
        self._staff: dict[tuple[int, str], list[User]] = {}
        self._id_numbers: set[str] = set()

    # -------------------------------------------------------- helpers

    def _route(self, origin_id: int, specialty: str, urgency: Urgency) -> tuple[FacilityRef, str] | None:
        key = (origin_id, specialty, urgency.value)
        if key not in self._routes:
            try:
                target, rule = routing.next_facility(self.directory.ref(origin_id), specialty, urgency,
                                                     self.directory)
                self._routes[key] = (target, rule.name)
            except RoutingError:
                self._routes[key] = None  # type: ignore[assignment]
        return self._routes[key]

    def _specialist(self, facility_id: int, specialty: str) -> User | None:
        """A specialist of the facility for the specialty (else a general practitioner, else anyone)."""
        key = (facility_id, specialty)
        if key not in self._staff:
            staff = self.specialists.get(facility_id) or []
            match: list[User] = []
            for prefer in (lambda u: specialty in (u.specialties or ()),
                           lambda u: "general_practice" in (u.specialties or ()), lambda u: True):
                match = [u for u in staff if prefer(u)]
                if match:
                    break
            self._staff[key] = match
        match = self._staff[key]
        return match[self.rng.randrange(len(match))] if match else None

    def _event(self, state: _CaseState, actor_id: int | None, kind: str, before: str | None, after: str,
               payload: dict, at: datetime) -> None:
        self.rows.events.append({
            "id": self.ids.next("event"), "case_id": state.row["id"],
            "hop_id": state.hop["id"] if state.hop is not None else None, "actor_id": actor_id, "kind": kind,
            "from_status": before, "to_status": after, "payload": payload, "created_at": at,
        })

    def _act(self, state: _CaseState, actor_id: int, kind: str, after: str, payload: dict, at: datetime) -> None:
        before = state.status
        state.status = after
        state.version += 1
        state.row["updated_at"] = at
        self._event(state, actor_id, kind, before, after, payload, at)

    def _open_hop(self, state: _CaseState, target: FacilityRef, specialty: str, rule: str, at: datetime) -> dict:
        window = self.policy.window(Urgency(state.row["urgency"]), target.tier)
        due_claim, due_advice = window.due(at)
        hop = {"id": self.ids.next("hop"), "case_id": state.row["id"], "seq": len(state.hops) + 1,
               "tier": target.tier.value, "facility_id": target.id, "specialty": specialty, "assignee_id": None,
               "routed_by": rule, "opened_at": at, "claimed_at": None, "closed_at": None,
               "due_claim_at": due_claim, "due_advice_at": due_advice, "outcome": None}
        state.hops.append(hop)
        state.hop = hop
        return {"to_facility": {"id": target.id, "name": target.name, "tier": target.tier.value}, "rule": rule,
                "due_at": due_claim.isoformat()}

    def _delay(self, minutes: float, spread: float = 0.9) -> timedelta:
        return timedelta(minutes=max(1.0, minutes * math.exp(self.rng.gauss(0, spread))))

    def _message(self, state: _CaseState, author_id: int, kind: str, action: str, at: datetime) -> dict:
        message_id = self.ids.next("message")
        self.rows.messages.append({"id": message_id, "case_id": state.row["id"], "author_id": author_id,
                                   "kind": kind, "body": MESSAGES[action], "created_at": at})
        return {"message_id": message_id, "message": MESSAGES[action]}

    # -------------------------------------------------------- a case's story

    def play(self, origin_id: int, submitted_at: datetime) -> None:
        rng = self.rng
        origin = self.directory.by_id[origin_id]
        urgency = _pick(rng, URGENCIES)
        specialty = _pick(rng, SPECIALTIES[Tier(origin.tier)])
        if self._route(origin_id, specialty, urgency) is None:
            specialty = "internal_medicine"
        author_id = self.doctors[origin_id]
        created_at = submitted_at - timedelta(minutes=rng.randint(3, 40))
        case_id = self.ids.next("case")
        content = _content(rng, specialty)
        row = {
            "id": case_id, "reference": f"{REFERENCE_PREFIX}-{created_at.year}-{case_id:06d}",
            "patient_id": self._patient(origin_id, created_at), "origin_facility_id": origin_id,
            "author_id": author_id, "urgency": urgency.value, "specialty": specialty,
            "chief_complaint": content.chief_complaint, "clinical_question": content.clinical_question,
            "history": content.history, "vitals": dict(content.vitals), "diagnoses": _diagnoses(rng, specialty),
            "status": "draft", "outcome": None, "current_hop_id": None, "version": 1, "created_at": created_at,
            "updated_at": created_at, "submitted_at": None, "closed_at": None,
        }
        state = _CaseState(row, author_id)
        self._event(state, author_id, "created", None, "draft", {}, created_at)
        if rng.random() < 0.015:
            self._finish(state)  # a draft that was never sent
            return
        row["submitted_at"] = submitted_at
        target, rule = self._route(origin_id, specialty, urgency)
        payload = self._open_hop(state, target, specialty, rule, submitted_at)
        self._act(state, author_id, "submit", "submitted", payload, submitted_at)
        self._at_facility(state, submitted_at)
        self._finish(state)

    def _at_facility(self, state: _CaseState, at: datetime) -> None:
        """One hop: wait, claim, maybe ask, then advise, escalate or decline (recursively up the tiers)."""
        rng = self.rng
        hop = state.hop
        urgency = Urgency(state.row["urgency"])
        window = self.policy.window(urgency, Tier(hop["tier"]))
        author = state.author_id
        roll = rng.random()
        if roll < 0.02:  # the doctor withdraws it before anyone claims it
            at = at + self._delay(window.claim_minutes * 0.3)
            if at > self.end:
                return
            self._close_hop(hop, "cancelled", at)
            state.row["closed_at"] = at
            self._act(state, author, "cancel", "cancelled", {"reason": REASONS["cancel"]}, at)
            return
        claim_at = hop["opened_at"] + self._delay(window.claim_minutes * 0.35)
        specialist = self._specialist(hop["facility_id"], hop["specialty"])
        if specialist is None or claim_at > self.end:
            return  # still waiting in the queue
        if roll < 0.05:  # declined without being claimed (incomplete referral)
            self._decline(state, specialist.id, claim_at)
            return
        self._claim(state, specialist, claim_at)
        at = claim_at
        if rng.random() < 0.04:  # released back to the pool, claimed again later
            at = at + self._delay(30)
            if at > self.end:
                return
            hop["assignee_id"], hop["claimed_at"] = None, None
            self._act(state, specialist.id, "release", "submitted", {"note": ""}, at)
            specialist = self._specialist(hop["facility_id"], hop["specialty"])
            at = at + self._delay(window.claim_minutes * 0.2)
            if at > self.end:
                return
            self._claim(state, specialist, at)
        if rng.random() < 0.08:  # information requested and provided
            at = at + self._delay(40)
            if at > self.end:
                return
            self._act(state, specialist.id, "request_info", "info_requested",
                      self._message(state, specialist.id, "info_request", "request_info", at), at)
            at = at + self._delay(180)
            if at > self.end:
                return
            self._act(state, author, "provide_info", "in_review",
                      self._message(state, author, "info_response", "provide_info", at), at)
        decided = hop["opened_at"] + self._delay(window.advice_minutes * 0.3, 0.8)
        at = max(decided, at + timedelta(minutes=rng.randint(5, 60)))
        if at > self.end:
            return
        tier = Tier(hop["tier"])
        roll = rng.random()
        if roll < 0.03:
            self._decline(state, specialist.id, at)
            return
        if roll < 0.03 + ESCALATE.get(tier, 0.0):
            route = self._route(hop["facility_id"], hop["specialty"], urgency)
            if route is not None:
                self._escalate(state, specialist.id, route, at)
                self._at_facility(state, at)
                return
        self._advise(state, specialist, at)

    def _claim(self, state: _CaseState, specialist: User, at: datetime) -> None:
        hop = state.hop
        hop["assignee_id"], hop["claimed_at"] = specialist.id, at
        self._act(state, specialist.id, "claim", "in_review", {"hop": hop["seq"]}, at)

    def _close_hop(self, hop: dict, outcome: str, at: datetime) -> None:
        if hop["closed_at"] is None:
            hop["closed_at"], hop["outcome"] = at, outcome

    def _decline(self, state: _CaseState, specialist_id: int, at: datetime) -> None:
        self._close_hop(state.hop, "declined", at)
        self._act(state, specialist_id, "decline", "returned", {"reason": REASONS["decline"]}, at)
        rng, author = self.rng, state.author_id
        at = at + self._delay(600)
        if at > self.end:
            return
        roll = rng.random()
        if roll < 0.5 and len(state.hops) < 6:
            origin = state.row["origin_facility_id"]
            target, rule = self._route(origin, state.row["specialty"], Urgency(state.row["urgency"]))
            payload = {"note": "已补充资料", **self._open_hop(state, target, state.row["specialty"], rule, at)}
            self._act(state, author, "resubmit", "submitted", payload, at)
            self._at_facility(state, at)
        elif roll < 0.8:
            state.row["outcome"], state.row["closed_at"] = "other", at
            self._act(state, author, "close", "closed", {"outcome": "other", "note": ""}, at)
        else:
            state.row["closed_at"] = at
            self._act(state, author, "cancel", "cancelled", {"reason": REASONS["cancel"]}, at)

    def _escalate(self, state: _CaseState, specialist_id: int, route: tuple[FacilityRef, str], at: datetime) -> None:
        hop = state.hop
        source = self.directory.by_id[hop["facility_id"]]
        self._close_hop(hop, "escalated", at)
        target, rule = route
        routed = self._open_hop(state, target, hop["specialty"], rule, at)
        payload = {"reason": REASONS["escalate"], "specialty": hop["specialty"],
                   "from_facility": {"id": source.id, "name": source.name, "tier": source.tier}, **routed}
        self._act(state, specialist_id, "escalate", "submitted", payload, at)

    def _advise(self, state: _CaseState, specialist: User, at: datetime) -> None:
        rng, hop, author = self.rng, state.hop, state.author_id
        disposition = _pick(rng, (("manage_locally", 5), ("follow_up_township", 2), ("outpatient_higher", 2),
                                  ("urgent_transfer", 1 + (state.row["urgency"] == "emergency") * 4)))
        self._issue(state, specialist, disposition, at)
        if rng.random() < 0.03:  # a follow-up question reopens the hop; the answer is a new advice version
            at = at + self._delay(1440)
            if at > self.end:
                return
            payload = self._message(state, author, "follow_up", "follow_up", at)
            hop["closed_at"], hop["outcome"] = None, None
            window = self.policy.window(Urgency(state.row["urgency"]), Tier(hop["tier"]))
            hop["due_advice_at"] = window.due(at)[1]
            self._act(state, author, "follow_up", "in_review", payload, at)
            at = at + self._delay(window.advice_minutes * 0.25)
            if at > self.end:
                return
            self._issue(state, specialist, disposition, at)
        at = at + self._delay(2880, 1.0)
        if at > self.end or rng.random() < 0.12:
            return  # advised, not (yet) closed by the doctor
        outcome = "transferred" if disposition in ("urgent_transfer", "outpatient_higher") else (
            "managed_locally" if rng.random() < 0.92 else "other")
        state.row["outcome"], state.row["closed_at"] = outcome, at
        self._act(state, author, "close", "closed", {"outcome": outcome, "note": "患者病情稳定。"}, at)

    def _issue(self, state: _CaseState, specialist: User, disposition: str, at: datetime) -> None:
        hop = state.hop
        if state.advice_version:
            self.rows.advice[-1]["superseded_at"] = at
        state.advice_version += 1
        facility = self.directory.by_id[specialist.facility_id]
        self.rows.advice.append({
            "id": self.ids.next("advice"), "case_id": state.row["id"], "hop_id": hop["id"],
            "version": state.advice_version, "signer_id": specialist.id, "signed_at": at, "superseded_at": None,
            "content": {"assessment": "结合病史及检查，考虑诊断明确。", "diagnoses": state.row["diagnoses"],
                        "recommendations": [{"kind": "treatment", "text": "对症治疗，密切观察病情变化。", "dose": "",
                                             "duration": ""}],
                        "disposition": disposition, "follow_up": "", "warning_signs": "", "key_images": []},
            "signer_credentials": {"name": specialist.display_name, "title": specialist.title,
                                   "specialties": list(specialist.specialties or ()), "facility": facility.name},
        })
        self._close_hop(hop, "advised", at)
        self._act(state, specialist.id, "issue_advice", "advised",
                  {"advice_version": state.advice_version, "disposition": disposition}, at)

    def _finish(self, state: _CaseState) -> None:
        row = state.row
        row["status"], row["version"] = state.status, state.version
        if state.hop is not None:
            self.rows.current_hop.append((row["id"], state.hop["id"]))
        self.rows.cases.append(row)
        self.rows.hops.extend(state.hops)

    def _unique_id_number(self, birth: datetime, sex: str) -> str:
        """A new ID number: the services refuse a second patient with the same one at a facility."""
        while True:
            number = _id_number(self.rng, birth, sex)
            if number not in self._id_numbers:
                self._id_numbers.add(number)
                return number

    def _patient(self, facility_id: int, at: datetime) -> int:
        known = self._patients.setdefault(facility_id, [])
        if known and self.rng.random() < 0.2:
            return known[self.rng.randrange(len(known))]  # a patient of the clinic comes back
        rng = self.rng
        patient_id = self.ids.next("patient")
        birth = datetime(1935, 1, 1) + timedelta(days=rng.randint(0, 365 * 88))
        sex = rng.choice(("male", "female"))
        self.rows.patients.append({
            "id": patient_id, "facility_id": facility_id,
            "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))),
            "sex": sex, "birth_date": birth.date(), "id_number": self._unique_id_number(birth, sex),
            "phone": f"13{rng.randint(0, 999999999):09d}", "created_at": at,
        })
        known.append(patient_id)
        if len(known) > 200:
            known.pop(0)
        return patient_id


def _pick(rng: random.Random, weighted):
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for value, w in weighted:
        x -= w
        if x <= 0:
            return value
    return weighted[-1][0]


def _id_number(rng: random.Random, birth: datetime, sex: str) -> str:
    """A well-formed resident ID number (GB 11643 check digit) in Yunxi county's region."""
    seq = rng.randint(0, 99) * 10 + (rng.choice((1, 3, 5, 7, 9)) if sex == "male" else rng.choice((0, 2, 4, 6, 8)))
    return with_check_character(f"420322{birth:%Y%m%d}{seq:03d}")


@cache
def _icd10() -> tuple[dict, ...]:
    return tuple(json.loads(resources.files("referral.data").joinpath("icd10.json").read_text("utf-8")))


@cache
def _codes_for(specialty: str) -> tuple[dict, ...]:
    prefixes = ICD_BY_SPECIALTY.get(specialty, ("I10", "J", "K"))
    found = tuple(e for e in _icd10() if e["code"].startswith(prefixes))
    return found or _icd10()


def _diagnoses(rng: random.Random, specialty: str) -> list[dict]:
    pool = _codes_for(specialty)
    chosen = rng.sample(pool, k=min(len(pool), 1 if rng.random() < 0.7 else 2))
    return [{"code": e["code"], "name": e["zh"]} for e in chosen]


def _content(rng: random.Random, specialty: str) -> samples.Scenario:
    matching = [s for s in samples.SCENARIOS if s.specialty == specialty]
    return rng.choice(matching or samples.SCENARIOS)


# ---------------------------------------------------------------- accounts and writing


def _accounts(session: Session, directory: MemoryDirectory) -> tuple[dict[int, int], dict[int, list[User]], int]:
    """A doctor for every sending facility and specialists for every receiving one (creating disabled ones)."""
    users = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
    users += list(session.scalars(select(User).where(User.username.like("bulk.%"), User.active.is_(False))))
    doctors: dict[int, int] = {}
    specialists: dict[int, list[User]] = {}
    for u in users:
        if "doctor" in (u.roles or ()) and u.facility_id not in doctors:
            doctors[u.facility_id] = u.id
        if "specialist" in (u.roles or ()):
            specialists.setdefault(u.facility_id, []).append(u)
    created = 0
    for f in sorted(directory.by_id.values(), key=lambda f: f.id):
        tier = Tier(f.tier)
        sends = tier is Tier.VILLAGE or (tier is Tier.TOWNSHIP) or f.kind in ("general_hospital", "tcm_hospital",
                                                                                 "mch_hospital")
        receives = tier is not Tier.VILLAGE and (f.specialties or tier is Tier.PROVINCIAL)
        if sends and f.id not in doctors:
            user = _bulk_user(session, f, "doctor", ["doctor"], ["general_practice"])
            doctors[f.id] = user.id
            created += 1
        if receives and f.id not in specialists:
            user = _bulk_user(session, f, "specialist", ["specialist"], ["general_practice", *(f.specialties or [])])
            specialists[f.id] = [user]
            created += 1
    session.commit()
    return doctors, specialists, created


def _bulk_user(session: Session, f: Facility, role: str, roles: list[str], specialties: list[str]) -> User:
    suffix = "医生" if role == "doctor" else "专家"
    user = User(username=f"bulk.{f.code.lower()}.{role}", display_name=f"{f.name[:20]}{suffix}",
                title="医师", password_hash=DISABLED_HASH, facility_id=f.id, roles=roles,
                specialties=sorted(set(specialties)), active=False)
    session.add(user)
    session.flush()
    return user


def _next_ids(session: Session) -> Ids:
    def top(model) -> int:
        return session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0

    return Ids(top(Patient), top(Case), top(Hop), top(Event), top(Message), top(Advice))


def _submission_times(rng: random.Random, n: int, end: datetime, years: float) -> list[datetime]:
    """`n` submission instants over `years` before `end`, growing over time, mostly in local working hours."""
    span = timedelta(days=365.25 * years)
    start = end - span
    days = span.days
    hours = [0.2] * 7 + [1.0, 3.0, 4.0, 4.0, 3.0, 1.5, 2.0, 3.5, 3.5, 3.0, 2.0, 1.0, 0.6, 0.5, 0.4, 0.3, 0.2] + [0.2]
    hour_weights = list(zip(range(24), hours[:24]))
    out = []
    for _ in range(n):
        x = -1 + math.sqrt(1 + 3 * rng.random())  # density rises linearly from 1 to 2 over the span
        day = start + timedelta(days=int(x * days))
        local_midnight = (day + LOCAL).replace(hour=0, minute=0, second=0, microsecond=0) - LOCAL
        at = local_midnight + timedelta(hours=_pick(rng, hour_weights), minutes=rng.randint(0, 59),
                                        seconds=rng.randint(0, 59))
        if at >= end:
            at = end - timedelta(minutes=rng.randint(1, 600))
        out.append(at)
    out.sort()
    return out


def seed_bulk(session: Session, cases: int, *, years: float = 5.0, seed: int = 2026, end: datetime | None = None,
              progress: Callable[[int, int], None] | None = None) -> BulkReport:
    """Add `cases` simulated cases (see the module docstring); returns what was written."""
    if cases < 1:
        raise ValueError("--cases must be at least 1")
    facilities = list(session.scalars(select(Facility)))
    if not facilities:
        raise ValueError("no facilities: load the demo first (referral seed-demo)")
    directory = MemoryDirectory(facilities, list(session.scalars(select(Partnership))))
    doctors, specialists, created = _accounts(session, directory)
    ids = _next_ids(session)
    # The same seed on the same database gives the same history; a second run adds different people.
    rng = random.Random(f"{seed}:{ids.case}")
    end = (end or datetime.now(UTC)).astimezone(UTC)
    times = _submission_times(rng, cases, end, years)
    by_tier: dict[Tier, list[int]] = {}
    for f in facilities:
        if f.id in doctors:
            by_tier.setdefault(Tier(f.tier), []).append(f.id)
    origins = [(t, w) for t, w in ORIGIN_TIERS if by_tier.get(t)]
    sim = Simulator(directory, current_policy(session), doctors, specialists, rng, ids, end)
    report = BulkReport(accounts_created=created, first_submitted=times[0], last_submitted=times[-1])
    writer = _Writer(session)
    for start in range(0, cases, BATCH):
        for at in times[start:start + BATCH]:
            tier = _pick(rng, origins)
            pool = by_tier[tier]
            sim.play(pool[rng.randrange(len(pool))], at)
        rows, sim.rows = sim.rows, Rows()
        writer.write(rows)
        session.commit()
        report.cases += len(rows.cases)
        report.hops += len(rows.hops)
        report.events += len(rows.events)
        if progress is not None:
            progress(report.cases, cases)
    writer.finish()
    session.commit()
    return report


class _Writer:
    """Bulk inserts: COPY on PostgreSQL, executemany on SQLite; the current hop is set once hops exist."""

    ORDER = (("patients", Patient), ("cases", Case), ("hops", Hop), ("events", Event), ("messages", Message),
             ("advice", Advice))

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self._is_superuser: bool | None = None

    def write(self, rows: Rows) -> None:
        if self.postgres and self._superuser():
            # The rows are consistent by construction (tests/reports/test_bulk.py checks them): skipping the
            # per-row foreign-key triggers for this transaction halves the load time.
            self.session.execute(text("SET LOCAL session_replication_role = replica"))
        for attr, model in self.ORDER:
            items = getattr(rows, attr)
            if items:
                self._insert(model.__table__, items)
            if attr == "hops" and rows.current_hop:
                self._current_hops(rows.current_hop)

    def _superuser(self) -> bool:
        if self._is_superuser is None:
            self._is_superuser = self.session.execute(text("SHOW is_superuser")).scalar() == "on"
        return self._is_superuser

    def _insert(self, table: Table, items: list[dict]) -> None:
        items = _complete(table, items)
        if not self.postgres:
            self.session.execute(insert(table), items)
            return
        from psycopg.types.json import Jsonb

        names = list(items[0])
        json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
        cursor = self.session.connection().connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for item in items:
                copy.write_row([Jsonb(item[n]) if n in json_columns and item[n] is not None else item[n]
                                for n in names])

    def _current_hops(self, pairs: list[tuple[int, int]]) -> None:
        if not self.postgres:
            self.session.execute(update(Case.__table__).where(Case.__table__.c.id == bindparam("case_id")).values(
                current_hop_id=bindparam("hop_id")), [{"case_id": c, "hop_id": h} for c, h in pairs])
            return
        cursor = self.session.connection().connection.dbapi_connection.cursor()
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bulk_current_hop (case_id bigint, hop_id bigint) "
                       "ON COMMIT DELETE ROWS")
        with cursor.copy("COPY bulk_current_hop (case_id, hop_id) FROM STDIN") as copy:
            for pair in pairs:
                copy.write_row(pair)
        cursor.execute("UPDATE cases SET current_hop_id = t.hop_id FROM bulk_current_hop t WHERE cases.id = t.case_id")

    def finish(self) -> None:
        """Move PostgreSQL's id sequences past the rows written; refresh the planner's statistics."""
        if self.postgres:
            for _, model in self.ORDER:
                table = model.__table__.name
                self.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"))
            self.session.commit()
        self.session.execute(text("ANALYZE"))
        self.session.commit()


def _complete(table: Table, items: list[dict]) -> list[dict]:
    """Fill columns the simulation does not set with their model defaults (COPY knows no Python defaults)."""
    missing = [c for c in table.columns if c.name not in items[0]]
    if not missing:
        return items
    fill = {}
    for column in missing:
        default = column.default
        if default is None:
            fill[column.name] = None
        elif default.is_scalar:
            fill[column.name] = default.arg
        elif default.is_callable:
            fill[column.name] = default.arg(None)
    return [{**item, **fill} for item in items]

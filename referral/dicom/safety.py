"""Patient safety and permissions for imaging: pure rules, no Flask, no session.

A study attached to the wrong patient's case is a clinical hazard: a
specialist would advise on someone else's images. So the patient name, sex
and birth date in the DICOM header are compared with the case's patient.
When any of them disagrees, the study is flagged and hidden from the
specialists until a doctor of the case's facility confirms it belongs here.
A value missing on either side cannot disagree (anonymised exports exist);
it is reported, but does not hold the study back.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ..domain.vocabulary import Role
from ..domain.workflow import ActorFacts, CaseFacts, CaseStatus

CLOSED = {CaseStatus.CLOSED, CaseStatus.CANCELLED}


class Safety(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"
    CONFIRMED = "confirmed"


@dataclass(frozen=True)
class PatientFacts:
    name: str
    sex: str  # male | female | other | unknown | ""
    birth_date: date | None


@dataclass(frozen=True)
class Difference:
    field: str  # name | sex | birth_date
    case: str
    dicom: str

    def as_dict(self) -> dict:
        return {"field": self.field, "case": self.case, "dicom": self.dicom}


_PUNCT = re.compile(r"[\s^.,'·・\-_]+")


def _norm(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).casefold()


def name_forms(person_name: str) -> set[str]:
    """The ways a DICOM person name (groups '=', components '^') may be written in a record."""
    forms = set()
    for group in person_name.split("="):
        parts = [p for p in group.split("^") if p.strip()]
        if not parts:
            continue
        forms.add(_norm("".join(parts)))
        if len(parts) >= 2:
            forms.add(_norm(parts[1] + parts[0]))  # "San Zhang" for Zhang^San
    forms.discard("")
    return forms


def display_name(person_name: str) -> str:
    """'Zhang^San=张^三' -> '张三 (Zhang San)'; '王^秀兰' -> '王秀兰'; 'Citizen^Jan' -> 'Citizen Jan'."""
    groups = []
    for group in person_name.split("="):
        parts = [p.strip() for p in group.split("^") if p.strip()]
        if not parts:
            continue
        cjk = any(unicodedata.east_asian_width(ch) in "WF" for ch in "".join(parts))
        groups.append(("" if cjk else " ").join(parts))
    if not groups:
        return ""
    if len(groups) > 1:
        return f"{groups[1]} ({groups[0]})"
    return groups[0]


def compare_patient(case_patient: PatientFacts, dicom: PatientFacts) -> list[Difference]:
    """Where the DICOM header disagrees with the case's patient (empty: nothing disagrees)."""
    out: list[Difference] = []
    if dicom.name.strip() and case_patient.name.strip():
        if _norm(case_patient.name) not in name_forms(dicom.name):
            out.append(Difference("name", case_patient.name, display_name(dicom.name)))
    known = {"male", "female"}
    if dicom.sex in known and case_patient.sex in known and dicom.sex != case_patient.sex:
        out.append(Difference("sex", case_patient.sex, dicom.sex))
    if dicom.birth_date and case_patient.birth_date and dicom.birth_date != case_patient.birth_date:
        out.append(Difference("birth_date", case_patient.birth_date.isoformat(), dicom.birth_date.isoformat()))
    return out


def same_patient_header(a: PatientFacts, b: PatientFacts) -> bool:
    """Whether two instances of one study name the same patient (they must, or one is misfiled)."""
    names_agree = not a.name.strip() or not b.name.strip() or bool(name_forms(a.name) & name_forms(b.name))
    sex_agrees = not a.sex or not b.sex or a.sex == b.sex
    birth_agrees = a.birth_date is None or b.birth_date is None or a.birth_date == b.birth_date
    return names_agree and sex_agrees and birth_agrees


# ---------------------------------------------------------------- who may do what


def is_case_doctor(actor: ActorFacts, case: CaseFacts) -> bool:
    """A doctor of the facility that sent the case (the people who know the patient)."""
    return actor.has_role(Role.DOCTOR) and actor.facility_id == case.origin_facility_id


def may_attach(actor: ActorFacts, case: CaseFacts) -> str | None:
    """None when `actor` may attach files to the case, else the reason they may not."""
    if case.status in CLOSED:
        return "the case is closed; nothing more can be attached"
    if is_case_doctor(actor, case) or (case.assignee_id is not None and case.assignee_id == actor.user_id):
        return None
    return "only the doctors of the sending facility and the assigned specialist attach files"


def may_confirm(actor: ActorFacts, case: CaseFacts) -> bool:
    return is_case_doctor(actor, case)


def sees_unconfirmed(actor: ActorFacts, origin_facility_id: int) -> bool:
    """Flagged studies are shown to the sending facility's doctors (to confirm) and to no one else."""
    return (actor.has_role(Role.DOCTOR) and actor.facility_id == origin_facility_id) or actor.has_role(Role.SYSADMIN)


def sees_inbox(actor: ActorFacts, facility_id: int) -> bool:
    """A facility's DICOM inbox is its doctors' (and admins') to sort into cases."""
    return actor.facility_id == facility_id and (actor.has_role(Role.DOCTOR) or actor.has_role(Role.ADMIN))

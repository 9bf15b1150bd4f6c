"""The shapes of service inputs. The API validates against these and the OpenAPI
description is generated from them, so the contract and the checks are one thing."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from ..domain import resident_id
from ..domain.errors import ValidationFailed
from ..domain.specialties import specialty_codes
from ..domain.vocabulary import Outcome, Sex, Urgency

MAX_SMALL_INT = 2**31 - 1  # the largest number every integer column takes (PostgreSQL's `integer`)
RowId = Annotated[int, Field(ge=1, le=MAX_SMALL_INT)]  # the id of a row: anything else names none

Text = Annotated[str, Field(min_length=1, max_length=5000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=20000)]

ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
ID_CHECK_FAILS = "the last character does not check out: a digit is probably mistyped"
ID_NOT_A_DATE = "digits 7 to 14 are not a birth date"
ID_OTHER_BIRTH_DATE = "holds another birth date than the one given (digits 7 to 14)"
_UID = r"[0-9]+(?:\.[0-9]+)*"
KEY_IMAGE = re.compile(rf"^(?P<study>{_UID})/(?P<series>{_UID})/(?P<sop>{_UID})/(?P<frame>[1-9][0-9]{{0,5}})$")


# Control characters (Unicode category Cc) but tab, line feed and carriage return, which typed text
# has; and the bidirectional embeddings, overrides and isolates, which make text read otherwise than
# it is stored. No one types them into a clinical record: they come from a program or a paste, print
# as nothing or garble a line, and PostgreSQL refuses NUL in text outright.
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
CONTROL_MESSAGE = "contains a control character"


def has_control_character(value: Any) -> bool:
    """Whether a text, or any text inside a list, tuple, set or dict, holds a control character."""
    if isinstance(value, str):
        return CONTROL_CHARACTER.search(value) is not None
    if isinstance(value, dict):
        return any(has_control_character(k) or has_control_character(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_control_character(v) for v in value)
    return False


def control_character_fields(**texts: Any) -> dict[str, str]:
    """The named texts that hold a control character, as `ValidationFailed` fields (for input that
    does not come through a `Strict` model: forms, loose JSON bodies)."""
    return {name: CONTROL_MESSAGE for name, text in texts.items() if has_control_character(text)}


def refuse_control_characters(**texts: Any) -> None:
    """Refuse input where any of the named texts holds a control character."""
    if fields := control_character_fields(**texts):
        raise ValidationFailed("some fields contain control characters", fields=fields)


class Strict(BaseModel):
    """The base of every service input: unknown fields are refused, text is trimmed, and no text
    field (nor a text inside a list or a nested model) holds a control character."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Secrets taken as typed: compared with a hash, never stored or shown, and refusing one at sign-in
    # could lock out an account whose password was set before this rule.
    verbatim_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name not in cls.verbatim_fields and has_control_character(value):
            raise ValueError(CONTROL_MESSAGE)
        return value


class PatientIn(Strict):
    name: ShortText
    sex: Sex
    birth_date: date | None = None
    id_number: str | None = Field(default=None, description="18-character resident ID number; its check character "
                                  "and the birth date it holds are checked, and `birth_date` is taken from it when "
                                  "not given")
    phone: str | None = Field(default=None, max_length=40)

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v in (None, ""):
            return None
        v = v.upper()
        if not resident_id.FORMAT.fullmatch(v):
            raise ValueError("must be 18 characters: 17 digits and a digit or X")
        born = resident_id.birth_date_of(v)
        if born is None or not _plausible_birth_date(born):
            raise ValueError(ID_NOT_A_DATE)
        if resident_id.check_fails(v):
            raise ValueError(ID_CHECK_FAILS)
        given = info.data.get("birth_date")
        if given is not None and given != born:
            raise ValueError(ID_OTHER_BIRTH_DATE)
        return v

    @model_validator(mode="after")
    def _birth_date_from_id_number(self) -> PatientIn:
        """The birth date the ID number holds, when none was typed."""
        if self.birth_date is None and self.id_number:
            self.birth_date = resident_id.birth_date_of(self.id_number)
        return self

    @field_validator("birth_date")
    @classmethod
    def _not_future(cls, v: date | None) -> date | None:
        if v is not None and not _plausible_birth_date(v):
            raise ValueError("birth date is not plausible")
        return v


def _plausible_birth_date(d: date) -> bool:
    return date(1890, 1, 1) <= d <= date.today()


class Vitals(Strict):
    temperature_c: float | None = Field(default=None, ge=25, le=45)
    heart_rate: int | None = Field(default=None, ge=10, le=300)
    resp_rate: int | None = Field(default=None, ge=2, le=100)
    bp_systolic: int | None = Field(default=None, ge=30, le=300)
    bp_diastolic: int | None = Field(default=None, ge=10, le=200)
    spo2: int | None = Field(default=None, ge=30, le=100)
    weight_kg: float | None = Field(default=None, gt=0, le=400)
    glucose_mmol: float | None = Field(default=None, ge=0, le=60)


class Diagnosis(Strict):
    code: str = Field(description="ICD-10 code, e.g. I10")
    name: str = Field(default="", max_length=200)

    @field_validator("code")
    @classmethod
    def _icd10(cls, v: str) -> str:
        v = v.upper()
        if not ICD10.match(v):
            raise ValueError("not an ICD-10 code (e.g. I10, J18.9)")
        return v


def _known_specialty(v: str) -> str:
    if v not in specialty_codes():
        raise ValueError("unknown specialty; see GET /api/v1/specialties")
    return v


class CaseIn(Strict):
    """A new case (a draft until submitted)."""

    patient: PatientIn | None = None
    patient_id: RowId | None = Field(default=None, description="an existing patient of the caller's facility")
    urgency: Urgency
    specialty: str
    chief_complaint: Text
    clinical_question: Text
    history: LongText = ""
    vitals: Vitals = Field(default_factory=Vitals)
    diagnoses: list[Diagnosis] = Field(default_factory=list, max_length=20)

    @field_validator("specialty")
    @classmethod
    def _specialty(cls, v: str) -> str:
        return _known_specialty(v)

    @model_validator(mode="after")
    def _one_patient(self) -> "CaseIn":
        if (self.patient is None) == (self.patient_id is None):
            raise ValueError("give either patient or patient_id")
        return self


class ReasonIn(Strict):
    reason: Text


class OptionalReasonIn(Strict):
    reason: Annotated[str, Field(max_length=5000)] = ""


class NoteIn(Strict):
    note: Annotated[str, Field(max_length=5000)] = ""


class MessageIn(Strict):
    message: Text


class EscalateIn(Strict):
    reason: Text
    specialty: str | None = None

    @field_validator("specialty")
    @classmethod
    def _specialty(cls, v: str | None) -> str | None:
        return None if v in (None, "") else _known_specialty(v)


class Recommendation(Strict):
    kind: Literal["treatment", "investigation", "medication", "other"] = "treatment"
    text: Annotated[str, Field(min_length=1, max_length=2000)]
    dose: Annotated[str, Field(max_length=200)] = ""
    duration: Annotated[str, Field(max_length=200)] = ""


class AdviceIn(Strict):
    assessment: Text
    diagnoses: list[Diagnosis] = Field(default_factory=list, max_length=20)
    recommendations: list[Recommendation] | Annotated[str, Field(max_length=5000)] = Field(default_factory=list)
    disposition: Literal["manage_locally", "follow_up_township", "outpatient_higher", "urgent_transfer"]
    follow_up: Annotated[str, Field(max_length=500)] = ""
    warning_signs: Annotated[str, Field(max_length=2000)] = ""
    key_images: list[str] = Field(
        default_factory=list, max_length=8,
        description="frames of the case's studies to print: <study UID>/<series UID>/<SOP instance UID>/<frame from 1>",
    )

    @field_validator("key_images")
    @classmethod
    def _key_images(cls, v: list[str]) -> list[str]:
        for ref in v:
            match = KEY_IMAGE.match(ref)
            if match is None or any(len(match[g]) > 64 for g in ("study", "series", "sop")):
                raise ValueError("a key image is <study UID>/<series UID>/<SOP instance UID>/<frame number from 1>")
        if len(set(v)) != len(v):
            raise ValueError("a key image is listed twice")
        return v


class IssueAdviceIn(Strict):
    verbatim_fields = frozenset({"password"})

    advice: AdviceIn
    password: Annotated[str, Field(min_length=1, max_length=200)]


class CloseIn(Strict):
    outcome: Outcome
    note: Annotated[str, Field(max_length=5000)] = ""


class EmptyIn(Strict):
    pass


ACTION_INPUTS: dict[str, type[Strict]] = {
    "submit": EmptyIn,
    "cancel": OptionalReasonIn,
    "claim": EmptyIn,
    "release": NoteIn,
    "request_info": MessageIn,
    "provide_info": MessageIn,
    "escalate": EscalateIn,
    "decline": ReasonIn,
    "resubmit": NoteIn,
    "issue_advice": IssueAdviceIn,
    "follow_up": MessageIn,
    "close": CloseIn,
}


MAX_PER_PAGE = 100


def paging_problems(page: int, per_page: int) -> dict[str, str]:
    """What is wrong with a page of a list, by field: the one paging rule of every list."""
    fields = {}
    if page < 1:
        fields["page"] = "1 or more"
    if not 1 <= per_page <= MAX_PER_PAGE:
        fields["per_page"] = f"from 1 to {MAX_PER_PAGE}"
    return fields


def small_int(value: str | None) -> int | None:
    """A whole number from a form or query string, or None: ASCII digits only ("²".isdigit() is
    true in Python) and within the range every database column takes."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    number = int(value)
    return number if number <= MAX_SMALL_INT else None


_TYPE_TAGS = {"str", "int", "float", "bool", "dict", "list", "none"}


def _union_tag(part: Any) -> bool:
    """Pydantic names the arm of a union in error locations (`list[Recommendation]`, `str`);
    callers want the field's path only."""
    return isinstance(part, str) and ("[" in part or part in _TYPE_TAGS or part[:1].isupper()
                                      or part.startswith("constrained-"))


def parse(model: type[Strict], data: Any) -> Strict:
    """Validate `data` against `model`; failures become `validation` with a message per field."""
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", fields={"body": "expected an object"})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"] if not _union_tag(p)) or "body"
            msg = err["msg"].removeprefix("Value error, ")
            fields.setdefault(path, msg)
        # A union's other arm reports on the field itself; the deeper message is the useful one.
        fields = {k: v for k, v in fields.items() if not any(o.startswith(k + ".") for o in fields)}
        raise ValidationFailed("some fields are missing or invalid", fields=fields) from None

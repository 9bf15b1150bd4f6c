"""Turning HTML form fields into the service inputs (`services.inputs`), and validation
errors into messages in the user's language keyed by field, so a form can be shown
again with what the user typed and a message next to each field in error."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from ..domain.errors import DomainError, RoutingError, ValidationFailed
from ..domain.icd10 import lookup as icd10_lookup
from ..services.inputs import (ACTION_INPUTS, CONTROL_MESSAGE, ID_CHECK_FAILS, ID_NOT_A_DATE, ID_OTHER_BIRTH_DATE,
                               CaseIn, Strict, small_int)

VITALS = ("temperature_c", "heart_rate", "resp_rate", "bp_systolic", "bp_diastolic", "spo2", "weight_kg",
          "glucose_mmol")
PATIENT_FIELDS = ("name", "sex", "birth_date", "id_number", "phone")
MAX_DIAGNOSES = 20

# Messages the services give for particular fields, in the user's language.
_KNOWN_MESSAGES = {
    "must be 18 characters: 17 digits and a digit or X": _l("18 characters: 17 digits and a digit or X."),
    ID_CHECK_FAILS: _l("The last character does not check out: a digit is probably mistyped."),
    ID_NOT_A_DATE: _l("Digits 7 to 14 are not a birth date."),
    ID_OTHER_BIRTH_DATE: _l("This number holds another birth date than the one entered (digits 7 to 14)."),
    "birth date is not plausible": _l("This birth date is not plausible."),
    "not an ICD-10 code (e.g. I10, J18.9)": _l("Not an ICD-10 code (for example I10 or J18.9)."),
    "unknown specialty; see GET /api/v1/specialties": _l("Choose a specialty from the list."),
    "give either patient or patient_id": _l("Choose an existing patient or enter a new one."),
    "the password does not match": _l("The password does not match."),
    "the current password does not match": _l("The current password does not match."),
    "the new password must differ from the current one": _l("The new password must differ from the current one."),
    "at least 8 characters": _l("At least 8 characters."),
    "3-64 characters: lower-case letters, digits, . _ -": _l("3 to 64 characters: lower-case letters, digits, . _ -"),
    "one or more of doctor, specialist, admin, sysadmin": _l("Choose at least one role."),
    "unknown specialty code": _l("Choose specialties from the list."),
    "only a system administrator may grant sysadmin": _l("Only a system administrator may grant this role."),
    "a specialist needs at least one specialty": _l("A specialist needs at least one specialty."),
    "not a facility you manage": _l("Choose a facility you manage."),
    "this username is taken": _l("This username is taken."),
    "you cannot remove your own admin role": _l("You cannot remove your own administrator role."),
    "you cannot deactivate your own account": _l("You cannot deactivate your own account."),
    CONTROL_MESSAGE: _l("Contains a control character (an invisible character, perhaps pasted from another "
                        "program); remove it."),
}
_AT_MOST = re.compile(r"^at most (\d+) characters$")


def _message(err: dict) -> str:
    """One pydantic error as a sentence for the user."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return _("Required.")
    if kind == "string_too_long":
        return _("At most %(n)s characters.", n=ctx.get("max_length"))
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least %(n)s.", n=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most %(n)s.", n=ctx.get("le", ctx.get("lt")))
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return _("Enter a whole number.")
    if kind in ("float_parsing", "float_type"):
        return _("Enter a number.")
    if kind.startswith("date"):
        return _("Enter a date as YYYY-MM-DD.")
    if kind in ("enum", "literal_error"):
        return _("Choose one of the options.")
    if kind == "too_long":
        return _("Too many entries.")
    text = str(err.get("msg", "")).removeprefix("Value error, ")
    return str(_KNOWN_MESSAGES.get(text, _("Check this field.")))


def translate_fields(fields: dict[str, str]) -> dict[str, str]:
    """Field messages from a service's `ValidationFailed`, in the user's language."""
    return {k: _translate_field(v) for k, v in fields.items()}


def _translate_field(message: str) -> str:
    """One service message in the user's language; a length limit is one sentence whatever the number,
    and the input models' own words for a missing value or a choice off the list are the form's."""
    if (limit := _AT_MOST.match(message)) is not None:
        return _("At most %(n)s characters.", n=int(limit[1]))
    if message.startswith("Input should be '"):  # an enumeration's value outside the list
        return _("Choose one of the options.")
    if message in ("Field required", "String should have at least 1 character"):
        return _("Required.")
    return str(_KNOWN_MESSAGES.get(message, message))


def validate(model: type[Strict], data: dict[str, Any]) -> tuple[Strict | None, dict[str, str]]:
    """Validate against the service's own input model; errors keyed by dotted field path."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            # Model-level checks on the patient choice belong to the patient section.
            key = ".".join(loc) or "patient"
            errors.setdefault(key, _message(err))
        if "patient_id" in errors:  # a choice that names no patient (the form offers only real ones)
            errors["patient_id"] = str(_KNOWN_MESSAGES["give either patient or patient_id"])
        return None, errors


def _text(form: MultiDict, name: str) -> str:
    return (form.get(name) or "").strip()


def _optional(value: str) -> str | None:
    return value or None


def diagnoses_from(form: MultiDict, locale: str) -> list[dict]:
    """The diagnosis rows of the form, with an added one or a removed one applied."""
    rows = [{"code": c.strip().upper(), "name": n.strip()}
            for c, n in zip(form.getlist("dx_code"), form.getlist("dx_name"), strict=False) if c.strip()]
    remove = form.get("remove_dx")
    index = small_int(remove)
    if index is not None and index < len(rows):
        rows.pop(index)
    add = form.get("add_dx") or ""
    if add:
        entry = icd10_lookup(add)
        row = {"code": entry.code, "name": entry.name(locale)} if entry else {"code": add.strip().upper(), "name": ""}
        if row["code"] and all(r["code"] != row["code"] for r in rows):
            rows.append(row)
    return rows[:MAX_DIAGNOSES]


def case_data(form: MultiDict, locale: str) -> dict[str, Any]:
    """The `CaseIn` body from the new-case form."""
    data: dict[str, Any] = {
        "urgency": _text(form, "urgency"),
        "specialty": _text(form, "specialty"),
        "chief_complaint": _text(form, "chief_complaint"),
        "clinical_question": _text(form, "clinical_question"),
        "history": _text(form, "history"),
        "vitals": {k: _text(form, k) for k in VITALS if _text(form, k)},
        "diagnoses": diagnoses_from(form, locale),
    }
    choice = small_int(_text(form, "patient_choice"))
    if choice is not None:
        data["patient_id"] = choice
    else:
        data["patient"] = {
            "name": _text(form, "patient_name"),
            "sex": _text(form, "patient_sex") or "unknown",
            "birth_date": _optional(_text(form, "patient_birth_date")),
            "id_number": _optional(_text(form, "patient_id_number")),
            "phone": _optional(_text(form, "patient_phone")),
        }
    return data


def case_form_values(case) -> MultiDict:
    """A saved draft as form values, to edit it with the same form."""
    values = MultiDict({
        "patient_choice": str(case.patient_id), "urgency": case.urgency, "specialty": case.specialty,
        "chief_complaint": case.chief_complaint, "clinical_question": case.clinical_question,
        "history": case.history or "", "version": str(case.version),
    })
    for k, v in (case.vitals or {}).items():
        values[k] = str(v)
    for d in case.diagnoses or []:
        values.add("dx_code", d.get("code", ""))
        values.add("dx_name", d.get("name", ""))
    return values


def action_data(action: str, form: MultiDict) -> dict[str, Any]:
    """The fields of a workflow action from its form (names as in `services.inputs`)."""
    if action == "issue_advice":
        advice = {
            "assessment": _text(form, "assessment"),
            "disposition": _text(form, "disposition"),
            "follow_up": _text(form, "follow_up"),
            "warning_signs": _text(form, "warning_signs"),
            "recommendations": _text(form, "recommendations"),
        }
        return {"advice": advice, "password": form.get("password") or ""}
    model = ACTION_INPUTS.get(action)
    names = list(model.model_fields) if model is not None else []
    data = {name: _text(form, name) for name in names if name in form}
    if action == "escalate" and not data.get("specialty"):
        data.pop("specialty", None)
    return data


def validate_action(action: str, data: dict[str, Any]) -> dict[str, str]:
    """Errors of an action's fields, keyed as on the form (`advice.` prefixes dropped)."""
    model = ACTION_INPUTS.get(action)
    if model is None:
        return {}
    _, errors = validate(model, data)
    return {k.removeprefix("advice."): v for k, v in errors.items()}


def domain_message(exc: DomainError) -> str:
    """A refusal from a service as a sentence in the user's language."""
    code = exc.code
    if isinstance(exc, RoutingError):
        return _("No facility at the next tier can take this case for this specialty; choose another specialty "
                 "or contact the county health bureau.")
    if code == "conflict":
        return _("Someone else changed this case after you opened it. The page now shows the latest version; "
                 "check it and try again.")
    if code == "invalid_transition":
        return _("This action is no longer possible: the case has moved on. The page shows what you can do now.")
    if code == "forbidden":
        return _("You are not allowed to do this.")
    if code == "not_found":
        return _("Not found.")
    if code == "rate_limited":
        return _("Too many attempts; wait a few minutes and try again.")
    if isinstance(exc, ValidationFailed):
        return _("Some fields are missing or invalid.")
    return _("The request could not be carried out.")

"""The interface language (Simplified Chinese by default, English on request) and the labels
of the domain's coded values.

Message ids are English; `referral/translations/zh` holds the Chinese catalog.
Dates are stored in UTC and shown in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from flask import Flask, g, session
from flask_babel import Babel, get_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

from ..config import PROJECT_ROOT
from ..domain.icd10 import lookup as icd10_lookup
from ..domain.specialties import specialty
from ..models import utcnow

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
TRANSLATIONS = PROJECT_ROOT / "referral" / "translations"

try:
    from zoneinfo import ZoneInfo

    SHANGHAI: timezone = ZoneInfo("Asia/Shanghai")  # type: ignore[assignment]
except Exception:  # pragma: no cover - no tz database: China has kept UTC+8 without DST since 1991
    SHANGHAI = timezone(timedelta(hours=8), "CST")


def select_locale() -> str:
    """The signed-in user's remembered choice; before sign-in, the choice kept in the session."""
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Shanghai")
    _merge_catalogs(app)  # those of features registered before the web app
    # Templates' `_()`, `gettext` and `ngettext`: Flask-Babel's catalog, looked up once per request
    # instead of once per string. `_` is bound directly rather than through Jinja's alias, which
    # resolves `gettext` again and copies the template's context on every call made in a block
    # or loop that sets variables (most of a page's strings).
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
    app.jinja_env.filters.update(local_dt=local_dt, local_date=local_date, age=age)
    app.jinja_env.globals.update(
        label=label, labels=labels, specialty_name=specialty_name, facility_name=facility_name,
        diagnosis_name=diagnosis_name,
        current_locale=current_locale, html_lang=html_lang, now_utc=utcnow,
    )


CATALOGS = "referral.catalogs"  # app.extensions key: every feature's catalog folder, in order


def add_catalog(app: Flask, folder: Path | str) -> None:
    """Merge a feature's catalog (the `messages` domain under `folder`) into the interface's.

    Features keep their strings beside their code; the pages see one catalog. A feature may
    register before the web app has set up Flask-Babel or after: the folder joins Flask-Babel's
    translation directories once, either now or when `init_i18n` runs."""
    folders = app.extensions.setdefault(CATALOGS, [])
    if str(folder) not in folders:
        folders.append(str(folder))
    _merge_catalogs(app)


def _merge_catalogs(app: Flask) -> None:
    babel = app.extensions.get("babel")
    if babel is None:
        return
    for folder in app.extensions.get(CATALOGS, ()):
        if folder not in babel.translation_directories:
            babel.translation_directories.append(folder)


def current_locale() -> str:
    """The request's interface language, looked up once per request (pages ask hundreds of times)."""
    request_g = g._get_current_object()  # one look-up of the request's `g`, then plain attributes
    try:
        return request_g._ui_locale
    except AttributeError:
        loc = get_locale()
        cached = request_g._ui_locale = loc.language if loc is not None and loc.language in LOCALES else DEFAULT_LOCALE
        return cached


def _catalog():
    """The request's merged catalog (every feature's messages), looked up once per request and
    again only when the locale changes (Flask-Babel's `force_locale`, `refresh`)."""
    try:
        request_g = g._get_current_object()
    except RuntimeError:  # no application context: Flask-Babel answers with no translation
        return get_translations()
    try:
        locale = request_g._flask_babel.babel_locale
        cached = request_g._ui_catalog
        if locale is not None and cached[0] is locale:
            return cached[1]
    except AttributeError:  # first use in this request
        pass
    catalog = get_translations()
    babel_ctx = getattr(request_g, "_flask_babel", None)
    request_g._ui_catalog = (getattr(babel_ctx, "babel_locale", None), catalog)
    return catalog


# Translated messages without variables, per catalog: a page asks for the same few dozen.
_translated: dict[int, tuple[object, dict]] = {}


@pass_eval_context
def template_gettext(__eval_ctx, __string: str, **variables) -> str:
    """Jinja's new-style `gettext` (escaped, always %-formatted) over Flask-Babel's catalog."""
    catalog = _catalog()
    autoescape = __eval_ctx.autoescape
    if variables:
        rv = catalog.ugettext(__string)
        return (Markup(rv) if autoescape else rv) % variables
    entry = _translated.get(id(catalog))
    if entry is None or entry[0] is not catalog:
        if len(_translated) >= 16:  # one catalog per language and application; tests make many applications
            _translated.clear()
        entry = _translated[id(catalog)] = (catalog, {})
    key = (__string, autoescape)
    rv = entry[1].get(key)
    if rv is None:
        text = catalog.ugettext(__string)
        rv = entry[1][key] = (Markup(text) if autoescape else text) % {}
    return rv


@pass_eval_context
def template_ngettext(__eval_ctx, __singular: str, __plural: str, __num: int, **variables) -> str:
    """Jinja's new-style `ngettext` over Flask-Babel's catalog."""
    variables.setdefault("num", __num)
    rv = _catalog().ungettext(__singular, __plural, __num)
    return (Markup(rv) if __eval_ctx.autoescape else rv) % variables


def html_lang() -> str:
    return "zh-CN" if current_locale() == "zh" else "en"


def local_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as Shanghai wall-clock time."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).strftime(fmt)


def local_date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_dt(value, "%Y-%m-%d")
    return value.isoformat()


def age(birth: date | None) -> int | None:
    if birth is None:
        return None
    today = datetime.now(SHANGHAI).date()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def specialty_name(code: str | None) -> str:
    s = specialty(code) if code else None
    return s.name(current_locale()) if s else (code or "")


def facility_name(facility) -> str:
    if facility is None:
        return ""
    if current_locale() == "en" and getattr(facility, "name_en", ""):
        return facility.name_en
    return facility.name


def diagnosis_name(item: dict) -> str:
    """A working diagnosis in the reader's language when it is on the curated list."""
    entry = icd10_lookup(item.get("code", ""))
    if entry is not None:
        return entry.name(current_locale())
    return item.get("name") or ""


# ------------------------------------------------------------------ labels of coded values

LABELS: dict[str, dict[str, object]] = {
    "status": {
        "draft": _l("Draft"), "submitted": _l("Waiting to be claimed"), "in_review": _l("In review"),
        "info_requested": _l("Information requested"), "advised": _l("Advice given"), "returned": _l("Returned"),
        "closed": _l("Closed"), "cancelled": _l("Cancelled"),
    },
    "urgency": {"routine": _l("Routine"), "urgent": _l("Urgent"), "emergency": _l("Emergency")},
    "action": {
        "submit": _l("Submit"), "cancel": _l("Cancel the case"), "claim": _l("Claim"),
        "release": _l("Release to the pool"), "request_info": _l("Request information"),
        "provide_info": _l("Provide information"), "escalate": _l("Escalate"), "decline": _l("Decline"),
        "resubmit": _l("Resubmit"), "issue_advice": _l("Issue advice"), "follow_up": _l("Ask a follow-up question"),
        "close": _l("Close the case"),
    },
    "event": {
        "created": _l("Draft created"), "draft_updated": _l("Draft edited"), "submit": _l("Submitted"),
        "cancel": _l("Cancelled"), "claim": _l("Claimed"), "release": _l("Released to the pool"),
        "request_info": _l("Information requested"), "provide_info": _l("Information provided"),
        "escalate": _l("Escalated"), "decline": _l("Declined"), "resubmit": _l("Resubmitted"),
        "issue_advice": _l("Advice issued"), "follow_up": _l("Follow-up question"), "close": _l("Closed"),
        "attachment_added": _l("Attachment added"), "study_added": _l("Imaging study added"),
        "consult_started": _l("Video consult started"), "consult_ended": _l("Video consult ended"),
        "consult_chat": _l("Consult chat"), "consult_invited": _l("Invited to the video consult"),
        "consult_invitation_revoked": _l("Consult invitation revoked"), "consult_recording": _l("Consult recording"),
        "sla_warning": _l("Deadline warning"), "sla_breach": _l("Deadline missed"),
        "advice_pdf": _l("Advice PDF signed"),
    },
    "recording_action": {"requested": _l("requested"), "started": _l("started"),
                         "stop_requested": _l("stop requested"), "saved": _l("saved"), "failed": _l("failed")},
    "outcome": {"managed_locally": _l("Managed locally"), "transferred": _l("Transferred"), "other": _l("Other")},
    "hop_outcome": {"advised": _l("Advised"), "escalated": _l("Escalated"), "declined": _l("Declined"),
                    "cancelled": _l("Cancelled"), "released": _l("Released")},
    "disposition": {
        "manage_locally": _l("Manage at the village clinic"), "follow_up_township": _l("Follow up at the township"),
        "outpatient_higher": _l("Outpatient visit at a higher tier"), "urgent_transfer": _l("Transfer urgently"),
    },
    "sex": {"male": _l("Male"), "female": _l("Female"), "unknown": _l("Unknown")},
    "tier": {"village": _l("Village clinic"), "township": _l("Township health center"), "county": _l("County"),
             "provincial": _l("Provincial partner")},
    "role": {"doctor": _l("Doctor"), "specialist": _l("Specialist"), "admin": _l("Administrator"),
             "sysadmin": _l("System administrator")},
    "message": {"info_request": _l("Information request"), "info_response": _l("Information provided"),
                "follow_up": _l("Follow-up question")},
    "breach": {"notify": _l("notify the facility administrator"), "reopen": _l("reopen to the whole pool"),
               "escalate": _l("escalate to the next tier")},
    "routing_target": {"parent": _l("the parent facility"), "county": _l("the county facility of the kind"),
                       "partner": _l("the provincial partner for the specialty"),
                       "skip": _l("skip a tier: route as the parent would")},
    "rule": {  # the names in referral/data/routing.toml
        "village emergency to the county": _l("Village emergency straight to the county"),
        "village to its township health center": _l("Village clinic to its township health center"),
        "mothers and children to the maternal and child health hospital":
            _l("Mothers and children to the maternal and child health hospital"),
        "traditional Chinese medicine to the TCM hospital": _l("Traditional Chinese medicine to the TCM hospital"),
        "everything else to the people's hospital": _l("Everything else to the county people's hospital"),
        "county to its provincial partner": _l("County hospital to its provincial partner"),
    },
    "facility_kind": {
        "village_clinic": _l("Village clinic"), "health_center": _l("Township health center"),
        "general_hospital": _l("General hospital"), "tcm_hospital": _l("TCM hospital"),
        "mch_hospital": _l("Maternal and child health hospital"), "health_bureau": _l("Health bureau"),
        "cdc": _l("Disease control center"), "emergency_center": _l("Emergency center"),
        "supervision": _l("Health supervision"), "partner_hospital": _l("Partner hospital"),
    },
}


_label_cache: dict[tuple[str, str, str], str] = {}


class LabelMap(dict):
    """The labels of one kind of code in one language; a code without a label shows as itself."""

    def __missing__(self, code) -> str:
        return "" if code is None else str(code)


_label_maps: dict[tuple[str, str], LabelMap] = {}


def labels(kind: str) -> LabelMap:
    """Every label of `kind` in the reader's language, for lists that show one per row:
    `labels('status')[code]` is `label('status', code)`."""
    key = (current_locale(), kind)
    found = _label_maps.get(key)
    if found is None:
        found = _label_maps[key] = LabelMap({code: str(text) for code, text in LABELS.get(kind, {}).items()})
    return found


def label(kind: str, code: str | None) -> str:
    """The translated label of a coded value; the code itself when it has none.

    Translations do not change while the server runs, so each label is translated once per language."""
    if code is None:
        return ""
    key = (current_locale(), kind, str(code))
    text = _label_cache.get(key)
    if text is None:
        found = LABELS.get(kind, {}).get(str(code))
        text = _label_cache[key] = str(found) if found is not None else str(code)
    return text

"""The advice PDF: what goes on it, laid out by `templates/advice/pdf.html`.

`build_document` turns a case and one advice version into HTML plus the
assets that HTML may load (QR code, key images); `render_advice_pdf` hands
both to `referral.pdf`. Every piece of user text reaches the template as a
plain string and is escaped by Jinja's autoescape; the only markup passed in
unescaped is the project's own CSS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache

import jinja2
from markupsafe import Markup

from ..config import PROJECT_ROOT
from ..domain.icd10 import lookup as icd10_lookup
from ..domain.privacy import mask_id_number
from ..domain.specialties import specialty
from ..models import Advice, Case, Facility
from ..pdf import asset_url, font_face_css, render_pdf
from .labels import Labels

try:
    from zoneinfo import ZoneInfo

    SHANGHAI: timezone = ZoneInfo("Asia/Shanghai")  # type: ignore[assignment]
except Exception:  # pragma: no cover - no tz database: China has kept UTC+8 without DST since 1991
    SHANGHAI = timezone(timedelta(hours=8), "CST")

TEMPLATE = "advice/pdf.html"
QR_ASSET = "verify-qr.svg"
RENDER_TIMEOUT_S = 30.0
RENDER_MEMORY_MB = 768


@dataclass(frozen=True)
class KeyImage:
    """A rendered frame to print, with the caption under it."""

    asset_name: str
    data: bytes
    caption: str


@dataclass
class Document:
    html: str
    assets: dict[str, bytes] = field(default_factory=dict)


@cache
def _environment() -> jinja2.Environment:
    """A Jinja environment of our own: the PDF is rendered without Flask (CLI, background jobs)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PROJECT_ROOT / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def local_time(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def format_code(code: str) -> str:
    """ABCDEFGHJKMN -> ABCD-EFGH-JKMN: easier to read aloud and to type."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def qr_svg(text: str) -> bytes:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    return image.to_string()


def build_document(case: Case, advice: Advice, advising_facility: Facility, *, language: str, verify_url: str,
                   key_images: list[KeyImage] = (), supersedes: int | None = None) -> Document:
    """The HTML and assets of one advice version."""
    t = Labels(language)
    content = advice.content or {}
    signed = local_time(advice.signed_at)
    credentials = advice.signer_credentials or {}
    patient = case.patient
    context = {
        "t": t,
        "html_lang": "en" if t.language == "en" else "zh-CN",
        "styles": Markup(font_face_css() + _page_css(t, format_code(advice.verify_code or ""))),
        "facility": {
            "name": _facility_name(advising_facility, t.language),
            "other_name": advising_facility.name_en if t.language == "zh" else advising_facility.name,
            "address": advising_facility.address or "",
            "phone": advising_facility.phone or "",
            "tier": t.code("tier", advising_facility.tier),
        },
        "case": {
            "reference": case.reference or "",
            "urgency": t.code("urgency", case.urgency),
            "urgency_code": case.urgency,
            "specialty": _specialty_name(case.specialty, t.language),
            "submitted": local_time(case.submitted_at).strftime("%Y-%m-%d %H:%M") if case.submitted_at else "",
        },
        "patient": {
            "name": patient.name,
            "sex": t.code("sex", patient.sex),
            "age": _age(patient.birth_date, signed.date()),
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else "",
            "id_number": mask_id_number(patient.id_number) or "",
        },
        "origin": {
            "facility": _facility_name(case.origin_facility, t.language),
            "doctor": case.author.display_name or case.author.username,
            "doctor_title": case.author.title or "",
        },
        "summary": {
            "chief_complaint": case.chief_complaint,
            "clinical_question": case.clinical_question,
            "history": case.history or "",
            "vitals": _vitals(case.vitals or {}, t),
            "diagnoses": [_diagnosis(d, t.language) for d in (case.diagnoses or [])],
        },
        "advice": {
            "version": advice.version,
            "supersedes": supersedes,
            "assessment": content.get("assessment", ""),
            "diagnoses": [_diagnosis(d, t.language) for d in content.get("diagnoses") or []],
            "recommendations": _recommendations(content.get("recommendations"), t),
            "recommendations_text": content.get("recommendations") if isinstance(content.get("recommendations"), str) else "",
            "disposition": t.code("disposition", content.get("disposition")),
            "disposition_code": content.get("disposition", ""),
            "follow_up": content.get("follow_up", ""),
            "warning_signs": content.get("warning_signs", ""),
        },
        "key_images": [{"src": asset_url(k.asset_name), "caption": k.caption} for k in key_images],
        "signature": {
            "name": credentials.get("name") or "",
            "title": credentials.get("title") or "",
            "specialties": "、".join(_specialty_name(s, t.language) for s in credentials.get("specialties") or [])
            if t.language == "zh" else ", ".join(_specialty_name(s, t.language) for s in credentials.get("specialties") or []),
            "facility": credentials.get("facility") or "",
            "signed_at": signed.strftime("%Y-%m-%d %H:%M"),
            "signed_at_iso": signed.isoformat(timespec="seconds"),
        },
        "verify": {"code": format_code(advice.verify_code or ""), "url": verify_url, "qr": asset_url(QR_ASSET)},
    }
    html = _environment().get_template(TEMPLATE).render(**context)
    assets = {QR_ASSET: qr_svg(verify_url)}
    assets.update({k.asset_name: k.data for k in key_images})
    return Document(html, assets)


def render_advice_pdf(document: Document) -> bytes:
    """The PDF bytes (PDF/A-3b), rendered under the advice's time and memory limits."""
    return render_pdf(document.html, assets=document.assets, timeout_s=RENDER_TIMEOUT_S, memory_mb=RENDER_MEMORY_MB)


# ------------------------------------------------------------------ pieces


def _page_css(t: Labels, code: str) -> str:
    """Margin boxes: page numbers in the case's language, and the verification code (our own
    words and a code of [0-9A-Z-], quoted for CSS all the same)."""
    parts = re.split(r"(\{page\}|\{pages\})", t("page", page="{page}", pages="{pages}"))
    content = " ".join(
        "counter(page)" if p == "{page}" else "counter(pages)" if p == "{pages}" else _css_string(p)
        for p in parts if p
    )
    verify = _css_string(f"{t('verify_code')} {code}")
    return (f"@page {{ @bottom-center {{ content: {content}; }} @bottom-right {{ content: {verify}; }} }}\n")


def _css_string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " /-" else f"\\{ord(c):x} " for c in text) + '"'


def _facility_name(facility: Facility | None, language: str) -> str:
    if facility is None:
        return ""
    return facility.name_en if language == "en" and facility.name_en else facility.name


def _specialty_name(code: str | None, language: str) -> str:
    s = specialty(code) if code else None
    return s.name(language) if s else (code or "")


def _diagnosis(item: dict, language: str) -> dict:
    code = (item or {}).get("code", "")
    entry = icd10_lookup(code)
    name = (item or {}).get("name") or (entry.name(language) if entry else "")
    if entry is not None and language == "en":
        name = entry.en
    return {"code": code, "name": name}


def _recommendations(value, t: Labels) -> list[dict]:
    if not isinstance(value, list):
        return []
    return [
        {"kind": t.code("recommendation", r.get("kind", "other")), "text": r.get("text", ""),
         "dose": r.get("dose", ""), "duration": r.get("duration", "")}
        for r in value if isinstance(r, dict)
    ]


def _vitals(vitals: dict, t: Labels) -> list[dict]:
    out = []
    if vitals.get("bp_systolic") is not None or vitals.get("bp_diastolic") is not None:
        bp = f"{_num(vitals.get('bp_systolic'))}/{_num(vitals.get('bp_diastolic'))}"
        out.append({"label": t.code("vital", "bp"), "value": f"{bp} {t.unit('bp')}"})
    for key in ("temperature_c", "heart_rate", "resp_rate", "spo2", "weight_kg", "glucose_mmol"):
        if vitals.get(key) is not None:
            out.append({"label": t.code("vital", key), "value": f"{_num(vitals[key])} {t.unit(key)}"})
    return out


def _num(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))

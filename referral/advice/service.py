"""Advice reads for the pages, the API and the command line; the public verification.

Reads of a case's advice go through `visible_case` (404 out of scope) and are
audited. The verification by code is public and shows no patient data: only
whether the code belongs to a signed advice, whether that advice is still the
current version, who signed it where and when, and the SHA-256 of its PDF.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.errors import DomainError, Forbidden, NotFound
from ..domain.workflow import Action
from ..models import Advice, Case, User
from ..services.access import record_read, visible_case
from ..services.cases import allowed_actions
from ..services.transaction import transactional
from .images import THUMBNAIL_SIZE, KeyImageChoice, frame_renderer, key_image_choices, parse_ref
from .issuing import CODE_LENGTH, ensure_pdf, normalize_code
from .storage import PdfStore, pdf_store, read_pdf, sha256_of

log = logging.getLogger(__name__)


class PdfDamaged(DomainError):
    """The stored PDF is missing or its bytes no longer match the signed SHA-256: never served."""

    code, status = "pdf_damaged", 500


@dataclass(frozen=True)
class AdvicePdf:
    data: bytes
    filename: str
    advice: Advice


@transactional
def advice_pdf(session: Session, user: User, case_id: int, version: int, *, ip: str = "") -> AdvicePdf:
    """The signed PDF of one advice version, exactly as signed (rendered now if it was issued
    without one); the read is audited. Refuses to hand out bytes that do not match the signature."""
    case = visible_case(session, user, case_id)
    advice = session.scalars(select(Advice).where(Advice.case_id == case.id, Advice.version == version)).first()
    if advice is None:
        raise NotFound("no such advice version")
    store = _store(session)
    ensure_pdf(session, case, advice)
    record_read(session, user, "case.advice.pdf", case=case, object_type="advice", object_id=advice.id, ip=ip,
                version=advice.version)
    try:
        data = read_pdf(store, advice.pdf_path)
    except (OSError, ValueError):
        log.error("advice PDF missing: case %s version %s at %s", case.id, version, advice.pdf_path)
        raise PdfDamaged("the signed PDF is missing from the store; an administrator must restore it") from None
    if hashlib.sha256(data).hexdigest() != advice.pdf_sha256:
        log.error("advice PDF altered: case %s version %s at %s", case.id, version, advice.pdf_path)
        raise PdfDamaged("the stored PDF does not match its signature and is not served; "
                         "an administrator must restore it")
    return AdvicePdf(data, f"{case.reference or case.id}-advice-v{advice.version}.pdf", advice)


def _store(session: Session) -> PdfStore:
    store = pdf_store(session)
    if store is None:
        raise PdfDamaged("the PDF store is not configured")
    return store


# ------------------------------------------------------------------ the advice form


@dataclass
class AdviceForm:
    """What the structured advice form needs: the case, the version it amends, the images to pick."""

    case: Case
    previous: Advice | None
    key_images: list[KeyImageChoice] = field(default_factory=list)


@transactional
def advice_form(session: Session, user: User, case_id: int, *, ip: str = "") -> AdviceForm:
    """The form for the case's assignee; anyone else is refused (`forbidden`), out of scope is 404."""
    case = visible_case(session, user, case_id)
    if Action.ISSUE_ADVICE.value not in allowed_actions(case, user):
        raise Forbidden("only the specialist reviewing this case can write its advice now")
    record_read(session, user, "case.advice.form", case=case, ip=ip)
    previous = session.scalars(
        select(Advice).where(Advice.case_id == case.id).order_by(Advice.version.desc())
    ).first()
    return AdviceForm(case, previous, key_image_choices(session, case))


@transactional
def key_image_thumbnail(session: Session, user: User, case_id: int, ref: str, data_dir: Path, *, ip: str = "") -> bytes:
    """A small JPEG of a frame of the case's own studies (404 for anything else); audited."""
    case = visible_case(session, user, case_id)
    renderer = frame_renderer(Path(data_dir))
    try:
        parsed = parse_ref(ref)
        if renderer is None:
            raise LookupError(ref)
        data, _caption = renderer(session, case, parsed, THUMBNAIL_SIZE)
    except (ValueError, LookupError):
        raise NotFound("no such image in this case") from None
    except Exception as exc:  # the decoder refused the file: say so rather than fail the page
        raise NotFound(f"this image cannot be shown ({str(exc)[:200]})") from None
    record_read(session, user, "case.advice.key_image", case=case, object_type="instance", ip=ip, ref=str(parsed))
    return data


# ------------------------------------------------------------------ public verification


@dataclass(frozen=True)
class Verification:
    """The public answer for a code: `current`, `superseded` or `unknown`; no patient data."""

    status: str
    code: str
    version: int | None = None
    signed_at: datetime | None = None
    superseded_at: datetime | None = None
    latest_version: int | None = None
    signer_name: str = ""
    signer_title: str = ""
    signer_facility: str = ""
    pdf_sha256: str | None = None

    @property
    def genuine(self) -> bool:
        return self.status in ("current", "superseded")


def verify_code(session: Session, code: str) -> Verification:
    """What the verify page shows for `code` (as typed or scanned)."""
    normalized = normalize_code(code)
    if len(normalized) != CODE_LENGTH:
        return Verification("unknown", normalized[:40])
    advice = session.scalars(select(Advice).where(Advice.verify_code == normalized)).first()
    if advice is None:
        return Verification("unknown", normalized)
    latest = session.scalar(select(func.max(Advice.version)).where(Advice.case_id == advice.case_id))
    credentials = advice.signer_credentials or {}
    return Verification(
        "superseded" if advice.superseded_at is not None else "current", normalized, advice.version,
        advice.signed_at, advice.superseded_at, latest, credentials.get("name") or "", credentials.get("title") or "",
        credentials.get("facility") or "", advice.pdf_sha256,
    )


def file_matches(verification: Verification, data: bytes) -> bool:
    """Whether a PDF someone holds is byte for byte the one signed under this code."""
    return verification.genuine and verification.pdf_sha256 is not None and (
        hashlib.sha256(data).hexdigest() == verification.pdf_sha256)


# ------------------------------------------------------------------ the stored PDFs, rehashed


@dataclass
class StoreReport:
    checked: int = 0
    ok: int = 0
    not_rendered: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return len(self.missing) + len(self.mismatched)


def verify_stored_pdfs(session: Session, data_dir: Path) -> StoreReport:
    """Rehash every stored advice PDF against the SHA-256 recorded when it was signed."""
    report = StoreReport()
    store = PdfStore(Path(data_dir))
    rows = session.execute(
        select(Advice, Case.reference).join(Case, Case.id == Advice.case_id).order_by(Advice.case_id, Advice.version)
    )
    for advice, reference in rows:
        label = f"{reference or advice.case_id} v{advice.version}"
        if not advice.pdf_path:
            report.not_rendered += 1
            continue
        report.checked += 1
        try:
            actual = sha256_of(store.path_of(advice.pdf_path))
        except (OSError, ValueError):
            report.missing.append(f"{label}: {advice.pdf_path}")
            continue
        if actual != advice.pdf_sha256:
            report.mismatched.append(f"{label}: {advice.pdf_path} (recorded {advice.pdf_sha256}, found {actual})")
        else:
            report.ok += 1
    return report

"""Signing an advice version: the verification code, the PDF, its SHA-256, in the issuing transaction.

`sign_and_render` is called by the `issue_advice` workflow effect
(services/cases.py) before anything is written: if the render fails, the
effect raises and the whole transaction rolls back, so the advice is not
issued and the case stays in review. What the signature records: the signer
and their credentials at signing time (on the Advice row), the time, and the
SHA-256 of the exact PDF bytes stored.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Advice, Case, Event, Hop, User, utcnow
from ..pdf import RenderFailed
from .document import build_document, render_advice_pdf
from .images import check_key_images, collect_key_images
from .labels import language_of
from .storage import PdfStore, pdf_store, write_pdf

log = logging.getLogger(__name__)

# Crockford's base32 without the letters that read as digits (I, L, O) and U: 12 characters,
# 60 random bits, so codes cannot be guessed or enumerated from the public verify page.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12


@dataclass
class Signed:
    """What signing produced, for the timeline event."""

    verify_code: str
    pdf_sha256: str | None
    key_images_omitted: list[dict] = field(default_factory=list)

    def payload(self) -> dict:
        out: dict = {"verify_code": self.verify_code, "pdf_sha256": self.pdf_sha256}
        if self.key_images_omitted:
            out["key_images_omitted"] = self.key_images_omitted
        return out


def new_verify_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(select(Advice.id).where(Advice.verify_code == code)) is None:
            return code


def normalize_code(text: str) -> str:
    """What a person typed or scanned -> the stored form: no dashes or spaces, upper case,
    and the look-alikes Crockford's alphabet folds (O->0, I/L->1)."""
    cleaned = "".join(c for c in (text or "").upper() if c not in "- ")
    return cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def case_language(case: Case) -> str:
    """The language of the case: its author's, the doctor who asked and who will print the advice."""
    return language_of(getattr(case.author, "locale", None))


def sign_and_render(session: Session, case: Case, advice: Advice, user: User, now: datetime) -> Signed:
    """Give `advice` its verification code and, when the session knows the PDF store, its PDF.

    Raises `RenderFailed` (422 `render_failed`) when the PDF cannot be produced or stored.
    """
    check_key_images(session, case, list((advice.content or {}).get("key_images") or []))
    advice.verify_code = new_verify_code(session)
    store = pdf_store(session)
    if store is None:
        log.info("advice %s v%s issued without a PDF (no PDF store bound); it is rendered on first request",
                 case.reference, advice.version)
        return Signed(advice.verify_code, None)
    omitted = _render_and_store(session, case, advice, store)
    return Signed(advice.verify_code, advice.pdf_sha256, omitted)


def ensure_pdf(session: Session, case: Case, advice: Advice) -> bool:
    """Render and store the PDF of an advice issued without one (demo data seeded from the
    command line). Returns True when it rendered one; the caller's transaction commits it."""
    if advice.pdf_path:
        return False
    # Two first readers at once: one renders, the other waits for its row lock and finds the PDF.
    session.execute(select(Advice.id).where(Advice.id == advice.id).with_for_update())
    session.refresh(advice)
    if advice.pdf_path:
        return False
    store = pdf_store(session)
    if store is None:
        raise RenderFailed("the PDF store is not configured", reason="storage")
    omitted = _render_and_store(session, case, advice, store)
    payload = {"advice_version": advice.version, "pdf_sha256": advice.pdf_sha256, "verify_code": advice.verify_code}
    if omitted:
        payload["key_images_omitted"] = omitted
    session.add(Event(case_id=case.id, hop_id=advice.hop_id, actor_id=None, kind="advice_pdf",
                      payload=payload, created_at=utcnow()))
    return True


def _render_and_store(session: Session, case: Case, advice: Advice, store: PdfStore) -> list[dict]:
    hop = session.get(Hop, advice.hop_id)
    key_images, omitted = collect_key_images(session, case, list((advice.content or {}).get("key_images") or []),
                                              store.data_dir)
    document = build_document(
        case, advice, hop.facility, language=case_language(case), verify_url=store.verify_url(advice.verify_code),
        key_images=key_images, supersedes=advice.version - 1 if advice.version > 1 else None,
    )
    pdf = render_advice_pdf(document)
    try:
        advice.pdf_path, advice.pdf_sha256 = write_pdf(store, pdf, session)
    except OSError as exc:
        log.exception("storing the advice PDF failed")
        raise RenderFailed(f"the PDF could not be stored ({exc.strerror or exc})", reason="storage") from None
    return omitted

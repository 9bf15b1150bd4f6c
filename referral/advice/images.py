"""Key images: frames of the case's DICOM studies that the specialist chose for the PDF.

A key image is referenced as "<study_uid>/<series_uid>/<sop_uid>/<frame>"
(frame numbers start at 1, as in WADO-RS). When the PDF is rendered, each
reference is resolved against the case's own studies only and rendered to a
JPEG by the DICOM feature's renderer; a reference that cannot be resolved or
rendered is left out of the PDF and reported back (never a reason to refuse
the advice, never a way to reach another case's images).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import ValidationFailed
from ..models import Case
from ..services.inputs import KEY_IMAGE
from .document import KeyImage

log = logging.getLogger(__name__)

PRINT_SIZE = 768  # pixels, longest side: sharp at 82 mm wide
THUMBNAIL_SIZE = 192  # in the advice form


@dataclass(frozen=True)
class KeyImageRef:
    study_uid: str
    series_uid: str
    sop_uid: str
    frame: int  # 1-based

    def __str__(self) -> str:
        return f"{self.study_uid}/{self.series_uid}/{self.sop_uid}/{self.frame}"


def parse_ref(text: str) -> KeyImageRef:
    """Parse a key image reference; ValueError with the expected shape when it is not one."""
    match = KEY_IMAGE.match(text or "")
    if match is None or any(len(match[g]) > 64 for g in ("study", "series", "sop")):
        raise ValueError("a key image is <study UID>/<series UID>/<SOP instance UID>/<frame number from 1>")
    return KeyImageRef(match["study"], match["series"], match["sop"], int(match["frame"]))


@dataclass(frozen=True)
class KeyImageChoice:
    """A frame the advice form offers: its reference and what to call it."""

    ref: str
    study_uid: str
    series_uid: str
    sop_uid: str
    frame: int
    caption: str


def _visible_studies(session: Session, case: Case):
    """The case's own studies that may be shown: not those held back for a patient mismatch."""
    from ..models import Study

    return session.scalars(
        select(Study).where(Study.case_id == case.id, Study.safety != "mismatch").order_by(Study.id)
    ).all()


def key_image_choices(session: Session, case: Case, limit: int = 60) -> list[KeyImageChoice]:
    """Frames of the case's studies to choose from: the middle frame of each series' instances,
    sampled so a long CT series offers a handful, not hundreds."""
    choices: list[KeyImageChoice] = []
    for study in _visible_studies(session, case):
        for series in study.series:
            instances = list(series.instances)
            step = max(1, len(instances) // 6)
            for instance in instances[::step][:6]:
                frame = max(1, (instance.frames + 1) // 2)
                choices.append(KeyImageChoice(
                    f"{study.study_uid}/{series.series_uid}/{instance.sop_uid}/{frame}", study.study_uid,
                    series.series_uid, instance.sop_uid, frame, _caption(study, series, instance, frame)))
                if len(choices) >= limit:
                    return choices
    return choices


def _caption(study, series, instance, frame: int) -> str:
    parts = [p for p in (series.modality or "", study.description or series.description or "",
                         study.study_date.isoformat() if study.study_date else "") if p]
    where = f"#{instance.number}" if instance.number is not None else ""
    if instance.frames > 1:
        where += f" ({frame}/{instance.frames})"
    return " · ".join(parts + ([where.strip()] if where.strip() else []))


def _find_instance(session: Session, case: Case, ref: KeyImageRef):
    from ..models import Instance, Series, Study

    row = session.execute(
        select(Study, Series, Instance)
        .join(Series, Series.study_id == Study.id)
        .join(Instance, Instance.series_id == Series.id)
        .where(Study.case_id == case.id, Study.safety != "mismatch", Study.study_uid == ref.study_uid,
               Series.series_uid == ref.series_uid, Instance.sop_uid == ref.sop_uid)
    ).first()
    if row is None or ref.frame > (row[2].frames or 1):
        raise LookupError(str(ref))
    return row


# (session, case, ref[, size]) -> (JPEG bytes, caption); raises LookupError when the case has no such frame.
FrameRenderer = Callable[..., tuple[bytes, str]]


def frame_renderer(data_dir: Path) -> FrameRenderer | None:
    """A renderer of the case's frames through the DICOM feature's decoder pool and frame cache,
    or None when that feature is not installed."""
    try:
        from ..dicom.frames import FrameCache
        from ..dicom.limits import DEFAULT_LIMITS
        from ..dicom.render import RenderRequest
        from ..dicom.sandbox import decoder_pool
        from ..dicom.store import BlobStore
    except ImportError:
        return None
    frames = FrameCache(BlobStore(data_dir), decoder_pool(DEFAULT_LIMITS))

    def render(session: Session, case: Case, ref: KeyImageRef, size: int = PRINT_SIZE) -> tuple[bytes, str]:
        study, series, instance = _find_instance(session, case, ref)
        request = RenderRequest(frame=ref.frame - 1, size=size, format="jpeg", quality=88)
        rendered = frames.rendered(instance.file.sha256, request)
        data = rendered.data if hasattr(rendered, "data") else rendered  # Rendered(data, window), or bytes
        return data, _caption(study, series, instance, ref.frame)

    return render


def check_key_images(session: Session, case: Case, refs: list[str]) -> None:
    """Refuse (`validation`) references that are not frames of the case's own visible studies."""
    unknown = {}
    for index, text in enumerate(refs):
        try:
            _find_instance(session, case, parse_ref(text))
        except (ValueError, LookupError):
            unknown[f"advice.key_images.{index}"] = "not an image of this case's studies"
    if unknown:
        raise ValidationFailed("some key images are not images of this case", fields=unknown)


def collect_key_images(session: Session, case: Case, refs: list[str], data_dir: Path) -> tuple[list[KeyImage], list[dict]]:
    """The key images to print, and the ones left out with the reason: a frame that is gone or
    cannot be rendered, or DICOM rendering being unavailable, leaves that image out."""
    images: list[KeyImage] = []
    omitted: list[dict] = []
    renderer = frame_renderer(data_dir) if refs else None
    for index, text in enumerate(refs):
        try:
            ref = parse_ref(text)
        except ValueError as exc:
            omitted.append({"ref": text[:300], "reason": str(exc)})
            continue
        if renderer is None:
            omitted.append({"ref": str(ref), "reason": "DICOM rendering is not available"})
            continue
        try:
            data, caption = renderer(session, case, ref)
        except LookupError:
            omitted.append({"ref": str(ref), "reason": "not an image of this case's studies"})
            continue
        except Exception as exc:  # a broken file must not stop the advice; say which and why
            log.warning("key image %s of case %s could not be rendered: %s", ref, case.id, exc)
            omitted.append({"ref": str(ref), "reason": f"could not be rendered: {str(exc)[:200]}"})
            continue
        images.append(KeyImage(f"key-image-{index + 1}.jpg", data, caption))
    return images, omitted

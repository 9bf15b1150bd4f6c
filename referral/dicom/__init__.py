"""DICOM imaging: intake, content-addressed storage, index, rendering, DICOMweb,
the C-STORE listener and the viewer page.

`Imaging` is what an application (or the listener, or the CLI) holds at run
time: the file store, the limits every input is held to, and the decoder
pool. `register_dicom(app)` wires the routes into a Flask application.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, after_this_request, current_app, has_request_context

from ..config import Settings
from .frames import FrameCache
from .intake import Receiver
from .limits import DEFAULT_LIMITS, Limits
from .render import Rendered, RenderRequest
from .sandbox import DecoderPool, decoder_pool
from .store import BlobStore


@dataclass
class Imaging:
    store: BlobStore
    limits: Limits

    @property
    def pool(self) -> DecoderPool:
        return decoder_pool(self.limits)

    @property
    def frames(self) -> FrameCache:
        return FrameCache(self.store, self.pool, self.limits.frame_cache_bytes)

    def receiver(self, workdir: Path) -> Receiver:
        return Receiver(self.store, workdir, self.limits, check_pixels=self.pool.check)

    def render(self, sha256: str, request: RenderRequest, facts: dict | None = None) -> Rendered:
        """One frame, rendered or from the cache; `facts` (the index's, if known) speed it up.
        In a request, a frame rendered now is cached once the answer has gone out."""
        facts = facts or {}
        window = facts.get("window")
        return self.frames.rendered(sha256, request, tuple(window) if window else None, facts.get("layout"),
                                    later=after_response if has_request_context() else None)

    @property
    def uploads_dir(self) -> Path:
        return self.store.root / "uploads"


def after_response(work: Callable[[], None]) -> None:
    """Run `work` when the current request's answer has been sent (its iterable is closed)."""
    @after_this_request
    def _register(response: Response) -> Response:
        response.call_on_close(work)
        return response


def imaging_for(settings: Settings) -> Imaging:
    """The imaging runtime for these settings; `settings.extra["dicom_limits"]` may tighten the limits,
    `settings.extra["frame_cache_bytes"]` sets the disk budget of rendered frames."""
    from dataclasses import replace

    limits = settings.extra.get("dicom_limits") or DEFAULT_LIMITS
    if limits.max_file_bytes > settings.max_upload_bytes:
        limits = replace(limits, max_file_bytes=settings.max_upload_bytes)
    if settings.extra.get("frame_cache_bytes") is not None:
        limits = replace(limits, frame_cache_bytes=int(settings.extra["frame_cache_bytes"]))
    return Imaging(BlobStore(Path(settings.data_dir)), limits)


def imaging() -> Imaging:
    return current_app.extensions["imaging"]


def register_dicom(app: Flask) -> None:
    """Routes of the imaging feature: the attachment API, DICOMweb, and the viewer pages.

    Call before `register_api`: the attachment routes join the API blueprint on import.
    """
    from ..api import attachments  # noqa: F401 - registers its routes on the API blueprint
    from . import dicomweb, views

    app.extensions["imaging"] = imaging_for(app.extensions["referral"].settings)
    app.register_blueprint(dicomweb.bp)
    app.register_blueprint(views.bp)
    views.init_templates(app)

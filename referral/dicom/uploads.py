"""The upload steps both adapters share (the REST API with a bearer token, the case
page with the login session): receive a multipart batch, append a chunk to a
resumable upload, finish it. Each parses input, calls one service, and leaves
the HTTP specifics (status codes, JSON) to its adapter.

A resumable upload keeps its bytes in `uploads/<token>.part` under the data
directory. Every chunk names the offset it starts at; it is accepted only
when that is exactly how many bytes are already there, and it is fsynced
before the new offset is acknowledged. So after a dropped connection the
client asks for the offset and sends the rest, and a 200 MB study over a link
that breaks still arrives whole.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from flask import Request
from sqlalchemy.orm import Session

from ..disk_space import is_disk_full, storage_full
from ..domain.errors import Conflict, Forbidden, TooLarge, ValidationFailed
from ..models import UploadSession, User
from ..services import attachments as service
from . import Imaging
from .content_coding import decoded_body, request_body
from .intake import display_name
from .limits import human_bytes
from .multipart import boundary_of, form_file, staged_parts
from .store import Staged, sha256_of, write_all

PIECE = 64 * 1024


def receive_files(session: Session, imaging: Imaging, user: User, case_id: int,
                  files: Iterable[tuple[str | None, BinaryIO]], *, source: str = "upload") -> service.AttachResult:
    """Judge, store and attach a batch of files."""
    with imaging.store.workdir() as workdir:
        intake = imaging.receiver(workdir).take_streams(files)
        return service.attach_files(session, user, case_id, intake, imaging.store, source=source)


def receive_request(session: Session, imaging: Imaging, user: User, case_id: int, request: Request, *,
                    source: str = "upload") -> service.AttachResult:
    """The multipart field `file` of a request, written straight into staging and hashed on the way
    (`multipart.py`); each file is judged as soon as its last byte has arrived.

    When something read the form before (the pages' CSRF check does), its parsed files are used.
    A body sent with `Content-Encoding: gzip` is inflated on the way (`content_coding.py`).
    """
    with imaging.store.workdir() as workdir:
        receiver = imaging.receiver(workdir)
        boundary = boundary_of(request.content_type or "")
        body = request_body(request, imaging.limits.max_file_bytes)
        if "files" in request.__dict__ or "form" in request.__dict__:
            if body is not request.stream:
                raise ValidationFailed("a compressed body needs the CSRF token in the X-CSRFToken header",
                                       fields={"X-CSRFToken": "required with Content-Encoding"})
            receiver.take_streams((f.filename, f.stream) for f in request.files.getlist("file"))
        elif request.mimetype == "multipart/form-data" and boundary:
            parts = staged_parts(body, boundary, workdir, form_file, max_parts=request.max_form_parts)
            for _, filename, staged in parts:
                if staged is None:
                    continue  # another field
                imaging.store.sync_soon(staged.path, staged.sha256)  # the disk writes it while the file is judged
                receiver.take_written(display_name(filename), staged)
        return service.attach_files(session, user, case_id, receiver.intake, imaging.store, source=source)


def chunk_offset(request: Request) -> int:
    """Where a chunk starts: the `Upload-Offset` header (or `?offset=`), a whole number of bytes."""
    raw = request.headers.get("Upload-Offset", request.args.get("offset", ""))
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed("where does this chunk start?",
                               fields={"Upload-Offset": "the byte offset, an integer"}) from None
    if value < 0:
        raise ValidationFailed("where does this chunk start?", fields={"Upload-Offset": "zero or more"})
    return value


def start_upload(session: Session, imaging: Imaging, user: User, case_id: int, body: dict) -> UploadSession:
    """Open a resumable upload; uploads abandoned for longer than a week are swept away first."""
    for token in service.expired_uploads(session):
        (imaging.uploads_dir / f"{token}.part").unlink(missing_ok=True)
    return service.start_upload(session, user, case_id, body.get("filename"), body.get("size"), body.get("sha256"),
                                imaging.limits.max_file_bytes)


def part_path(imaging: Imaging, upload: UploadSession) -> Path:
    return imaging.uploads_dir / f"{upload.token}.part"


def received(imaging: Imaging, upload: UploadSession) -> int:
    try:
        return part_path(imaging, upload).stat().st_size
    except FileNotFoundError:
        return 0


def append_chunk(imaging: Imaging, upload: UploadSession, offset: int, stream: BinaryIO,
                 length: int | None, encoding: str | None = None) -> int:
    """Append one chunk at `offset`; return the new offset (the bytes now safely on disk).

    A chunk sent with `Content-Encoding: gzip` is inflated as it is read; offsets and limits count
    the file's own bytes. Such a chunk is kept only whole: gzip's checksum comes at its end, and a
    damaged body inflates to wrong bytes before anything notices, so a chunk that fails or stops
    early leaves the upload where it was (a plain chunk keeps what arrived: TCP delivered it intact).
    """
    limit = imaging.limits.max_chunk_bytes
    if length is not None and length > limit:
        raise TooLarge(f"a chunk may be at most {human_bytes(limit)}", limit=limit)
    decoded = decoded_body(stream, encoding, limit + 1)
    compressed, stream = decoded is not stream, decoded
    path = part_path(imaging, upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab", buffering=0) as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        current = os.fstat(fh.fileno()).st_size
        if offset != current:
            raise Conflict(f"this upload has {current} bytes; send the chunk that starts there", offset=current)
        written = 0
        try:
            while True:
                # Small reads: when the link drops mid-chunk, all but the last piece is kept.
                chunk = stream.read(min(PIECE, limit + 1 - written))
                if not chunk:
                    break
                if written + len(chunk) > limit or current + written + len(chunk) > upload.size:
                    fh.truncate(current)
                    if written + len(chunk) > limit:
                        raise TooLarge(f"a chunk may be at most {human_bytes(limit)}", limit=limit)
                    raise ValidationFailed("the chunk goes past the size declared for the file",
                                           fields={"size": f"{upload.size} bytes were declared"})
                write_all(fh.write, chunk)
                written += len(chunk)
        except OSError as exc:
            if not is_disk_full(exc):
                if compressed:
                    fh.truncate(current)
                raise
            fh.truncate(current)  # the chunk is sent again once there is room; it takes none meanwhile
            raise storage_full(exc, f"a chunk of upload {upload.token}") from None
        except BaseException:
            if compressed:
                fh.truncate(current)  # unverified inflated bytes are no prefix of the file
            raise
        finally:
            # What arrived before a dropped connection is kept: it is a correct prefix of the file.
            os.fsync(fh.fileno())
        return current + written


def finish_upload(session: Session, imaging: Imaging, user: User, case_id: int, token: str) -> service.AttachResult:
    """The last step of a resumable upload: check it is whole, then judge and attach it like a batch."""
    upload = service.get_upload(session, user, case_id, token)
    path = part_path(imaging, upload)
    have = received(imaging, upload)
    if have != upload.size:
        raise Conflict(f"the upload is incomplete: {have} of {upload.size} bytes arrived", offset=have)
    sha = sha256_of(path)
    name = display_name(upload.filename)
    if upload.sha256 and sha != upload.sha256:
        path.unlink(missing_ok=True)
        service.end_upload(session, user, case_id, token)
        raise ValidationFailed(f"{name}: the file arrived different from what was sent (SHA-256 mismatch); "
                               "send it again", fields={"sha256": "does not match the received bytes"})
    with imaging.store.workdir() as workdir:
        # A second name for the bytes: the part file survives a failure that is worth retrying.
        staged_path = workdir / f"upload-{upload.token}"
        os.link(path, staged_path)
        os.utime(staged_path)  # in use now, however long ago its last chunk came (see `gc.collect`)
        receiver = imaging.receiver(workdir)
        receiver.take_staged(name, Staged(staged_path, have, sha, False))
        try:
            result = service.attach_files(session, user, case_id, receiver.intake, imaging.store, source="upload")
        except (ValidationFailed, TooLarge, Forbidden):
            cancel_upload(session, imaging, user, case_id, token)  # the same bytes would fail again
            raise
    cancel_upload(session, imaging, user, case_id, token)
    return result


def cancel_upload(session: Session, imaging: Imaging, user: User, case_id: int, token: str) -> None:
    upload = service.end_upload(session, user, case_id, token)
    part_path(imaging, upload).unlink(missing_ok=True)


def upload_json(imaging: Imaging, upload: UploadSession, base: str) -> dict:
    return {"upload_id": upload.token, "filename": upload.filename, "size": upload.size,
            "offset": received(imaging, upload), "chunk_limit": imaging.limits.max_chunk_bytes,
            "expires_at": upload.expires_at.isoformat().replace("+00:00", "Z"), "url": f"{base}/{upload.token}"}

"""Recording a consult: requested by a specialist in the room, made by the consult agent (a
participant everybody sees), saved as a WebM file under `<data dir>/recordings/` and attached to the
case, playable by whoever may see the case or is in its room."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..domain.consult import may_record
from ..domain.errors import Conflict, Forbidden, NotFound
from ..models import Case, Recording, User, utcnow
from ..services.access import record_read, visible_case_ref
from ..services.actors import actor_facts
from ..services.transaction import transactional
from ..domain.consult import RoomFacts
from .rooms import require_member, room_facts
from .sessions import open_session
from .timeline import append_event

ACTIVE = ("starting", "recording")
RECORDINGS_DIR = "recordings"


def recordings_root(data_dir: Path) -> Path:
    return Path(data_dir) / RECORDINGS_DIR


def relative_path(case_id: int, recording_id: int) -> str:
    """Where a recording lives, relative to the data directory."""
    return f"{RECORDINGS_DIR}/case-{case_id}/recording-{recording_id}.webm"


def file_of(data_dir: Path, recording: Recording) -> Path:
    """The recording's file, refusing any stored path that would lead outside the recordings folder."""
    if not recording.path:
        raise NotFound("the recording has no file yet")
    root = recordings_root(data_dir).resolve()
    path = (Path(data_dir) / recording.path).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound("the recording's file is missing")
    return path


def active_recording(session: Session, case_id: int) -> Recording | None:
    return session.scalars(
        select(Recording).where(Recording.case_id == case_id, Recording.status.in_(ACTIVE)).order_by(Recording.id.desc())
    ).first()


@transactional
def request_recording(session: Session, user: User, case_id: int, *, now: datetime | None = None) -> Recording:
    """A specialist in the room asks for the consult to be recorded; the agent will join and record."""
    facts = require_member(session, user, case_id)
    if not may_record(facts, actor_facts(user)):
        raise Forbidden("only the specialists of the consult may record it")
    if active_recording(session, case_id) is not None:
        raise Conflict("a recording of this consult is already running")
    now = now or utcnow()
    consult = open_session(session, case_id)
    recording = Recording(case_id=case_id, session_id=consult.id if consult else None, requested_by_id=user.id,
                          status="starting", started_at=now)
    session.add(recording)
    session.flush()
    append_event(session, case_id, user, "consult_recording", now, action="requested", recording_id=recording.id)
    return recording


@transactional
def recorder_joined(session: Session, user: User, case_id: int, recording_id: object,
                    *, now: datetime | None = None) -> Recording:
    """The agent joined the room for a requested recording: recording starts now, visibly."""
    if not isinstance(recording_id, int) or isinstance(recording_id, bool):
        raise NotFound("no such recording")
    recording = session.get(Recording, recording_id)
    if recording is None or recording.case_id != case_id or recording.requested_by_id != user.id:
        raise NotFound("no such recording")
    if recording.status == "recording":  # the recorder reconnected after a network drop
        return recording
    if recording.status != "starting":
        raise Conflict("this recording is not waiting for a recorder")
    now = now or utcnow()
    recording.status, recording.started_at = "recording", now
    append_event(session, case_id, user, "consult_recording", now, action="started", recording_id=recording.id)
    return recording


@transactional
def request_stop(session: Session, user: User, case_id: int, *, now: datetime | None = None) -> Recording:
    """A specialist of the consult stops the running recording."""
    facts = require_member(session, user, case_id)
    if not may_record(facts, actor_facts(user)):
        raise Forbidden("only the specialists of the consult may stop a recording")
    recording = active_recording(session, case_id)
    if recording is None:
        raise NotFound("no recording is running")
    now = now or utcnow()
    recording.stop_requested_at = recording.stop_requested_at or now
    append_event(session, case_id, user, "consult_recording", now, action="stop_requested", recording_id=recording.id)
    return recording


@transactional
def finish_recording(session: Session, recording_id: int, *, path: str, size_bytes: int, sha256: str,
                     duration_seconds: float, now: datetime | None = None) -> Recording:
    """The agent saved the file (atomically, already in place): attach it to the case."""
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise NotFound("no such recording")
    now = now or utcnow()
    recording.status, recording.ended_at, recording.path = "ready", now, path
    recording.size_bytes, recording.sha256, recording.duration_seconds = size_bytes, sha256, duration_seconds
    append_event(session, recording.case_id, recording.requested_by, "consult_recording", now, action="saved",
                 recording_id=recording.id, duration_seconds=round(duration_seconds, 1), size_bytes=size_bytes,
                 sha256=sha256)
    return recording


@transactional
def fail_recording(session: Session, recording_id: int, error: str, *, now: datetime | None = None) -> Recording | None:
    """The recording could not be made (agent failed to start, crashed): say so on the timeline."""
    recording = session.get(Recording, recording_id)
    if recording is None or recording.status not in ACTIVE:
        return None
    now = now or utcnow()
    recording.status, recording.ended_at, recording.error = "failed", now, error[:2000]
    append_event(session, recording.case_id, None, "consult_recording", now, action="failed",
                 recording_id=recording.id, error=error[:200])
    return recording


def _may_view(session: Session, user: User, case_id: int, facts: RoomFacts | None = None) -> None:
    """Members of the room and readers of the case may see its recordings; `not_found` for others."""
    if facts is None or facts.case_id != case_id:
        facts = room_facts(session, case_id)
    if facts is not None and user.active and user.id in facts.members:
        return
    visible_case_ref(session, user, case_id)


def list_recordings(session: Session, user: User, case_id: int, *, facts: RoomFacts | None = None
                    ) -> list[Recording]:
    """The case's recordings, newest first, for those who may see the case or are in its room
    (`facts`: the room's, when the caller has just read them)."""
    _may_view(session, user, case_id, facts)
    return list(session.scalars(_CASE_RECORDINGS, {"case_id": case_id}))


_CASE_RECORDINGS = select(Recording).where(Recording.case_id == bindparam("case_id")).order_by(Recording.id.desc())


@transactional
def open_recording(session: Session, user: User, case_id: int, recording_id: int, data_dir: Path,
                   *, audit: bool = True, ip: str = "") -> tuple[Recording, Path]:
    """A ready recording and its file, for playback; the viewing is audited."""
    _may_view(session, user, case_id)
    recording = session.get(Recording, recording_id)
    if recording is None or recording.case_id != case_id or recording.status != "ready":
        raise NotFound("no such recording")
    path = file_of(data_dir, recording)
    if audit:
        record_read(session, user, "consult.recording.play", case=session.get(Case, case_id),
                    object_type="recording", object_id=recording.id, ip=ip)
    return recording, path

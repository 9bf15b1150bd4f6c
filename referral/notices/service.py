"""Emergency notices: the county admin reaches every targeted facility at once and tracks who read it.

A notice resolves its audience (tiers and facilities, within the sender's
jurisdiction) to facilities when it is sent; every active user of each facility
gets a notification, live and in their list. A facility acknowledges once (the
first of its staff to do so); the sender's board shows acknowledged and
outstanding facilities and updates live; resending reaches only the outstanding.
Notices are never deleted.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from ..domain.errors import Conflict, Forbidden, NotFound, TooLarge, ValidationFailed
from ..domain.vocabulary import Role, Tier
from ..models import EmergencyNotice, Facility, NoticeAttachment, NoticeTarget, Notification, User, utcnow
from ..notifications import Kind, notify_users
from ..notifications.delivery import queue_push
from ..notifications.rules import notice_link
from ..notifications.service import READ_EVENT, people_at, unread_count
from ..services.actors import facility_subtree
from ..services.inputs import Strict, parse
from ..services.statements import plain_rows
from ..services.sla import is_county_admin
from ..services.transaction import transactional

LEVELS = ("blue", "yellow", "orange", "red")
TARGET_TIERS = (Tier.VILLAGE, Tier.TOWNSHIP, Tier.COUNTY)
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
ACK_EVENT = "notice_ack"

# What a notice may carry, recognised by content, not by the name the sender's computer gave it.
_KINDS = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
_OFFICE = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class NoticeIn(Strict):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=10000)]
    level: Literal["blue", "yellow", "orange", "red"]
    tiers: list[Literal["village", "township", "county"]] = Field(default_factory=list)
    facility_ids: list[int] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _has_audience(self) -> "NoticeIn":
        if not self.tiers and not self.facility_ids:
            raise ValueError("choose at least one tier or facility to send the notice to")
        return self


@dataclass(frozen=True)
class Upload:
    """A file as the adapter received it."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Board:
    notice: EmergencyNotice
    acknowledged: list[NoticeTarget]
    outstanding: list[NoticeTarget]

    @property
    def total(self) -> int:
        return len(self.acknowledged) + len(self.outstanding)


# ------------------------------------------------------------------ who may do what


def may_send(user: User) -> bool:
    return is_county_admin(user)


def _jurisdiction(session: Session, user: User) -> frozenset[int] | None:
    """Facility ids the user may address; None for everything (system admins)."""
    if Role.SYSADMIN.value in (user.roles or ()):
        return None
    return facility_subtree(session, user.facility_id)


def may_manage(session: Session, user: User, notice: EmergencyNotice) -> bool:
    """The sender, and the admins who could have sent it (same facility), see the board and resend."""
    if Role.SYSADMIN.value in (user.roles or ()):
        return True
    return is_county_admin(user) and user.facility_id == notice.author.facility_id


def _watchers(session: Session, notice: EmergencyNotice) -> list[int]:
    """Whose open boards hear of acknowledgements live."""
    staff = session.scalars(select(User).where(User.facility_id == notice.author.facility_id, User.active.is_(True)))
    ids = {u.id for u in staff if is_county_admin(u)} | {notice.author_id}
    return sorted(ids)


# ------------------------------------------------------------------ sending


REPEAT_WINDOW = timedelta(minutes=30)


@transactional
def send_notice(session: Session, author: User, data: dict, uploads: list[Upload] = (), *, data_dir: Path,
                repeat: bool = False, now: datetime | None = None) -> EmergencyNotice:
    """Send a notice to every user of the targeted facilities, in one action.

    The same title and text sent by the same person within half an hour is refused (`conflict`, with
    the earlier notice) unless `repeat`: the browser's back button brings the sent form back filled
    in, and a second press would alarm every clinic twice. Reminding those who have not acknowledged
    is `resend`'s job."""
    if not may_send(author):
        raise Forbidden("only the county admin sends emergency notices")
    parsed: NoticeIn = parse(NoticeIn, data)  # type: ignore[assignment]
    now = now or utcnow()
    earlier = None if repeat else session.scalars(
        select(EmergencyNotice).where(EmergencyNotice.author_id == author.id, EmergencyNotice.title == parsed.title,
                                      EmergencyNotice.body == parsed.body,
                                      EmergencyNotice.sent_at > now - REPEAT_WINDOW)
        .order_by(EmergencyNotice.id.desc())).first()
    if earlier is not None:
        raise Conflict("the same notice was sent moments ago; send it again only on purpose (repeat)",
                       notice_id=earlier.id, sent_at=earlier.sent_at.isoformat())
    facilities = _resolve_targets(session, author, parsed)
    stored = [_store(data_dir, u) for u in _check_uploads(uploads)]
    notice = EmergencyNotice(title=parsed.title, body=parsed.body, level=parsed.level, author_id=author.id,
                             audience={"tiers": list(parsed.tiers), "facility_ids": sorted(set(parsed.facility_ids))},
                             sent_at=now)
    session.add(notice)
    session.flush()
    for filename, content_type, size, digest in stored:
        session.add(NoticeAttachment(notice_id=notice.id, filename=filename, content_type=content_type, size=size,
                                     sha256=digest))
    staff = people_at(session, [f.id for f in facilities], exclude=author.id)
    for f in facilities:
        session.add(NoticeTarget(notice_id=notice.id, facility_id=f.id, recipients=len(staff.get(f.id, [])),
                                 send_count=1, last_sent_at=now))
    recipients = [u for f in facilities for u in staff.get(f.id, [])]
    notify_users(session, recipients, Kind.EMERGENCY_NOTICE, {"level": notice.level, "title": notice.title},
                 link=notice_link(notice.id), notice_id=notice.id, now=now)
    session.flush()
    session.refresh(notice)
    return notice


def _resolve_targets(session: Session, author: User, parsed: NoticeIn) -> list[Facility]:
    area = _jurisdiction(session, author)
    chosen: dict[int, Facility] = {}
    if parsed.tiers:
        stmt = select(Facility).where(Facility.tier.in_(parsed.tiers))
        for f in session.scalars(stmt):
            if area is None or f.id in area:
                chosen[f.id] = f
    if parsed.facility_ids:
        found = {f.id: f for f in session.scalars(select(Facility).where(Facility.id.in_(parsed.facility_ids)))}
        unknown = [i for i in parsed.facility_ids if i not in found or (area is not None and i not in area)]
        if unknown:
            raise ValidationFailed("some facilities are unknown or outside your jurisdiction",
                                   fields={"facility_ids": f"unknown: {', '.join(map(str, unknown[:10]))}"})
        chosen.update(found)
    chosen.pop(author.facility_id, None)  # the sender's own office does not acknowledge to itself
    if not chosen:
        raise ValidationFailed("the notice would reach no facility", fields={"tiers": "no facility matches"})
    return sorted(chosen.values(), key=lambda f: (Tier(f.tier).rank, f.code))


# ------------------------------------------------------------------ attachments


def _check_uploads(uploads: list[Upload]) -> list[tuple[str, str, bytes]]:
    uploads = [u for u in uploads if u.filename or u.data]
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationFailed("too many attachments", fields={"attachments": f"at most {MAX_ATTACHMENTS} files"})
    out = []
    for u in uploads:
        if len(u.data) > MAX_ATTACHMENT_BYTES:
            raise TooLarge(f"{u.filename} is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB")
        name = _safe_name(u.filename)
        content_type = _content_type(name, u.data)
        if content_type is None:
            raise ValidationFailed("unsupported attachment",
                                   fields={"attachments": f"{name}: PDF, JPEG, PNG, DOCX or XLSX only"})
        out.append((name, content_type, u.data))
    return out


def _safe_name(filename: str) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = re.sub(r"[\x00-\x1f\x7f]", "", name)
    return (name or "attachment")[:200]


def _content_type(name: str, data: bytes) -> str | None:
    for magic, content_type, _ in _KINDS:
        if data.startswith(magic):
            return content_type
    ext = os.path.splitext(name.lower())[1]
    if ext in _OFFICE and data.startswith(b"PK\x03\x04"):
        return _OFFICE[ext]
    return None


def _store(data_dir: Path, item: tuple[str, str, bytes]) -> tuple[str, str, int, str]:
    """Content-addressed: the same file sent twice is stored once."""
    name, content_type, data = item
    digest = hashlib.sha256(data).hexdigest()
    path = attachment_path(data_dir, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return name, content_type, len(data), digest


def attachment_path(data_dir: Path, digest: str) -> Path:
    return Path(data_dir) / "notices" / digest[:2] / digest


# ------------------------------------------------------------------ reading and acknowledging


def _notice(session: Session, notice_id: int) -> EmergencyNotice:
    notice = session.get(EmergencyNotice, notice_id)
    if notice is None:
        raise NotFound("no such notice")
    return notice


def _target_of(session: Session, notice_id: int, facility_id: int) -> NoticeTarget | None:
    return session.scalars(select(NoticeTarget).where(NoticeTarget.notice_id == notice_id,
                                                      NoticeTarget.facility_id == facility_id)).first()


def visible_notice(session: Session, user: User, notice_id: int) -> EmergencyNotice:
    """The notice if it was sent to the user's facility or the user manages it; `not_found` otherwise."""
    notice = _notice(session, notice_id)
    if may_manage(session, user, notice) or _target_of(session, notice_id, user.facility_id) is not None:
        return notice
    raise NotFound("no such notice")


@transactional
def read_notice(session: Session, user: User, notice_id: int, *, now: datetime | None = None
                ) -> tuple[EmergencyNotice, NoticeTarget | None]:
    """The notice and the user's facility's acknowledgement; opening it marks the user's
    notifications of it read."""
    notice = visible_notice(session, user, notice_id)
    session.execute(update(Notification).where(Notification.recipient_id == user.id,
                                               Notification.notice_id == notice.id, Notification.read_at.is_(None))
                    .values(read_at=now or utcnow()), execution_options={"synchronize_session": False})
    queue_push(session, user.id, READ_EVENT, {"unread": unread_count(session, user)})
    return notice, _target_of(session, notice.id, user.facility_id)


@transactional
def acknowledge(session: Session, user: User, notice_id: int, *, now: datetime | None = None) -> NoticeTarget:
    """Acknowledge for the user's facility; the first acknowledgement stands, later ones change nothing."""
    visible_notice(session, user, notice_id)
    target = _target_of(session, notice_id, user.facility_id)
    if target is None:
        raise Forbidden("the notice was not sent to your facility")
    now = now or utcnow()
    first = session.execute(
        update(NoticeTarget).where(NoticeTarget.id == target.id, NoticeTarget.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_id=user.id), execution_options={"synchronize_session": False}
    ).rowcount == 1
    session.execute(update(Notification).where(Notification.recipient_id == user.id,
                                               Notification.notice_id == notice_id, Notification.read_at.is_(None))
                    .values(read_at=now), execution_options={"synchronize_session": False})
    queue_push(session, user.id, READ_EVENT, {"unread": unread_count(session, user)})
    session.refresh(target)
    if first:
        notice = target.notice
        acknowledged, total = _counts(session, notice_id)
        payload = {"notice_id": notice_id, "facility_id": target.facility_id, "facility": target.facility.name,
                   "acknowledged_at": now.isoformat().replace("+00:00", "Z"), "by": user.display_name,
                   "acknowledged": acknowledged, "outstanding": total - acknowledged}
        for watcher in _watchers(session, notice):
            queue_push(session, watcher, ACK_EVENT, payload)
    return target


def _counts(session: Session, notice_id: int) -> tuple[int, int]:
    total = session.scalar(select(func.count(NoticeTarget.id)).where(NoticeTarget.notice_id == notice_id)) or 0
    acked = session.scalar(select(func.count(NoticeTarget.id)).where(
        NoticeTarget.notice_id == notice_id, NoticeTarget.acknowledged_at.is_not(None))) or 0
    return acked, total


@transactional
def resend(session: Session, user: User, notice_id: int, *, now: datetime | None = None) -> tuple[int, int]:
    """Send the notice again to the facilities that have not acknowledged it; returns
    (facilities, people) reached."""
    notice = _notice(session, notice_id)
    if not may_manage(session, user, notice):
        raise NotFound("no such notice")
    now = now or utcnow()
    outstanding = [t for t in notice.targets if t.acknowledged_at is None]
    staff = people_at(session, [t.facility_id for t in outstanding], exclude=user.id)
    for t in outstanding:
        t.send_count += 1
        t.last_sent_at = now
        t.recipients = len(staff.get(t.facility_id, []))
    recipients = [u for t in outstanding for u in staff.get(t.facility_id, [])]
    notify_users(session, recipients, Kind.EMERGENCY_NOTICE, {"level": notice.level, "title": notice.title,
                                                              "resend": True},
                 link=notice_link(notice.id), notice_id=notice.id, payload={"resend": notice.resend_count + 1},
                 now=now)
    notice.resend_count += 1
    notice.resent_at = now
    return len(outstanding), len(recipients)


def board(session: Session, user: User, notice_id: int) -> Board:
    """Acknowledged facilities (first first) and outstanding ones, for the sender's live board."""
    notice = _notice(session, notice_id)
    if not may_manage(session, user, notice):
        raise NotFound("no such notice")
    acked = sorted((t for t in notice.targets if t.acknowledged_at), key=lambda t: (t.acknowledged_at, t.id))
    outstanding = [t for t in notice.targets if t.acknowledged_at is None]
    return Board(notice, acked, outstanding)


def notices_for(session: Session, user: User, limit: int = 100) -> list[tuple[EmergencyNotice, NoticeTarget | None]]:
    """The notices sent to the user's facility (with its acknowledgement), and for those who send
    them every notice of their office, newest first."""
    stmt = (select(EmergencyNotice, NoticeTarget)
            .outerjoin(NoticeTarget, (NoticeTarget.notice_id == EmergencyNotice.id)
                       & (NoticeTarget.facility_id == user.facility_id)))
    if Role.SYSADMIN.value in (user.roles or ()):
        pass
    elif may_send(user):
        authors = select(User.id).where(User.facility_id == user.facility_id)
        stmt = stmt.where((EmergencyNotice.author_id.in_(authors)) | NoticeTarget.id.is_not(None))
    else:
        stmt = stmt.where(NoticeTarget.id.is_not(None))
    rows = session.execute(stmt.order_by(EmergencyNotice.sent_at.desc(), EmergencyNotice.id.desc()).limit(limit))
    return [(n, t) for n, t in rows.unique()]


def outstanding_for(session: Session, user: User) -> int:
    """Notices sent to the user's facility that nobody there has acknowledged yet."""
    return session.scalar(select(func.count(NoticeTarget.id)).where(
        NoticeTarget.facility_id == user.facility_id, NoticeTarget.acknowledged_at.is_(None))) or 0


def header_counts(session: Session, user: User) -> tuple[int, int]:
    """(unread notifications, notices outstanding at the user's facility): the badges in the
    header of every page, in one statement built once."""
    params = {"user_id": user.id, "facility_id": user.facility_id}
    unread, outstanding = plain_rows(session, _HEADER_COUNTS, params).one()
    return unread or 0, outstanding or 0


_HEADER_COUNTS = select(
    select(func.count(Notification.id)).where(
        Notification.recipient_id == bindparam("user_id"), Notification.read_at.is_(None)).scalar_subquery(),
    select(func.count(NoticeTarget.id)).where(
        NoticeTarget.facility_id == bindparam("facility_id"), NoticeTarget.acknowledged_at.is_(None)).scalar_subquery(),
)


def notice_counts(session: Session, notice_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(acknowledged, total) per notice, for lists."""
    if not notice_ids:
        return {}
    rows = session.execute(
        select(NoticeTarget.notice_id, func.count(NoticeTarget.id), func.count(NoticeTarget.acknowledged_at))
        .where(NoticeTarget.notice_id.in_(notice_ids)).group_by(NoticeTarget.notice_id))
    return {nid: (acked, total) for nid, total, acked in rows}


def attachment(session: Session, user: User, notice_id: int, attachment_id: int, data_dir: Path
               ) -> tuple[NoticeAttachment, Path]:
    """A notice's file for someone who may read the notice."""
    notice = visible_notice(session, user, notice_id)
    found = next((a for a in notice.attachments if a.id == attachment_id), None)
    if found is None:
        raise NotFound("no such attachment")
    path = attachment_path(data_dir, found.sha256)
    if not path.exists():
        raise NotFound("the file is missing from the store")
    return found, path


def facilities_for_compose(session: Session, user: User) -> list[Facility]:
    """Facilities the sender may address, grouped by tier, then by code."""
    area = _jurisdiction(session, user)
    rows = session.scalars(select(Facility).where(Facility.tier.in_([t.value for t in TARGET_TIERS])))
    chosen = [f for f in rows if (area is None or f.id in area) and f.id != user.facility_id]
    return sorted(chosen, key=lambda f: (Tier(f.tier).rank, f.code))

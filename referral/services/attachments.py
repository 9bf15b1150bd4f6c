"""Attachment use cases: attach files and studies to a case, confirm a patient
mismatch, attach a study from the facility's DICOM inbox, list what a case has.

Files are judged before this (`dicom.intake`); here they are published to the
content-addressed store and indexed in one transaction, with the timeline
events (`attachment_added`, `study_mismatch`, `study_confirmed`) in the same
transaction. If the transaction fails, files this call published for the first
time are removed again, so nothing is left half-stored.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import bindparam, func, insert, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ..dicom.intake import DicomItem, Intake, Rejection
from ..dicom.intake import display_name as intake_display_name
from ..dicom.parse import InstanceInfo
from ..dicom.safety import (
    Difference, PatientFacts, Safety, compare_patient, display_name, may_attach, may_confirm,
    name_forms, same_patient_header, sees_inbox, sees_unconfirmed,
)
from ..dicom.store import BlobStore
from ..domain.errors import Conflict, Forbidden, NotFound, TooLarge, ValidationFailed
from ..domain.workflow import CaseStatus
from ..models import (
    Attachment, Case, Event, Facility, Instance, Patient, Series, StoredFile, Study, UploadSession, User, utcnow,
)
from .access import case_filter, record_read, visible_case, visible_case_ref
from .actors import actor_facts, scope_of
from .case_view import CaseView, load_case_view
from .cases import case_facts
from .inputs import MAX_SMALL_INT, refuse_control_characters
from .statements import plain_rows
from .transaction import transactional

T = TypeVar("T")
UPLOAD_TTL = timedelta(days=7)


# ---------------------------------------------------------------- results


@dataclass
class StudyChange:
    study: Study
    added: int = 0
    duplicates: int = 0
    new: bool = False
    mismatch: list[Difference] = field(default_factory=list)


@dataclass
class AttachResult:
    files: list[Attachment] = field(default_factory=list)
    studies: list[StudyChange] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    duplicate_files: int = 0


@dataclass
class CaseAttachments:
    files: list[Attachment]
    studies: list[Study]
    awaiting_confirmation: int  # studies hidden from this viewer until the doctor confirms


# ---------------------------------------------------------------- attaching


def attach_files(session: Session, user: User, case_id: int, intake: Intake, store: BlobStore, *,
                 source: str = "upload", now: datetime | None = None) -> AttachResult:
    """Store and index what the intake accepted, attached to the case; report what it refused."""
    if intake.accepted == 0:
        _may_attach_here(session, user, case_id)  # out of scope or not allowed says so, whatever was sent
        _refuse(intake)
    return _publishing(session, store, intake, lambda published, used: _attach(
        session, user, case_id, intake, published, used, source=source, now=now or utcnow()))


def _refuse(intake: Intake) -> None:
    fields = {r.name: r.reason for r in intake.rejected}
    rejected = [r.as_dict() for r in intake.rejected]
    if intake.rejected and all(r.too_large for r in intake.rejected):
        raise TooLarge("; ".join(f"{r.name}: {r.reason}" for r in intake.rejected), rejected=rejected)
    if not intake.rejected:
        raise ValidationFailed("no file was sent (use the multipart field `file`)", fields={"file": "required"})
    first = intake.rejected[0]
    error = ValidationFailed(f"nothing was attached: {first.name}: {first.reason}", fields=fields)
    error.details["rejected"] = rejected  # with each refusal's kind, as in a 201 answer
    raise error


def _publishing(session: Session, store: BlobStore, intake: Intake, work: Callable[[dict, set], T]) -> T:
    """Publish the accepted files, then run the indexing transaction.

    Files this call stored that end up unused (refused while indexing, or the transaction
    failed) are left where they are: another upload of the same bytes may be indexing them
    at this very moment, and removing them here could take a file from under its index row.
    `referral dicom gc` removes files no row refers to once they are a day old."""
    published: dict[str, int] = {}  # sha256 -> size
    used: set[str] = set()
    staged = [(i.parsed.path, i.sha256) for i in intake.dicom] + [(f.staged.path, f.staged.sha256)
                                                                   for f in intake.files]
    try:
        for result in store.publish_many(staged):
            published[result.sha256] = result.size
        try:
            return work(published, used)
        except IntegrityError:
            session.rollback()
            used.clear()
            return work(published, used)  # someone indexed the same thing at the same moment: once more
    except BaseException:
        session.rollback()
        raise


def _may_attach_here(session: Session, user: User, case_id: int) -> CaseView:
    """The case (as plain rows: its facts and its patient are all indexing needs), if `user` may attach to it."""
    case = load_case_view(session, user, case_id)
    reason = may_attach(actor_facts(user), case_facts(case))
    if reason is not None:
        raise Forbidden(reason)
    return case


@transactional
def _attach(session: Session, user: User, case_id: int, intake: Intake, published: dict[str, int], used: set[str],
            *, source: str, now: datetime) -> AttachResult:
    case = _may_attach_here(session, user, case_id)
    result = AttachResult(rejected=list(intake.rejected), skipped=list(intake.skipped))
    files = _FileRows(session, published, intake, used, now)
    added: list[Attachment] = []
    for item in intake.files:
        stored = files.get(item.staged.sha256)
        existing = None if stored.id is None else session.scalars(select(Attachment).where(
            Attachment.case_id == case.id, Attachment.file_id == stored.id)).first()
        if existing is not None:
            result.duplicate_files += 1
            result.files.append(existing)
            continue
        attachment = Attachment(case_id=case.id, file=stored, kind=item.kind, filename=item.name,
                                uploaded_by_id=user.id, created_at=now)
        session.add(attachment)
        result.files.append(attachment)
        added.append(attachment)
    changes = _index_dicom(session, intake.dicom, files, result.rejected, case_id=case.id, inbox_facility_id=None,
                           user=user, source=source, now=now)
    for change in changes:
        _check_patient(session, case, change, user, now)
    result.studies = changes
    session.flush()
    _append_event(session, case, user, "attachment_added", _added_payload(result, added), now)
    for change in changes:
        if change.mismatch and change.study.safety == Safety.MISMATCH:
            _append_event(session, case, user, "study_mismatch", {
                "study_uid": change.study.study_uid, "study_id": change.study.id,
                "differences": [d.as_dict() for d in change.mismatch]}, now)
    return result


class _FileRows:
    """`StoredFile` rows, created only for the files an instance or attachment really uses.

    An attachment gets its row as a model (`get`); an instance only needs the row's id, so the
    rows of a batch's new images are inserted in one statement (`reserve`, then `ids`)."""

    def __init__(self, session: Session, published: dict[str, int], intake: Intake, used: set[str],
                 now: datetime) -> None:
        self.session, self.published, self.used, self.now = session, published, used, now
        self.media = {i.sha256: "application/dicom" for i in intake.dicom}
        self.media.update({f.staged.sha256: f.media_type for f in intake.files})
        self.rows = {f.sha256: f for f in session.scalars(
            select(StoredFile).where(StoredFile.sha256.in_(list(published))))}
        self.reserved: set[str] = set()

    def get(self, sha: str) -> StoredFile:
        """The row for this file, new ones added to the session (inserted with the next flush)."""
        row = self.rows.get(sha)
        if row is None:
            row = StoredFile(sha256=sha, size=self.published[sha],
                             media_type=self.media.get(sha, "application/octet-stream"), created_at=self.now)
            self.session.add(row)
            self.rows[sha] = row
        self.used.add(sha)
        return row

    def reserve(self, sha: str) -> int:
        """Mark the file as used by an instance (its row is made by `ids`); its size."""
        self.used.add(sha)
        self.reserved.add(sha)
        row = self.rows.get(sha)
        return row.size if row is not None else self.published[sha]

    def ids(self) -> dict[str, int]:
        """The row id of every reserved file, the missing rows inserted in one statement
        (after a flush, so that a row made by `get` meanwhile is not made twice)."""
        found = {sha: self.rows[sha].id for sha in self.reserved if sha in self.rows}
        missing = sorted(self.reserved - found.keys())
        if missing:
            inserted = self.session.execute(
                insert(StoredFile).returning(StoredFile.sha256, StoredFile.id),
                [{"sha256": sha, "size": self.published[sha], "media_type": self.media.get(sha, "application/dicom"),
                  "created_at": self.now} for sha in missing])
            found.update({sha: row_id for sha, row_id in inserted})
        return found

    def existing_id(self, sha: str) -> int | None:
        row = self.rows.get(sha)
        return row.id if row is not None else None


def _patient_of(info: InstanceInfo) -> PatientFacts:
    return PatientFacts(info.patient_name, info.patient_sex, info.patient_birth_date)


def _study_patient(study: Study) -> PatientFacts:
    return PatientFacts(study.patient_name, study.patient_sex, study.patient_birth_date)


def _index_dicom(session: Session, items: list[DicomItem], files: _FileRows, rejected: list[Rejection],
                 *, case_id: int | None, inbox_facility_id: int | None, user: User | None, source: str,
                 now: datetime) -> list[StudyChange]:
    """Study -> series -> instance rows for the items, deduplicated, per owner (a case or an inbox).

    A few queries per study, not per instance: a 400-image study is indexed in one pass.
    """
    changes: dict[str, StudyChange] = {}
    instances: list[tuple[Series, str, dict]] = []
    owner = Study.case_id == case_id if case_id is not None else Study.inbox_facility_id == inbox_facility_id
    by_study: dict[str, list[DicomItem]] = {}
    for item in items:
        by_study.setdefault(item.parsed.info.study_uid, []).append(item)
    for study_uid, group in by_study.items():
        study = session.scalars(select(Study).where(owner, Study.study_uid == study_uid)).first()
        if study is None:
            study = _new_study(group[0].parsed.info, case_id, inbox_facility_id, user, source, now)
            session.add(study)
            session.flush()
            change = StudyChange(study, new=True)
        else:
            change = StudyChange(study)
        changes[study_uid] = change
        sops = [i.parsed.info.sop_uid for i in group]
        present = dict(session.execute(select(Instance.sop_uid, Instance.file_id).where(
            Instance.study_id == study.id, Instance.sop_uid.in_(sops))).all())
        series_of = {s.series_uid: s for s in study.series}  # loaded once: the answer lists them too
        taken: dict[str, str] = {}  # sop uid -> sha256, within this batch
        for item in group:
            _index_one(session, item, study, change, files, rejected, present, series_of, taken, instances, now)
    for change in changes.values():
        if change.new and not change.added:
            session.delete(change.study)  # every file of this new study was refused
    session.flush()  # the studies and series: the instances' rows need their ids
    if instances:
        file_ids = files.ids()
        session.execute(_INSERT_INSTANCE, [{**row, "series_id": series.id, "file_id": file_ids[sha]}
                                           for series, sha, row in instances])
    return [c for c in changes.values() if c.added or c.duplicates or not c.new]


# A batch's instances are written in one statement, not as models through the unit of work:
# nothing reads them back in the transaction, and a 400-image study is 400 rows.
_INSERT_INSTANCE = insert(Instance.__table__)


def _index_one(session: Session, item: DicomItem, study: Study, change: StudyChange, files: _FileRows,
               rejected: list[Rejection], present: dict[str, int], series_of: dict[str, Series],
               taken: dict[str, str], instances: list[tuple[Series, str, dict]], now: datetime) -> None:
    info = item.parsed.info
    if study.instance_count and not same_patient_header(_study_patient(study), _patient_of(info)):
        rejected.append(Rejection(item.name, "the patient in this file differs from the other images of the "
                                             f"same study ({display_name(info.patient_name) or 'no name'})",
                                  kind="patient"))
        return
    same_file = (info.sop_uid in present and present[info.sop_uid] == files.existing_id(item.sha256)) \
        or taken.get(info.sop_uid) == item.sha256
    if info.sop_uid in present or info.sop_uid in taken:
        if same_file:
            change.duplicates += 1
        else:
            rejected.append(Rejection(item.name, "another file with the same SOP Instance UID (the same image, "
                                                 "perhaps encoded differently) is already in this study; the "
                                                 "first one is kept", kind="duplicate"))
        return
    size = files.reserve(item.sha256)
    series = series_of.get(info.series_uid)
    if series is None:
        series = series_of[info.series_uid] = Series(
            study_id=study.id, series_uid=info.series_uid, modality=info.modality, number=info.series_number,
            description=info.series_description, body_part=info.body_part, instance_count=0)
        study.series.append(series)
    instances.append((series, item.sha256, dict(
        study_id=study.id, sop_uid=info.sop_uid, sop_class_uid=info.sop_class_uid,
        transfer_syntax=info.transfer_syntax, number=info.instance_number, sort_key=info.sort_key,
        frames=info.frames, rows=info.rows, columns=info.columns, facts=info.facts, filename=item.name,
        created_at=now,
    )))
    taken[info.sop_uid] = item.sha256
    series.instance_count += 1
    study.instance_count += 1
    study.total_bytes += size
    if info.modality and info.modality not in (study.modalities or []):
        study.modalities = sorted({*(study.modalities or []), info.modality})
    _fill_study(study, info)
    study.updated_at = now
    change.added += 1


def _new_study(info: InstanceInfo, case_id, inbox_facility_id, user, source, now) -> Study:
    return Study(
        study_uid=info.study_uid, case_id=case_id, inbox_facility_id=inbox_facility_id,
        patient_name=info.patient_name[:200], patient_id=info.patient_id, patient_sex=info.patient_sex,
        patient_birth_date=info.patient_birth_date, study_date=info.study_date, study_time=info.study_time,
        accession_number=info.accession_number, description=info.study_description, modalities=[],
        instance_count=0, total_bytes=0, safety=Safety.OK.value, differences=[], source=source[:100],
        added_by_id=user.id if user is not None else None, created_at=now, updated_at=now,
    )


def _fill_study(study: Study, info: InstanceInfo) -> None:
    """Later instances may carry what the first one lacked."""
    for attr, value in (("patient_name", info.patient_name[:200]), ("patient_id", info.patient_id),
                        ("patient_sex", info.patient_sex), ("patient_birth_date", info.patient_birth_date),
                        ("study_date", info.study_date), ("description", info.study_description),
                        ("accession_number", info.accession_number)):
        if value and not getattr(study, attr):
            setattr(study, attr, value)


def _check_patient(session: Session, case: Case | CaseView, change: StudyChange, user: User | None,
                   now: datetime) -> None:
    """Compare the study's patient with the case's; flag (and hide) it when they disagree."""
    study = change.study
    patient = case.patient
    differences = compare_patient(PatientFacts(patient.name, patient.sex, patient.birth_date),
                                  _study_patient(study))
    if not differences:
        return
    recorded = {(d["field"], d["dicom"]) for d in (study.differences or [])}
    if study.safety == Safety.CONFIRMED and {(d.field, d.dicom) for d in differences} <= recorded:
        return  # confirmed before, with exactly these differences
    if study.safety == Safety.MISMATCH and [d.as_dict() for d in differences] == study.differences:
        return  # flagged already (a later batch of the same upload): no second flag on the timeline
    study.safety = Safety.MISMATCH.value
    study.differences = [d.as_dict() for d in differences]
    study.confirmed_by_id, study.confirmed_at = None, None
    change.mismatch = differences


def _added_payload(result: AttachResult, added: list[Attachment]) -> dict:
    """The timeline's record of a batch: the files it added (not those the case had already), its studies
    (with how many instances were new, how many were there already) and what was refused."""
    return {
        "files": [{"id": a.id, "name": a.filename, "kind": a.kind} for a in added],
        "duplicate_files": result.duplicate_files,
        "studies": [{"study_uid": c.study.study_uid, "study_id": c.study.id, "description": c.study.description,
                     "instances_added": c.added, "duplicates": c.duplicates, "safety": c.study.safety}
                    for c in result.studies],
        "rejected": [r.as_dict() for r in result.rejected],
    }


def _append_event(session: Session, case: Case | CaseView, actor: User | None, kind: str, payload: dict, now: datetime) -> None:
    session.add(Event(case_id=case.id, hop_id=case.current_hop_id, actor_id=actor.id if actor else None, kind=kind,
                      payload=payload, created_at=now))


# ---------------------------------------------------------------- confirming


@transactional
def confirm_study(session: Session, user: User, case_id: int, study_uid: str, note: str = "", *,
                  now: datetime | None = None) -> Study:
    """A doctor of the sending facility confirms that a flagged study belongs to this patient."""
    now = now or utcnow()
    case = visible_case(session, user, case_id)
    study = session.scalars(select(Study).where(Study.case_id == case.id, Study.study_uid == study_uid)).first()
    if study is None:
        raise NotFound("no such study on this case")
    if not may_confirm(actor_facts(user), case_facts(case)):
        if not sees_unconfirmed(actor_facts(user), case.origin_facility_id) and study.safety == Safety.MISMATCH:
            raise NotFound("no such study on this case")
        raise Forbidden("only a doctor of the sending facility confirms the patient of a study")
    if study.safety != Safety.MISMATCH:
        raise Conflict("this study is not waiting for confirmation", safety=study.safety)
    refuse_control_characters(note=note)
    study.safety = Safety.CONFIRMED.value
    study.confirmed_by_id = user.id
    study.confirmed_at = now
    study.updated_at = now
    _append_event(session, case, user, "study_confirmed", {
        "study_uid": study.study_uid, "study_id": study.id, "differences": study.differences or [],
        "note": note[:2000]}, now)
    return study


# ---------------------------------------------------------------- reading


def _safety_clause(user: User):
    """SQL: the studies this user may see among those of cases they see (flagged ones are held back)."""
    facts = actor_facts(user)
    if "sysadmin" in facts.roles:
        return true()
    if "doctor" in facts.roles:
        return or_(Study.safety != Safety.MISMATCH.value, Case.origin_facility_id == user.facility_id)
    return Study.safety != Safety.MISMATCH.value


def visible_studies_query(session: Session, user: User):
    """Studies attached to cases `user` may see, minus flagged ones they may not: the one rule for imaging."""
    return (select(Study).join(Case, Case.id == Study.case_id)
            .where(case_filter(scope_of(session, user)), _safety_clause(user)))


def visible_instance(session: Session, user: User, study_uid: str, series_uid: str, sop_uid: str) -> Instance:
    """One instance by its UIDs, in one query, within the same rule as `visible_studies_query`."""
    stmt = (select(Instance).join(Series, Series.id == Instance.series_id).join(Study, Study.id == Instance.study_id)
            .join(Case, Case.id == Study.case_id)
            .where(case_filter(scope_of(session, user)), _safety_clause(user), Study.study_uid == study_uid,
                   Series.series_uid == series_uid, Instance.sop_uid == sop_uid)
            .order_by(Instance.id).limit(1))
    instance = session.scalars(stmt).first()
    if instance is None:
        raise NotFound("no such instance")
    return instance


def list_attachments(session: Session, user: User, case_id: int) -> CaseAttachments:
    """The case's files and studies (a study whose patient does not match only for those who may confirm it).

    Every case page shows this panel and most cases have nothing attached: one count first,
    and the models only for what there is."""
    case = visible_case_ref(session, user, case_id)
    params = {"case_id": case.id}
    file_count, study_count = plain_rows(session, _ATTACHMENT_COUNTS, params).one()
    files = list(session.scalars(_CASE_FILES, params)) if file_count else []
    studies = list(session.scalars(_CASE_STUDIES, params)) if study_count else []
    shown = [s for s in studies if s.safety != Safety.MISMATCH or sees_unconfirmed(actor_facts(user),
                                                                                    case.origin_facility_id)]
    return CaseAttachments(files, shown, len(studies) - len(shown))


# Built once (see services/statements.py).
_ATTACHMENT_COUNTS = select(
    select(func.count(Attachment.id)).where(Attachment.case_id == bindparam("case_id")).scalar_subquery(),
    select(func.count(Study.id)).where(Study.case_id == bindparam("case_id")).scalar_subquery(),
)
_CASE_FILES = select(Attachment).where(Attachment.case_id == bindparam("case_id")).order_by(Attachment.id)
_CASE_STUDIES = (select(Study).where(Study.case_id == bindparam("case_id")).order_by(Study.id)
                 .options(selectinload(Study.series).selectinload(Series.instances)))


@transactional
def read_attachments(session: Session, user: User, case_id: int, *, ip: str = "") -> CaseAttachments:
    """The case's attachments for display; the read is recorded in the audit trail."""
    result = list_attachments(session, user, case_id)
    record_read(session, user, "case.attachments.read", case=visible_case_ref(session, user, case_id), ip=ip)
    return result


def case_study(session: Session, user: User, case_id: int, study_uid: str, *, with_instances: bool = True) -> Study:
    """One study of a case, if the user may see the case and (when flagged) the study."""
    case = visible_case(session, user, case_id)
    stmt = select(Study).where(Study.case_id == case.id, Study.study_uid == study_uid)
    if with_instances:
        stmt = stmt.options(selectinload(Study.series).selectinload(Series.instances))
    study = session.scalars(stmt).first()
    if study is None or (study.safety == Safety.MISMATCH
                         and not sees_unconfirmed(actor_facts(user), case.origin_facility_id)):
        raise NotFound("no such study on this case")
    return study


@transactional
def open_study(session: Session, user: User, case_id: int, study_uid: str, *, ip: str = "") -> Study:
    """A study for the viewer; opening it is recorded in the audit trail."""
    study = case_study(session, user, case_id, study_uid)
    record_read(session, user, "study.view", case=session.get(Case, case_id), object_type="study",
                object_id=study.id, ip=ip, study_uid=study_uid)
    return study


@transactional
def record_study_reads(session: Session, user: User, action: str, case_ids: list[int | None], *, ip: str = "",
                       **details) -> None:
    """Audit entries for a DICOMweb read: one per case whose studies it touched."""
    for case_id in sorted({c for c in case_ids if c is not None}):
        record_read(session, user, action, case=session.get(Case, case_id), object_type="study", ip=ip, **details)


def case_instance(session: Session, user: User, case_id: int, study_uid: str, sop_uid: str) -> Instance:
    study = case_study(session, user, case_id, study_uid, with_instances=False)
    instance = session.scalars(select(Instance).where(Instance.study_id == study.id,
                                                      Instance.sop_uid == sop_uid)).first()
    if instance is None:
        raise NotFound("no such image in this study")
    return instance


def case_series(session: Session, user: User, case_id: int, study_uid: str, series_uid: str) -> Series:
    study = case_study(session, user, case_id, study_uid)
    for series in study.series:
        if series.series_uid == series_uid:
            return series
    raise NotFound("no such series in this study")


@transactional
def read_attachment_file(session: Session, user: User, case_id: int, attachment_id: int, *,
                         ip: str = "") -> Attachment:
    """A photo or PDF of the case, for download; recorded in the audit trail."""
    case = visible_case(session, user, case_id)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.case_id != case.id:
        raise NotFound("no such attachment on this case")
    record_read(session, user, "attachment.download", case=case, object_type="attachment", object_id=attachment.id,
                ip=ip)
    return attachment


# ---------------------------------------------------------------- the facility's DICOM inbox


def inbox_facility(session: Session, code: str) -> Facility:
    facility = session.scalars(select(Facility).where(Facility.code == code)).first()
    if facility is None:
        raise NotFound(f"no facility with code {code!r}")
    return facility


def receive_into_inbox(session: Session, facility_id: int, intake: Intake, store: BlobStore, *, source: str,
                       now: datetime | None = None) -> list[StudyChange]:
    """Studies received over the network (C-STORE) land in the facility's inbox, unattached."""
    if intake.accepted == 0:
        _refuse(intake)
    return _publishing(session, store, intake, lambda published, used: _receive(
        session, facility_id, intake, published, used, source=source, now=now or utcnow()))


@transactional
def _receive(session: Session, facility_id: int, intake: Intake, published: dict[str, int], used: set[str], *,
             source: str, now: datetime) -> list[StudyChange]:
    files = _FileRows(session, published, intake, used, now)
    return _index_dicom(session, intake.dicom, files, intake.rejected, case_id=None, inbox_facility_id=facility_id,
                        user=None, source=source, now=now)


def list_inbox(session: Session, user: User) -> list[Study]:
    """The studies waiting in the user's facility inbox, newest first."""
    if not sees_inbox(actor_facts(user), user.facility_id):
        return []
    return list(session.scalars(
        select(Study).where(Study.inbox_facility_id == user.facility_id).order_by(Study.created_at.desc(), Study.id)
        .options(selectinload(Study.series))))


def suggested_cases(session: Session, user: User, study: Study, limit: int = 5) -> list[Case]:
    """Open cases of the user's facility whose patient matches the study's patient ID or name."""
    clauses = []
    if study.patient_id:
        clauses.append(Patient.id_number == study.patient_id)
    names = name_forms(study.patient_name)
    if names:
        clauses.append(func.lower(func.replace(Patient.name, " ", "")).in_(sorted(names)))
    if not clauses:
        return []
    stmt = (select(Case).join(Patient, Patient.id == Case.patient_id)
            .where(case_filter(scope_of(session, user)), Case.origin_facility_id == user.facility_id,
                   Case.status.not_in([CaseStatus.CLOSED.value, CaseStatus.CANCELLED.value]), or_(*clauses))
            .order_by(Case.updated_at.desc()).limit(limit))
    return list(session.scalars(stmt).unique())


@transactional
def attach_inbox_study(session: Session, user: User, case_id: int, study_id: object, *,
                       now: datetime | None = None) -> Study:
    """Move a study from the facility's inbox to a case (merging into the same study already there)."""
    now = now or utcnow()
    case = visible_case(session, user, case_id)
    reason = may_attach(actor_facts(user), case_facts(case))
    if reason is not None:
        raise Forbidden(reason)
    if not isinstance(study_id, int) or isinstance(study_id, bool):
        raise ValidationFailed("which study?", fields={"study_id": "an integer from GET /api/v1/inbox/studies"})
    if not 1 <= study_id <= MAX_SMALL_INT:
        raise NotFound("no such study in your facility's inbox")
    study = session.get(Study, study_id)
    if study is None or study.inbox_facility_id is None or not sees_inbox(actor_facts(user), study.inbox_facility_id) \
            or study.inbox_facility_id != case.origin_facility_id:
        raise NotFound("no such study in your facility's inbox")
    target = session.scalars(select(Study).where(Study.case_id == case.id, Study.study_uid == study.study_uid)).first()
    added = study.instance_count
    if target is None:
        study.inbox_facility_id = None
        study.case_id = case.id
        study.added_by_id = user.id
        study.updated_at = now
        session.flush()
        target = study
    else:
        added = _merge_into(session, study, target, now)
    change = StudyChange(target, added=added, new=True)
    _check_patient(session, case, change, user, now)
    session.flush()
    _append_event(session, case, user, "attachment_added", {
        "files": [], "rejected": [], "from_inbox": True,
        "studies": [{"study_uid": target.study_uid, "study_id": target.id, "description": target.description,
                     "instances_added": added, "duplicates": 0, "safety": target.safety, "source": study.source}]}, now)
    if change.mismatch:
        _append_event(session, case, user, "study_mismatch", {
            "study_uid": target.study_uid, "study_id": target.id,
            "differences": [d.as_dict() for d in change.mismatch]}, now)
    return target


def _merge_into(session: Session, source: Study, target: Study, now: datetime) -> int:
    """Move the instances of an inbox study into the case's copy of the same study."""
    added = 0
    have = set(session.scalars(select(Instance.sop_uid).where(Instance.study_id == target.id)))
    for series in list(source.series):
        dest = session.scalars(select(Series).where(Series.study_id == target.id,
                                                    Series.series_uid == series.series_uid)).first()
        if dest is None:
            dest = Series(study_id=target.id, series_uid=series.series_uid, modality=series.modality,
                          number=series.number, description=series.description, body_part=series.body_part,
                          instance_count=0)
            session.add(dest)
            session.flush()
        for instance in list(series.instances):
            if instance.sop_uid in have:
                continue
            session.add(Instance(
                study_id=target.id, series_id=dest.id, file_id=instance.file_id, sop_uid=instance.sop_uid,
                sop_class_uid=instance.sop_class_uid, transfer_syntax=instance.transfer_syntax,
                number=instance.number, sort_key=instance.sort_key, frames=instance.frames, rows=instance.rows,
                columns=instance.columns, facts=instance.facts, filename=instance.filename, created_at=now))
            dest.instance_count += 1
            target.instance_count += 1
            target.total_bytes += instance.file.size
            have.add(instance.sop_uid)
            added += 1
    target.modalities = sorted({*(target.modalities or []), *(source.modalities or [])})
    target.updated_at = now
    session.delete(source)
    session.flush()
    return added


# ---------------------------------------------------------------- chunked uploads


@transactional
def start_upload(session: Session, user: User, case_id: int, filename: str, size: int, sha256: str | None,
                 max_bytes: int, *, now: datetime | None = None) -> UploadSession:
    """Open a resumable upload of one file into a case (the bytes follow in chunks)."""
    now = now or utcnow()
    case = visible_case(session, user, case_id)
    reason = may_attach(actor_facts(user), case_facts(case))
    if reason is not None:
        raise Forbidden(reason)
    fields = {}
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        fields["size"] = "the file's size in bytes, above zero"
    if sha256 is not None and (not isinstance(sha256, str) or len(sha256) != 64
                               or any(c not in "0123456789abcdef" for c in sha256.lower())):
        fields["sha256"] = "64 hexadecimal characters"
    if not isinstance(filename, str) or not filename.strip():
        fields["filename"] = "required"
    if fields:
        raise ValidationFailed("invalid upload", fields=fields)
    if size > max_bytes:
        raise TooLarge(f"{filename}: the file is larger than the upload limit", limit=max_bytes)
    upload = UploadSession(token=secrets.token_urlsafe(24), case_id=case.id, user_id=user.id,
                           filename=intake_display_name(filename),  # no directories, no control characters
                           size=size, sha256=sha256.lower() if sha256 else None, created_at=now,
                           expires_at=now + UPLOAD_TTL)
    session.add(upload)
    return upload


def get_upload(session: Session, user: User, case_id: int, token: str, *, now: datetime | None = None) -> UploadSession:
    """An upload in progress, if it is the caller's, on a case they see, and not expired."""
    case = visible_case(session, user, case_id)
    upload = session.scalars(select(UploadSession).where(UploadSession.token == token)).first()
    if upload is None or upload.case_id != case.id or upload.user_id != user.id \
            or upload.expires_at < (now or utcnow()):
        raise NotFound("no such upload (finished, cancelled or expired)")
    return upload


@transactional
def end_upload(session: Session, user: User, case_id: int, token: str) -> UploadSession:
    """Forget an upload session (after it was attached, or when the user cancels)."""
    upload = get_upload(session, user, case_id, token)
    session.delete(upload)
    return upload


@transactional
def expired_uploads(session: Session, now: datetime | None = None) -> list[str]:
    """Remove expired upload sessions; their tokens (for removing the part files)."""
    rows = list(session.scalars(select(UploadSession).where(UploadSession.expires_at < (now or utcnow()))))
    for row in rows:
        session.delete(row)
    return [r.token for r in rows]


# ---------------------------------------------------------------- verification


def stored_files(session: Session, after_id: int = 0, batch: int = 500) -> list[StoredFile]:
    return list(session.scalars(select(StoredFile).where(StoredFile.id > after_id).order_by(StoredFile.id)
                                .limit(batch)))


__all__ = [
    "AttachResult", "CaseAttachments", "StudyChange", "attach_files", "attach_inbox_study", "case_instance",
    "case_series", "case_study", "confirm_study", "end_upload", "expired_uploads", "get_upload", "inbox_facility",
    "list_attachments", "list_inbox", "open_study", "read_attachment_file", "read_attachments",
    "receive_into_inbox", "record_study_reads", "start_upload", "stored_files", "suggested_cases",
    "visible_instance", "visible_studies_query",
]

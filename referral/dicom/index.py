"""Queries over the DICOM index, always inside the caller's scope.

Every query starts from `services.attachments.visible_studies_query`, which
joins each study to its case and applies `case_filter` (the one access rule)
and the patient-safety hold. A study UID attached to two cases the caller may
both see is one study to DICOMweb: its instances are merged by SOP UID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from ..domain.errors import NotFound, ValidationFailed
from ..models import Instance, Series, Study, User
from ..services.attachments import visible_studies_query
from ..services.inputs import small_int

MAX_RESULTS = 1000


@dataclass(frozen=True)
class StudyQuery:
    study_uid: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    accession_number: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    modality: str | None = None
    case_id: int | None = None
    limit: int = 100
    offset: int = 0


def _dicom_date(value: str, field: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    digits = value.replace("-", "")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except (ValueError, IndexError):
        raise ValidationFailed("invalid date", fields={field: "YYYYMMDD or YYYYMMDD-YYYYMMDD"}) from None


def parse_study_query(args) -> StudyQuery:
    """QIDO-RS matching keys (keyword or tag form) to a query; wildcards `*` and `?` in names."""
    def arg(keyword: str, tag: str) -> str | None:
        value = args.get(keyword) or args.get(tag)
        return value.strip() if value and value.strip() else None

    date_range = arg("StudyDate", "00080020")
    date_from = date_to = None
    if date_range:
        if "-" in date_range:
            start, _, end = date_range.partition("-")
            date_from, date_to = _dicom_date(start, "StudyDate"), _dicom_date(end, "StudyDate")
        else:
            date_from = date_to = _dicom_date(date_range, "StudyDate")
    fields = {}
    limit, offset = small_int(args.get("limit", "100")), small_int(args.get("offset", "0"))
    if limit is None or not 1 <= limit <= MAX_RESULTS:
        fields["limit"] = f"a whole number, 1..{MAX_RESULTS}"
    if offset is None:
        fields["offset"] = "a whole number, zero or more"
    case = args.get("case")
    case_id = small_int(case)
    if case is not None and case_id is None:
        fields["case"] = "a case id"
    if fields:
        raise ValidationFailed("invalid query", fields=fields)
    return StudyQuery(
        study_uid=arg("StudyInstanceUID", "0020000D"), patient_id=arg("PatientID", "00100020"),
        patient_name=arg("PatientName", "00100010"), accession_number=arg("AccessionNumber", "00080050"),
        date_from=date_from, date_to=date_to, modality=arg("ModalitiesInStudy", "00080061"),
        case_id=case_id, limit=limit, offset=offset,
    )


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def search_studies(session: Session, user: User, query: StudyQuery) -> list[Study]:
    stmt = visible_studies_query(session, user).options(selectinload(Study.series))
    if query.study_uid:
        stmt = stmt.where(Study.study_uid.in_(query.study_uid.replace(",", "\\").split("\\")))
    if query.patient_id:
        stmt = stmt.where(Study.patient_id.like(_like(query.patient_id), escape="\\"))
    if query.patient_name:
        pattern = _like(query.patient_name)
        if "%" not in pattern:
            pattern += "%"
        stmt = stmt.where(or_(Study.patient_name.ilike(pattern, escape="\\"),
                              Study.patient_name.ilike("%=" + pattern, escape="\\")))
    if query.accession_number:
        stmt = stmt.where(Study.accession_number == query.accession_number)
    if query.date_from:
        stmt = stmt.where(Study.study_date >= query.date_from)
    if query.date_to:
        stmt = stmt.where(Study.study_date <= query.date_to)
    if query.case_id:
        stmt = stmt.where(Study.case_id == query.case_id)
    stmt = stmt.order_by(Study.study_date.desc(), Study.id)
    studies = _unique_by_uid(session.scalars(stmt).unique())
    if query.modality:
        studies = [s for s in studies if query.modality in (s.modalities or [])]
    return studies[query.offset:query.offset + query.limit]


def _unique_by_uid(studies) -> list[Study]:
    seen, out = set(), []
    for s in studies:
        if s.study_uid not in seen:
            seen.add(s.study_uid)
            out.append(s)
    return out


def studies_by_uid(session: Session, user: User, study_uid: str) -> list[Study]:
    """Every visible copy of a study (normally one); 404 when there is none."""
    studies = list(session.scalars(visible_studies_query(session, user).where(Study.study_uid == study_uid)
                                   .order_by(Study.id)).unique())
    if not studies:
        raise NotFound("no such study")
    return studies


def series_of(session: Session, user: User, study_uid: str, series_uid: str | None = None) -> list[Series]:
    """The study's series (merged over its visible copies), or the one asked for."""
    studies = studies_by_uid(session, user, study_uid)
    stmt = select(Series).where(Series.study_id.in_([s.id for s in studies])).order_by(Series.number, Series.id)
    if series_uid is not None:
        stmt = stmt.where(Series.series_uid == series_uid)
    seen, out = set(), []
    for series in session.scalars(stmt):
        if series.series_uid not in seen:
            seen.add(series.series_uid)
            out.append(series)
    if series_uid is not None and not out:
        raise NotFound("no such series")
    return out


def instances_of(session: Session, user: User, study_uid: str, series_uid: str | None = None,
                 sop_uid: str | None = None) -> list[Instance]:
    """Instances of a study / series / one instance, in scroll order, merged by SOP UID."""
    studies = studies_by_uid(session, user, study_uid)
    stmt = (select(Instance).join(Series, Series.id == Instance.series_id)
            .where(Instance.study_id.in_([s.id for s in studies]))
            .order_by(Series.number, Series.id, Instance.sort_key, Instance.id))
    if series_uid is not None:
        stmt = stmt.where(Series.series_uid == series_uid)
    if sop_uid is not None:
        stmt = stmt.where(Instance.sop_uid == sop_uid)
    seen, out = set(), []
    for instance in session.scalars(stmt).unique():
        if instance.sop_uid not in seen:
            seen.add(instance.sop_uid)
            out.append(instance)
    if not out and (series_uid is not None or sop_uid is not None):
        raise NotFound("no such series or instance")
    return out


def one_instance(session: Session, user: User, study_uid: str, series_uid: str, sop_uid: str) -> Instance:
    return instances_of(session, user, study_uid, series_uid, sop_uid)[0]

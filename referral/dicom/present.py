"""JSON shapes of attachments, studies and upload results, shared by the API and the pages."""

from __future__ import annotations

from datetime import datetime

from ..models import Attachment, Case, Instance, Series, Study, User
from ..services.attachments import AttachResult, CaseAttachments
from .safety import display_name


def ts(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def user_ref(u: User | None) -> dict | None:
    if u is None:
        return None
    return {"id": u.id, "username": u.username, "display_name": u.display_name}


def attachment_json(a: Attachment, case_id: int) -> dict:
    return {
        "id": a.id, "kind": a.kind, "filename": a.filename, "media_type": a.file.media_type, "size": a.file.size,
        "sha256": a.file.sha256, "uploaded_by": user_ref(a.uploaded_by), "created_at": ts(a.created_at),
        "url": f"/api/v1/cases/{case_id}/attachments/{a.id}/file",
    }


def instance_json(i: Instance) -> dict:
    return {
        "sop_uid": i.sop_uid, "sop_class_uid": i.sop_class_uid, "number": i.number, "frames": i.frames,
        "rows": i.rows, "columns": i.columns, "transfer_syntax": i.transfer_syntax, "size": i.file.size,
        "sha256": i.file.sha256,
    }


def series_json(s: Series, *, instances: bool = True) -> dict:
    out = {"series_uid": s.series_uid, "modality": s.modality, "number": s.number, "description": s.description,
           "body_part": s.body_part, "instance_count": s.instance_count}
    if instances:
        out["instances"] = [instance_json(i) for i in s.instances]
    return out


def patient_json(s: Study) -> dict:
    return {"name": display_name(s.patient_name), "name_dicom": s.patient_name, "id": s.patient_id,
            "sex": s.patient_sex or None, "birth_date": s.patient_birth_date.isoformat() if s.patient_birth_date
            else None}


def study_json(s: Study, case_id: int | None, *, instances: bool = True) -> dict:
    out = {
        "id": s.id, "study_uid": s.study_uid, "description": s.description,
        "date": s.study_date.isoformat() if s.study_date else None, "time": s.study_time,
        "accession_number": s.accession_number, "modalities": s.modalities or [],
        "instance_count": s.instance_count, "total_bytes": s.total_bytes, "patient": patient_json(s),
        "safety": {"status": s.safety, "differences": s.differences or [],
                   "confirmed_by": user_ref(s.confirmed_by), "confirmed_at": ts(s.confirmed_at)},
        "source": s.source, "created_at": ts(s.created_at),
        "dicomweb_url": f"/dicomweb/studies/{s.study_uid}",
    }
    if case_id is not None:
        out["viewer_url"] = f"/cases/{case_id}/studies/{s.study_uid}"
    out["series"] = [series_json(x, instances=instances) for x in s.series]
    return out


def attach_result_json(result: AttachResult, case_id: int) -> dict:
    studies = []
    for change in result.studies:
        item = study_json(change.study, case_id, instances=False)
        item.update(instances_added=change.added, duplicates=change.duplicates)
        studies.append(item)
    return {
        "attachments": [attachment_json(a, case_id) for a in result.files],
        "studies": studies,
        "rejected": [r.as_dict() for r in result.rejected],
        "skipped": result.skipped,
        "duplicate_files": result.duplicate_files,
    }


def case_attachments_json(ca: CaseAttachments, case_id: int) -> dict:
    return {"files": [attachment_json(a, case_id) for a in ca.files],
            "studies": [study_json(s, case_id) for s in ca.studies],
            "awaiting_confirmation": ca.awaiting_confirmation}


def inbox_study_json(s: Study, suggestions: list[Case]) -> dict:
    out = study_json(s, None, instances=False)
    out["suggested_cases"] = [{"id": c.id, "reference": c.reference, "patient": c.patient.name,
                               "chief_complaint": c.chief_complaint, "status": c.status} for c in suggestions]
    return out

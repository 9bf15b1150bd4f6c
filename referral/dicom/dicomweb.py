"""DICOMweb (PS3.18) at `/dicomweb`, for viewers, gateways and scripts.

QIDO-RS searches, WADO-RS retrieval (instances as multipart/related
application/dicom, metadata as DICOM JSON, frames raw or rendered), STOW-RS
into a case (`POST /dicomweb/studies?case={id}`). Every request carries a
bearer token and is answered within the caller's scope: a study of a case the
caller may not see is `404`, the same as one that does not exist.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import pydicom
from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context
from pydicom.encaps import generate_fragmented_frames

from ..api import authenticated_user
from ..domain.errors import NotFound, ValidationFailed
from ..models import Instance, Study
from ..runtime import db_session
from ..services.access import visible_case
from ..services.attachments import attach_files, record_study_reads, visible_instance
from ..services.inputs import small_int
from ..web.blueprint import data_headers
from . import imaging
from . import index as idx
from .content_coding import request_body
from .intake import Rejection
from .multipart import staged_parts
from .parse import decode_text
from .render import FORMATS, RenderError, RenderRequest
from .scan import scan_file

bp = Blueprint("dicomweb", __name__, url_prefix="/dicomweb")
bp.after_request(data_headers)
DICOM_JSON = "application/dicom+json"
STORE_FAILED = 0xC000  # processing failure / cannot understand
CHUNK = 1 << 20


@bp.before_request
def _authenticate() -> None:
    g.api_user = authenticated_user()


def _user():
    return g.api_user


def _json(data, status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    response.mimetype = DICOM_JSON
    return response


def _audit(action: str, studies: Iterable[Study], **details) -> None:
    record_study_reads(db_session(), _user(), action, [s.case_id for s in studies], ip=request.remote_addr or "",
                       **details)


# ---------------------------------------------------------------- DICOM JSON attributes


def _attr(vr: str, *values) -> dict:
    values = [v for v in values if v not in (None, "")]
    return {"vr": vr, "Value": values} if values else {"vr": vr}


def _pn(name: str) -> dict:
    if not name:
        return {"vr": "PN"}
    groups = name.split("=")
    value = {"Alphabetic": groups[0]}
    if len(groups) > 1 and groups[1]:
        value["Ideographic"] = groups[1]
    if len(groups) > 2 and groups[2]:
        value["Phonetic"] = groups[2]
    return {"vr": "PN", "Value": [value]}


def _base() -> str:
    """Where DICOMweb is reached: the configured public address (`REFERRAL_PUBLIC_URL`), else the
    address the caller itself used."""
    public = current_app.extensions["referral"].settings.public_url
    return (public or request.host_url.rstrip("/")) + "/dicomweb"


def study_attributes(s: Study, series_count: int) -> dict:
    return {
        "00080005": _attr("CS", "ISO_IR 192"),
        "00080020": _attr("DA", s.study_date.strftime("%Y%m%d") if s.study_date else None),
        "00080030": _attr("TM", s.study_time),
        "00080050": _attr("SH", s.accession_number),
        "00080061": _attr("CS", *(s.modalities or [])),
        "00081030": _attr("LO", s.description),
        "00081190": _attr("UR", f"{_base()}/studies/{s.study_uid}"),
        "00100010": _pn(s.patient_name),
        "00100020": _attr("LO", s.patient_id),
        "00100030": _attr("DA", s.patient_birth_date.strftime("%Y%m%d") if s.patient_birth_date else None),
        "00100040": _attr("CS", {"male": "M", "female": "F", "other": "O"}.get(s.patient_sex)),
        "0020000D": _attr("UI", s.study_uid),
        "00201206": _attr("IS", series_count),
        "00201208": _attr("IS", s.instance_count),
    }


def series_attributes(study: Study, series) -> dict:
    return {
        "00080060": _attr("CS", series.modality),
        "0008103E": _attr("LO", series.description),
        "00081190": _attr("UR", f"{_base()}/studies/{study.study_uid}/series/{series.series_uid}"),
        "00180015": _attr("CS", series.body_part),
        "0020000D": _attr("UI", study.study_uid),
        "0020000E": _attr("UI", series.series_uid),
        "00200011": _attr("IS", series.number),
        "00201209": _attr("IS", series.instance_count),
    }


def instance_attributes(study_uid: str, series_uid: str, i: Instance) -> dict:
    return {
        "00080016": _attr("UI", i.sop_class_uid),
        "00080018": _attr("UI", i.sop_uid),
        "00081190": _attr("UR", f"{_base()}/studies/{study_uid}/series/{series_uid}/instances/{i.sop_uid}"),
        "00083002": _attr("UI", i.transfer_syntax),
        "0020000D": _attr("UI", study_uid),
        "0020000E": _attr("UI", series_uid),
        "00200013": _attr("IS", i.number),
        "00280008": _attr("IS", i.frames),
        "00280010": _attr("US", i.rows),
        "00280011": _attr("US", i.columns),
    }


# ---------------------------------------------------------------- QIDO-RS


@bp.get("/studies")
def search_studies():
    query = idx.parse_study_query(request.args)
    studies = idx.search_studies(db_session(), _user(), query)
    _audit("dicomweb.search", studies, count=len(studies))
    return _json([study_attributes(s, len({x.series_uid for x in s.series})) for s in studies])


@bp.get("/studies/<study_uid>/series")
def search_series(study_uid: str):
    session = db_session()
    studies = idx.studies_by_uid(session, _user(), study_uid)
    series = idx.series_of(session, _user(), study_uid)
    modality = request.args.get("Modality") or request.args.get("00080060")
    if modality:
        series = [s for s in series if s.modality == modality]
    _audit("dicomweb.search", studies, study_uid=study_uid)
    return _json([series_attributes(studies[0], s) for s in series])


@bp.get("/studies/<study_uid>/series/<series_uid>/instances")
@bp.get("/studies/<study_uid>/instances")
def search_instances(study_uid: str, series_uid: str | None = None):
    session = db_session()
    studies = idx.studies_by_uid(session, _user(), study_uid)
    instances = idx.instances_of(session, _user(), study_uid, series_uid)
    _audit("dicomweb.search", studies, study_uid=study_uid)
    return _json([instance_attributes(study_uid, i.series.series_uid, i) for i in instances])


# ---------------------------------------------------------------- WADO-RS


def _multipart(paths: Iterable[tuple[Path, str]], boundary: str) -> Iterator[bytes]:
    for path, content_type in paths:
        yield f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def _retrieve(instances: list[Instance], studies: list[Study]) -> Response:
    accept = request.headers.get("Accept", "")
    store = imaging().store
    paths = [store.path_for(i.file.sha256) for i in instances]
    missing = [str(p.name) for p in paths if not p.exists()]
    if missing:
        raise NotFound("stored files are missing; an administrator can find them with `referral dicom verify`")
    _audit("dicomweb.retrieve", studies, instances=len(instances))
    if len(instances) == 1 and "application/dicom" in accept and "multipart" not in accept:
        return Response(_stream_file(paths[0]), mimetype="application/dicom",
                        headers={"Content-Length": str(paths[0].stat().st_size)})
    boundary = secrets.token_hex(16)
    body = _multipart(((p, "application/dicom") for p in paths), boundary)
    return Response(stream_with_context(body),
                    content_type=f'multipart/related; type="application/dicom"; boundary={boundary}')


def _stream_file(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


@bp.get("/studies/<study_uid>")
def retrieve_study(study_uid: str):
    session = db_session()
    studies = idx.studies_by_uid(session, _user(), study_uid)
    return _retrieve(idx.instances_of(session, _user(), study_uid), studies)


@bp.get("/studies/<study_uid>/series/<series_uid>")
def retrieve_series(study_uid: str, series_uid: str):
    session = db_session()
    studies = idx.studies_by_uid(session, _user(), study_uid)
    return _retrieve(idx.instances_of(session, _user(), study_uid, series_uid), studies)


@bp.get("/studies/<study_uid>/series/<series_uid>/instances/<sop_uid>")
def retrieve_instance(study_uid: str, series_uid: str, sop_uid: str):
    session = db_session()
    studies = idx.studies_by_uid(session, _user(), study_uid)
    return _retrieve([idx.one_instance(session, _user(), study_uid, series_uid, sop_uid)], studies)


def _metadata(instance: Instance, study_uid: str, series_uid: str) -> dict:
    path = imaging().store.path_for(instance.file.sha256)
    base = f"{_base()}/studies/{study_uid}/series/{series_uid}/instances/{instance.sop_uid}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, stop_before_pixels=True, defer_size=64 * 1024)
        raw_name = ds.get_item(0x00100010)
        if raw_name is not None and isinstance(raw_name.value, bytes):
            # The name in the character set the file really uses (see parse.decode_text).
            charsets = ds.get("SpecificCharacterSet") or []
            charsets = [charsets] if isinstance(charsets, str) else list(charsets)
            ds.PatientName = decode_text(raw_name.value, charsets, person_name=True)
            ds.SpecificCharacterSet = "ISO_IR 192"

        # Every value but the pixels inline (InlineBinary): large ones besides the pixels are rare
        # (an overlay, an icon), and a bulk data URI would need a route of its own for each.
        data = ds.to_json_dict()
    if instance.frames:
        bits = instance.facts.get("bits_allocated", 16)
        data["7FE00010"] = {"vr": "OW" if bits > 8 and instance.transfer_syntax in _NATIVE else "OB",
                            "BulkDataURI": f"{base}/frames/{','.join(str(n) for n in range(1, instance.frames + 1))}"}
    return data


_NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"}


@bp.get("/studies/<study_uid>/metadata")
@bp.get("/studies/<study_uid>/series/<series_uid>/metadata")
@bp.get("/studies/<study_uid>/series/<series_uid>/instances/<sop_uid>/metadata")
def metadata(study_uid: str, series_uid: str | None = None, sop_uid: str | None = None):
    session = db_session()
    studies = idx.studies_by_uid(session, _user(), study_uid)
    instances = idx.instances_of(session, _user(), study_uid, series_uid, sop_uid)
    _audit("dicomweb.metadata", studies, instances=len(instances))
    return _json([_metadata(i, study_uid, i.series.series_uid) for i in instances])


def _frame_numbers(frames: str, available: int) -> list[int]:
    """The frames asked for, each once (PS3.18 lists them without repeats): a repeated number would let
    one short URL ask for the same megabytes thousands of times."""
    try:
        numbers = [int(n) for n in frames.split(",")]
    except ValueError:
        raise ValidationFailed("frame numbers are integers from 1", fields={"frames": frames[:100]}) from None
    if len(set(numbers)) != len(numbers):
        raise ValidationFailed("each frame may be asked for once", fields={"frames": "a number is repeated"})
    if not numbers or any(n < 1 or n > available for n in numbers):
        raise NotFound(f"no such frame; the image has {available}")
    return numbers


@bp.get("/studies/<study_uid>/series/<series_uid>/instances/<sop_uid>/frames/<frames>")
def retrieve_frames(study_uid: str, series_uid: str, sop_uid: str, frames: str):
    """Frames as stored (native pixel bytes, or each frame's compressed bitstream), without decoding."""
    session = db_session()
    studies = idx.studies_by_uid(session, _user(), study_uid)
    instance = idx.one_instance(session, _user(), study_uid, series_uid, sop_uid)
    numbers = _frame_numbers(frames, instance.frames)
    path = imaging().store.path_for(instance.file.sha256)
    native = instance.transfer_syntax in _NATIVE
    content_type = "application/octet-stream" if native else \
        f"application/octet-stream; transfer-syntax={instance.transfer_syntax}"
    parts = _frames_bytes(path, instance, numbers)
    _audit("dicomweb.retrieve", studies, frames=len(numbers))
    boundary = secrets.token_hex(16)

    def body():
        for part in parts:
            yield f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode()
            yield part
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    return Response(body(), content_type=f'multipart/related; type="application/octet-stream"; boundary={boundary}')


def _frames_bytes(path: Path, instance: Instance, numbers: list[int]) -> list[bytes]:
    """The asked frames' bytes in the order asked, from one pass over the file."""
    structure = scan_file(path, imaging().limits)
    pixels = structure.pixels
    if pixels is None:
        raise NotFound("this instance has no pixel data")
    if pixels.length is not None and structure.transfer_syntax == "1.2.840.10008.1.2.1.99":
        raise NotFound("frames of deflated files are served rendered only")
    with open(path, "rb") as fh:
        if pixels.length is not None:
            facts = instance.facts
            frame_bytes = (instance.rows * instance.columns * facts.get("samples", 1)
                           * facts.get("bits_allocated", 8) + 7) // 8
            out = []
            for number in numbers:
                fh.seek(pixels.offset + (number - 1) * frame_bytes)
                out.append(fh.read(frame_bytes))
            return out
        fh.seek(pixels.offset)
        buffer = fh.read()
    wanted, found = set(numbers), {}
    for index, fragments in enumerate(generate_fragmented_frames(buffer, number_of_frames=instance.frames)):
        if index + 1 in wanted:
            found[index + 1] = b"".join(fragments)
            if len(found) == len(wanted):
                break
    if len(found) != len(wanted):
        raise NotFound("no such frame")
    return [found[n] for n in numbers]


_RENDER_FIELDS = {"size": "viewport", "format": "Accept", "frame": "frame", "preset": "preset", "window": "window",
                  "quality": "quality"}  # a RenderRequest's field -> the request's parameter


def _render_request(frame: int) -> RenderRequest:
    args = request.args
    accept = request.headers.get("Accept", "")
    fmt = "png" if "image/png" in accept and "image/jpeg" not in accept else "jpeg"
    window = None
    if args.get("window"):
        parts = args["window"].split(",")
        try:
            window = (float(parts[0]), float(parts[1]))
        except (ValueError, IndexError):
            raise ValidationFailed("window is center,width[,function]", fields={"window": args["window"][:100]}) from None
    size = None
    if args.get("viewport"):
        try:
            size = max(int(v) for v in args["viewport"].split(",")[:2])
        except ValueError:
            raise ValidationFailed("viewport is width,height", fields={"viewport": args["viewport"][:100]}) from None
    try:
        quality = int(args.get("quality", 90))
    except ValueError:
        raise ValidationFailed("quality is a whole number from 1 to 100",
                               fields={"quality": args["quality"][:100]}) from None
    try:
        return RenderRequest(frame=frame, window=window, preset=args.get("preset") or None, size=size, format=fmt,
                             quality=quality)
    except RenderError as exc:
        raise ValidationFailed(str(exc), fields={_RENDER_FIELDS.get(exc.field, "query"): str(exc)}) from None


@bp.get("/studies/<study_uid>/series/<series_uid>/instances/<sop_uid>/rendered")
@bp.get("/studies/<study_uid>/series/<series_uid>/instances/<sop_uid>/frames/<int:frame>/rendered")
def rendered(study_uid: str, series_uid: str, sop_uid: str, frame: int = 1):
    """A frame as JPEG (default) or PNG (`Accept: image/png`), with `window`, `viewport`, `quality`, `preset`."""
    instance = visible_instance(db_session(), _user(), study_uid, series_uid, sop_uid)
    if frame < 1 or frame > max(instance.frames, 0):
        raise NotFound(f"no such frame; the image has {instance.frames}")
    render_request = _render_request(frame - 1)
    try:
        data = imaging().render(instance.file.sha256, render_request, instance.facts).data
    except RenderError as exc:
        raise ValidationFailed(f"this frame cannot be shown: {exc}", fields={"frame": str(exc)}) from None
    response = Response(data, mimetype=FORMATS[render_request.format])
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


# ---------------------------------------------------------------- STOW-RS


@bp.post("/studies")
@bp.post("/studies/<study_uid>")
def store_instances(study_uid: str | None = None):
    """Store instances (multipart/related; type="application/dicom") into the case named by `?case=`."""
    case_id = small_int(request.args.get("case"))
    if case_id is None:
        raise ValidationFailed("STOW-RS needs the case: POST /dicomweb/studies?case={id}",
                               fields={"case": "a case id"})
    boundary = _boundary(request.headers.get("Content-Type", ""))
    session, user, im = db_session(), _user(), imaging()
    visible_case(session, user, case_id)
    with im.store.workdir() as workdir:
        receiver = im.receiver(workdir)
        parts = staged_parts(request_body(request, im.limits.max_file_bytes), boundary, workdir, _is_dicom_part,
                             max_part_bytes=im.limits.max_file_bytes)
        for count, (headers, _, staged) in enumerate(parts, 1):
            name = f"part {count}"
            if staged is None:
                receiver.intake.rejected.append(Rejection(
                    name, f"parts must be application/dicom, not {_part_type(headers)}", kind="not_accepted"))
                continue
            im.store.sync_soon(staged.path, staged.sha256)  # the disk writes it while the file is judged
            receiver.take_written(name, staged)
        intake = receiver.intake
        if study_uid is not None:
            for item in list(intake.dicom):
                if item.parsed.info.study_uid != study_uid:
                    intake.dicom.remove(item)
                    intake.rejected.append(Rejection(item.name, "the instance belongs to another study than the "
                                                                "one in the URL", kind="study"))
        failed = [_failed(r) for r in intake.rejected]
        stored = []
        if intake.accepted:
            result = attach_files(session, user, case_id, intake, im.store, source="stow")
            refused = {r.name for r in result.rejected}
            failed = [_failed(r) for r in result.rejected]
            for item in intake.dicom:
                if item.name not in refused:
                    info = item.parsed.info
                    stored.append({
                        "00081150": _attr("UI", info.sop_class_uid),
                        "00081155": _attr("UI", info.sop_uid),
                        "00081190": _attr("UR", f"{_base()}/studies/{info.study_uid}/series/{info.series_uid}/"
                                                f"instances/{info.sop_uid}"),
                    })
    body = {"00081199": {"vr": "SQ", "Value": stored}} if stored else {}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    status = 200 if stored and not failed else 202 if stored else 409
    return _json(body, status)


def _failed(rejection: Rejection) -> dict:
    return {"00081197": _attr("US", STORE_FAILED),
            "0040A160": _attr("UT", f"{rejection.name}: {rejection.reason}")}


def _boundary(content_type: str) -> bytes:
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "multipart/related":
        raise ValidationFailed('send multipart/related; type="application/dicom"',
                               fields={"Content-Type": content_type or "missing"})
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1")
    raise ValidationFailed("the multipart boundary is missing", fields={"Content-Type": content_type})


def _part_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "application/dicom").split(";")[0].strip().lower()


def _is_dicom_part(headers: dict[str, str]) -> bool | None:
    """True for a DICOM part; None (declined, `staged_parts`) for anything else."""
    return True if _part_type(headers) == "application/dicom" else None

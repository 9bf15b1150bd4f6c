"""The DICOM network receiver (`referral dicom-listen`): C-STORE and C-ECHO with pynetdicom.

A township's X-ray machine or a county CT sends studies here as to any PACS.
Each received instance goes through the same checks as an upload and lands in
a facility's DICOM inbox, where a doctor attaches it to a case.

Which facility: the called AE title, when it is a facility code (a modality
configured to send to `YX-T01` fills that facility's inbox), otherwise the
listener's `--facility`. A store the listener cannot place, or a file that
fails the checks, is answered with a failure status and an error comment.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification

from ..db import Database
from ..disk_space import is_disk_full, storage_full
from ..domain.errors import DomainError
from ..services import attachments as service
from . import Imaging
from .store import Staged, sha256_of

log = logging.getLogger(__name__)

TRANSFER_SYNTAXES = [
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.2",  # explicit VR big endian
    "1.2.840.10008.1.2.1.99",  # deflated
    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",  # JPEG baseline, extended
    "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",  # JPEG lossless
    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",  # JPEG-LS
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",  # HTJ2K
    "1.2.840.10008.1.2.5",  # RLE
]
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000


@dataclass
class Listener:
    database: Database
    imaging: Imaging
    ae_title: str
    default_facility: str | None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # one index transaction at a time (SQLite writes serially anyway)
        self._facilities: dict[str, int | None] = {}

    def facility_for(self, called: str) -> int | None:
        """The facility a store to AE title `called` belongs to, or None when it belongs nowhere."""
        for code in (called, self.default_facility):
            if not code:
                continue
            if code not in self._facilities:
                with self.database.session() as session:
                    try:
                        self._facilities[code] = service.inbox_facility(session, code).id
                    except DomainError:
                        self._facilities[code] = None
            if self._facilities[code] is not None:
                return self._facilities[code]
        return None

    def on_echo(self, event) -> int:
        return SUCCESS

    def on_store(self, event) -> Dataset | int:
        request = event.assoc.requestor.primitive  # the A-ASSOCIATE request: the AE title the sender called
        called = str(getattr(request, "called_ae_title", "") or event.assoc.acceptor.ae_title).strip()
        calling = event.assoc.requestor.ae_title.strip()
        facility_id = self.facility_for(called)
        if facility_id is None:
            return _status(CANNOT_UNDERSTAND, f"no facility for AE title {called}")
        try:
            with self.imaging.store.workdir() as workdir:
                staged = workdir / f"received-{event.request.MessageID}.dcm"
                with open(staged, "wb") as fh:
                    fh.write(event.encoded_dataset(include_meta=True))
                receiver = self.imaging.receiver(workdir)
                size = staged.stat().st_size
                receiver.take_staged("received", Staged(staged, size, sha256_of(staged), False))
                intake = receiver.intake
                if intake.rejected:
                    reason = intake.rejected[0].reason
                    log.info("refused an instance from %s: %s", calling, reason)
                    return _status(CANNOT_UNDERSTAND, reason)
                with self._lock, self.database.session() as session:
                    changes = service.receive_into_inbox(session, facility_id, intake, self.imaging.store,
                                                         source=f"C-STORE {calling}"[:100])
                if intake.rejected:  # refused while indexing (another patient in the same study)
                    return _status(CANNOT_UNDERSTAND, intake.rejected[0].reason)
                log.info("stored %s from %s into the inbox (%s)", event.request.AffectedSOPInstanceUID, calling,
                         ", ".join(c.study.study_uid for c in changes))
                return SUCCESS
        except DomainError as exc:
            return _status(OUT_OF_RESOURCES if exc.code == "conflict" else CANNOT_UNDERSTAND, exc.message)
        except Exception as exc:
            if is_disk_full(exc):
                storage_full(exc, f"an instance from {calling}")
                return _status(OUT_OF_RESOURCES, "the receiver's disk is full")
            log.exception("storing an instance from %s failed", calling)
            return _status(OUT_OF_RESOURCES, "the receiver could not store the instance")

    def application_entity(self) -> AE:
        ae = AE(ae_title=self.ae_title)
        ae.require_called_aet = False  # facility codes are valid called AE titles too
        ae.maximum_pdu_size = 0
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(context.abstract_syntax, TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        return ae

    def serve(self, host: str, port: int, *, block: bool = True):
        handlers = [(evt.EVT_C_STORE, self.on_store), (evt.EVT_C_ECHO, self.on_echo)]
        return self.application_entity().start_server((host, port), block=block, evt_handlers=handlers)


def _status(code: int, comment: str) -> Dataset:
    ds = Dataset()
    ds.Status = code
    ds.ErrorComment = comment[:64]
    return ds

"""All models, imported here so that `Base.metadata` knows every table."""

from .advice import Advice
from .audit import AuditEntry
from .base import Base, utcnow
from .case import Case, Event, Hop, Message
from .consult import ConsultInvitation, ConsultParticipant, ConsultSession, Recording
from .facility import Facility, Partnership
from .imaging import Attachment, Instance, Series, StoredFile, Study, UploadSession
from .notification import EmergencyNotice, NoticeAttachment, NoticeTarget, Notification, SlaMark, SlaPolicyRow
from .patient import Patient
from .user import ApiToken, User

__all__ = [
    "Advice",
    "ApiToken",
    "Attachment",
    "AuditEntry",
    "Base",
    "Case",
    "ConsultInvitation",
    "ConsultParticipant",
    "ConsultSession",
    "EmergencyNotice",
    "Event",
    "Facility",
    "Hop",
    "Instance",
    "Message",
    "NoticeAttachment",
    "NoticeTarget",
    "Notification",
    "Partnership",
    "Patient",
    "Recording",
    "Series",
    "SlaMark",
    "SlaPolicyRow",
    "StoredFile",
    "Study",
    "UploadSession",
    "User",
    "utcnow",
]

"""All models, imported here so that `Base.metadata` knows every table."""

from .advice import Advice
from .audit import AuditEntry
from .base import Base, utcnow
from .case import Case, Event, Hop, Message
from .facility import Facility, Partnership
from .patient import Patient
from .user import ApiToken, User

__all__ = [
    "Advice",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Case",
    "Event",
    "Facility",
    "Hop",
    "Message",
    "Partnership",
    "Patient",
    "User",
    "utcnow",
]

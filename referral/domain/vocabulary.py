"""The coded values of the domain, as enums whose values are the wire format."""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    """Facility tiers, lowest first; comparison follows the referral direction."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"
    PROVINCIAL = "provincial"

    @property
    def rank(self) -> int:
        return _TIER_ORDER.index(self)

    def above(self) -> "Tier | None":
        """The next tier up, or None at the top."""
        i = self.rank + 1
        return _TIER_ORDER[i] if i < len(_TIER_ORDER) else None


_TIER_ORDER = [Tier.VILLAGE, Tier.TOWNSHIP, Tier.COUNTY, Tier.PROVINCIAL]
TOP_TIER = _TIER_ORDER[-1]


class FacilityKind(StrEnum):
    """What a facility is; routing rules target facilities by tier and kind."""

    VILLAGE_CLINIC = "village_clinic"
    HEALTH_CENTER = "health_center"
    GENERAL_HOSPITAL = "general_hospital"
    TCM_HOSPITAL = "tcm_hospital"
    MCH_HOSPITAL = "mch_hospital"
    HEALTH_BUREAU = "health_bureau"
    CDC = "cdc"
    EMERGENCY_CENTER = "emergency_center"
    SUPERVISION = "supervision"
    PARTNER_HOSPITAL = "partner_hospital"


class Role(StrEnum):
    DOCTOR = "doctor"
    SPECIALIST = "specialist"
    ADMIN = "admin"
    SYSADMIN = "sysadmin"


class Urgency(StrEnum):
    """Urgency, most urgent first in `URGENCY_ORDER`."""

    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


URGENCY_ORDER = (Urgency.EMERGENCY, Urgency.URGENT, Urgency.ROUTINE)


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    """How a closed case ended for the patient."""

    MANAGED_LOCALLY = "managed_locally"
    TRANSFERRED = "transferred"
    OTHER = "other"


class HopOutcome(StrEnum):
    """How one stay of the case at one facility ended."""

    ADVISED = "advised"
    ESCALATED = "escalated"
    DECLINED = "declined"
    CANCELLED = "cancelled"

"""The SLA policy in force."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..domain.sla import SlaPolicy, default_policy


def current_policy(session: Session) -> SlaPolicy:
    """The policy deadlines are computed with (the data file's defaults)."""
    return default_policy()

"""SLA deadlines: the pure warning/breach rules (`rules`), one idempotent pass of the timer
(`tick.run_tick`), the periodic runner with its election among processes (`runner`), and the
county admin's policy page (`views`)."""

from __future__ import annotations

from .tick import TickReport, run_tick

__all__ = ["TickReport", "run_tick"]

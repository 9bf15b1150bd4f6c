"""The specialty codes (data file), with Chinese and English names."""

from __future__ import annotations

from functools import cache

from .terms import Term, load_terms

Specialty = Term


@cache
def all_specialties() -> tuple[Specialty, ...]:
    """Every specialty, in the order of the data file."""
    return load_terms("specialties.json")


@cache
def specialty_codes() -> frozenset[str]:
    return frozenset(s.code for s in all_specialties())


def specialty(code: str) -> Specialty | None:
    return next((s for s in all_specialties() if s.code == code), None)

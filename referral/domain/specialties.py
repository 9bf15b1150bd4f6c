"""The specialty codes (data file), with Chinese and English names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Specialty:
    code: str
    zh: str
    en: str

    def name(self, locale: str = "zh") -> str:
        return self.en if locale.startswith("en") else self.zh


@cache
def all_specialties() -> tuple[Specialty, ...]:
    """Every specialty, in the order of the data file."""
    raw = json.loads(resources.files("referral.data").joinpath("specialties.json").read_text("utf-8"))
    return tuple(Specialty(**item) for item in raw)


@cache
def specialty_codes() -> frozenset[str]:
    return frozenset(s.code for s in all_specialties())


def specialty(code: str) -> Specialty | None:
    return next((s for s in all_specialties() if s.code == code), None)

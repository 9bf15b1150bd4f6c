"""Coded terms with a Chinese and an English name (specialties, diagnoses), read from the data files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Term:
    code: str
    zh: str
    en: str

    def name(self, locale: str = "zh") -> str:
        return self.en if locale.startswith("en") else self.zh


def load_terms(filename: str) -> tuple[Term, ...]:
    """The terms of `referral/data/<filename>` (a JSON list of {code, zh, en}), in file order."""
    raw = json.loads(resources.files("referral.data").joinpath(filename).read_text("utf-8"))
    return tuple(Term(**item) for item in raw)

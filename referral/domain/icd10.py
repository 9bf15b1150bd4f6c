"""The curated ICD-10 list of common primary-care diagnoses (data file), and its search.

A village doctor types a few characters of a code, a Chinese name or an
English name; the best matches come first: an exact code, then codes that
start with the query, then an exact name, then names that contain it, the
shortest (most general) first.
"""

from __future__ import annotations

from functools import cache

from .terms import Term, load_terms

Icd10Entry = Term


@cache
def all_entries() -> tuple[Icd10Entry, ...]:
    """Every entry of the curated list, ordered by code."""
    return tuple(sorted(load_terms("icd10.json"), key=lambda e: e.code))


def lookup(code: str) -> Icd10Entry | None:
    """The entry with exactly this code (case-insensitive), if it is on the list."""
    code = (code or "").strip().upper()
    return next((e for e in all_entries() if e.code == code), None)


def search(query: str, limit: int = 12) -> list[Icd10Entry]:
    """Entries matching `query` by code or by Chinese or English name, best matches first."""
    q = (query or "").strip()
    if not q:
        return []
    upper, lower = q.upper(), q.lower()
    ranked: list[tuple[int, int, str, Icd10Entry]] = []
    for entry in all_entries():
        en = entry.en.lower()
        if entry.code == upper:
            rank, length = 0, 0
        elif entry.code.startswith(upper):
            rank, length = 1, 0
        elif entry.zh == q or en == lower:
            rank, length = 2, 0
        elif q in entry.zh:
            rank, length = 3, len(entry.zh)
        elif lower in en:
            rank, length = 3, len(en)
        else:
            continue
        ranked.append((rank, length, entry.code, entry))
    ranked.sort(key=lambda item: item[:3])
    return [item[3] for item in ranked[: max(0, limit)]]

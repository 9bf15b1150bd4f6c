"""How personal identifiers are shown outside the record itself."""

from __future__ import annotations


def mask_id_number(id_number: str | None) -> str | None:
    """Keep the region prefix (6) and the last 4 characters: 420322********1234."""
    if not id_number:
        return id_number
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]

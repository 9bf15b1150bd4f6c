"""The fonts every PDF embeds, from the project's own files.

PDFs must look the same on any host, so they never rely on installed fonts:
the template declares the families with `font_face_css()` and the URL fetcher
serves the files from `referral/static/fonts/` (see fontsubset.py for how
they are made). "Referral Sans SC" carries Chinese and English text; "Referral
Symbols" the few symbols it lacks (superscript digits as in 10⁹/L, check marks).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
FONT_FAMILY = "Referral Sans SC"
SYMBOLS_FAMILY = "Referral Symbols"
FONT_FILES = {"Regular": "ReferralSansSC-Regular.otf", "Bold": "ReferralSansSC-Bold.otf"}
SYMBOLS_FILE = "ReferralSymbols-Regular.ttf"
ASSET_PREFIX = "fonts/"


@dataclass(frozen=True)
class Face:
    family: str
    weight: int
    filename: str
    format: str


FACES = (
    Face(FONT_FAMILY, 400, FONT_FILES["Regular"], "opentype"),
    Face(FONT_FAMILY, 700, FONT_FILES["Bold"], "opentype"),
    Face(SYMBOLS_FAMILY, 400, SYMBOLS_FILE, "truetype"),
)
FAMILY_STACK = f"'{FONT_FAMILY}', '{SYMBOLS_FAMILY}'"


@cache
def font_assets() -> dict[str, bytes]:
    """The font files as fetcher assets: {"fonts/<file>": bytes}. Read once per process."""
    return {ASSET_PREFIX + face.filename: (FONT_DIR / face.filename).read_bytes() for face in FACES}


def font_face_css(base_url: str | None = None) -> str:
    """`@font-face` rules for the embedded families, and the family stack on the page and its
    margin boxes (page numbers live there and do not inherit from `body`)."""
    from .fetcher import ASSET_BASE

    base = base_url or ASSET_BASE
    faces = "\n".join(
        f"@font-face {{ font-family: '{face.family}'; font-weight: {face.weight}; font-style: normal; "
        f"src: url('{base}{ASSET_PREFIX}{face.filename}') format('{face.format}'); }}"
        for face in FACES
    )
    family = f"font-family: {FAMILY_STACK};"
    return f"{faces}\n@page {{ {family} }}\nhtml {{ {family} }}\n"

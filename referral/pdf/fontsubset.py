"""Build the embedded fonts: a subset of Noto Sans CJK SC (SIL Open Font License 1.1) and, for
the few symbols it lacks, a subset of DejaVu Sans (Bitstream Vera licence).

The full font is 20 MB per weight; PDFs need only the characters a Chinese
clinical document uses: GB2312 (every character of everyday Simplified
Chinese), ASCII and Latin-1 for English and numbers, the punctuation, symbols
and units of clinical notes, and the characters of personal names that GB2312
lacks. The result is renamed so that it can never be confused with an
installed Noto font (the licence reserves the name "Source"; "Noto" is a
trademark) and keeps the copyright and licence records of its name table.
The characters of the set that Noto lacks (superscript digits, some arrows and
check marks) come from DejaVu Sans, renamed as its licence requires.

Run it once after changing the character set, then commit the files it
writes (and nothing else):

    apt-get install fonts-noto-cjk fonts-dejavu-core
    python -m referral.pdf.fontsubset [--source-dir /usr/share/fonts/opentype/noto]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from .fonts import FONT_DIR, FONT_FAMILY, FONT_FILES, SYMBOLS_FAMILY, SYMBOLS_FILE

SOURCE_DIR = Path("/usr/share/fonts/opentype/noto")
SYMBOLS_SOURCE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SOURCES = {"Regular": "NotoSansCJK-Regular.ttc", "Bold": "NotoSansCJK-Bold.ttc"}

# Blocks beyond GB2312 that clinical text uses: Latin-1 (µ, °, ±, ×), general punctuation
# (— … • ‰), super- and subscripts (10⁹/L), letterlike symbols (℃, №), Roman numerals,
# arrows, mathematical operators (≤ ≥ ≈), circled numbers, geometric shapes (■ ● ○),
# CJK symbols and punctuation, and the full-width forms.
EXTRA_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),
    (0x00A0, 0x00FF),
    (0x2000, 0x206F),
    (0x2070, 0x209F),
    (0x2100, 0x218F),
    (0x2190, 0x21FF),
    (0x2200, 0x22FF),
    (0x2460, 0x24FF),
    (0x25A0, 0x25FF),
    (0x2700, 0x2714),
    (0x2717, 0x2718),
    (0x3000, 0x303F),
    (0xFF00, 0xFFEF),
)

# Characters common in personal and place names that GB2312 lacks (they are in GBK and the
# 2013 table of general standard characters).
NAME_CHARACTERS = (
    "堃喆玥珺璟镕祎赟昇犇琤珩玮瑄瑀琇璇婳姮媖嬿旻昉晞暐曦翀翯彧昶炅烜焜煜燚玙珝琍琭瑢璠"
    "颢頔钰铖锜锳钖淏湉溋漪澍濛沄汭淇渼潆滢珣砚祐禛稷筠箐婕嫚婠娈宸寀屾嵘岍峣崧彤恺"
    "懿骞骐骅骢弢郃邶邴鄞芃苒茆荀莛萁蓁蓥蘅蕤薷菁葳蒨"
)


def gb2312_characters() -> set[int]:
    """Every code point of the GB2312 character set (both levels of hanzi and the symbols)."""
    points: set[int] = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return points


def character_set() -> set[int]:
    points = gb2312_characters()
    for first, last in EXTRA_RANGES:
        points.update(range(first, last + 1))
    points.update(ord(c) for c in NAME_CHARACTERS)
    return points


def _sc_face(collection_path: Path):
    from fontTools.ttLib import TTCollection

    for font in TTCollection(str(collection_path)).fonts:
        if font["name"].getDebugName(1).endswith(" SC"):
            return font
    raise SystemExit(f"{collection_path} has no Simplified Chinese (SC) face")


def _rename(font, weight: str, family: str = FONT_FAMILY, origin: str = "Noto Sans CJK SC 2.004") -> None:
    """New family and PostScript names; copyright (0), trademark (7) and licence (13, 14) stay."""
    postscript = f"{family.replace(' ', '')}-{weight}"
    names = {1: family, 2: weight, 3: f"{postscript};subset of {origin}",
             4: f"{family} {weight}" if weight != "Regular" else family, 6: postscript,
             16: family, 17: weight}
    table = font["name"]
    table.names = [r for r in table.names if r.nameID not in names and r.nameID not in (18, 21, 22)]
    for name_id, value in names.items():
        table.setName(value, name_id, 3, 1, 0x409)
        table.setName(value, name_id, 1, 0, 0)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [postscript]
        top = cff.topDictIndex[0]
        top.FullName, top.FamilyName = names[4], family


def _options():
    from fontTools import subset

    options = subset.Options()
    options.hinting = False  # hints add size and nothing at print resolution
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.name_languages = [0x409, 0]
    # Horizontal Chinese and English only: no vertical metrics, no other locales' glyph variants.
    options.layout_features = ["kern", "ccmp", "liga", "calt", "mark", "mkmk"]
    options.drop_tables += ["DSIG", "VORG", "vhea", "vmtx"]
    return options


def _subset(font, points: set[int]) -> None:
    from fontTools import subset

    subsetter = subset.Subsetter(_options())
    subsetter.populate(unicodes=points)
    subsetter.subset(font)


def build(source_dir: Path = SOURCE_DIR, target_dir: Path = FONT_DIR, points: Iterable[int] | None = None,
          symbols_source: Path = SYMBOLS_SOURCE) -> list[Path]:
    """Write the subset fonts; returns their paths."""
    from fontTools.ttLib import TTFont

    wanted = set(points if points is not None else character_set())
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    covered: set[int] = set()
    for weight, source in SOURCES.items():
        font = _sc_face(source_dir / source)
        _subset(font, wanted)
        covered |= set(font.getBestCmap())
        _rename(font, weight)
        font.save(str(target_dir / FONT_FILES[weight]))
        written.append(target_dir / FONT_FILES[weight])
    symbols = TTFont(str(symbols_source))
    _subset(symbols, (wanted - covered) & set(symbols.getBestCmap()))
    _rename(symbols, "Regular", SYMBOLS_FAMILY, "DejaVu Sans 2.37")
    symbols.save(str(target_dir / SYMBOLS_FILE))
    written.append(target_dir / SYMBOLS_FILE)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source-dir", type=Path, default=SOURCE_DIR, help="where NotoSansCJK-*.ttc are")
    parser.add_argument("--symbols-source", type=Path, default=SYMBOLS_SOURCE, help="DejaVuSans.ttf")
    args = parser.parse_args(argv)
    for path in build(args.source_dir, symbols_source=args.symbols_source):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":  # pragma: no cover
    main()

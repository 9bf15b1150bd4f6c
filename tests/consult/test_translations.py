"""Every visible string of the consult room (pages and the browser client's strings) is in Chinese,
and the compiled catalog the server loads is current."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "referral" / "consult" / "translations"
CATALOG = FOLDER / "zh" / "LC_MESSAGES"


def source_messages() -> set[str]:
    with open(FOLDER / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    return {m if isinstance(m, str) else m[0]
            for _f, _l, m, _c, _x in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)}


def test_every_room_string_has_a_chinese_translation():
    with open(CATALOG / "messages.po", "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id and not m.fuzzy}
    source = source_messages()
    assert {"Unmute", "Camera on", "Stop sharing", "Audio only", "Play"} <= source
    missing = sorted(i for i in source if not po.get(i))
    assert not missing, f"translate in {CATALOG / 'messages.po'}: {missing}"


def test_the_compiled_room_catalog_matches_the_source():
    with open(CATALOG / "messages.po", "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id and m.string and not m.fuzzy}
    with open(CATALOG / "messages.mo", "rb") as f:
        mo = {m.id: m.string for m in read_mo(BytesIO(f.read())) if m.id}
    assert po == mo, "recompile: pybabel compile -d referral/consult/translations"

"""Every visible string of the reports is translated, and the compiled catalog is current."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "referral" / "reports" / "translations"
CATALOG = TRANSLATIONS / "zh" / "LC_MESSAGES"


def _source_messages() -> set[str]:
    with open(TRANSLATIONS / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    return {message if isinstance(message, str) else message[0]
            for _f, _l, message, _c, _ctx in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)}


def test_every_message_has_a_chinese_translation():
    with open(CATALOG / "messages.po", "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    source = _source_messages()
    assert len(source) > 80
    missing = sorted(i for i in source if not po.get(i))
    assert not missing, f"add these to referral/reports/translations/zh/LC_MESSAGES/messages.po: {missing}"


def test_the_compiled_catalog_matches_the_source():
    with open(CATALOG / "messages.po", "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id and m.string}
    with open(CATALOG / "messages.mo", "rb") as f:
        mo = {m.id: m.string for m in read_mo(BytesIO(f.read())) if m.id}
    assert po == mo, "recompile: pybabel compile -d referral/reports/translations"

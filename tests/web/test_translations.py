"""Every visible string of the web app is translated, and the compiled catalog is current."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from referral.domain import icd10

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "referral" / "translations" / "zh" / "LC_MESSAGES"


def _source_messages() -> set[str]:
    with open(ROOT / "referral" / "translations" / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map,
                                                                      keywords=keywords):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_message_has_a_chinese_translation():
    with open(CATALOG / "messages.po", "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    source = _source_messages()
    assert len(source) > 200
    missing = sorted(i for i in source if not po.get(i))
    assert not missing, f"add these to referral/translations/zh/LC_MESSAGES/messages.po: {missing}"


def test_the_compiled_catalog_matches_the_source():
    with open(CATALOG / "messages.po", "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id and m.string}
    with open(CATALOG / "messages.mo", "rb") as f:
        mo = {m.id: m.string for m in read_mo(BytesIO(f.read())) if m.id}
    assert po == mo, "recompile: pybabel compile -d referral/translations"


def test_icd10_list_search():
    assert 150 <= len(icd10.all_entries()) <= 250
    assert icd10.search("I10")[0].code == "I10"
    assert icd10.search("j18")[0].code.startswith("J18")
    assert [e.code for e in icd10.search("高血压")][:1] == ["I10"]
    assert any(e.code == "E11.9" for e in icd10.search("diabetes"))
    assert icd10.search("") == [] and icd10.search("zzzz") == []
    assert icd10.lookup("i10").zh == "原发性高血压" and icd10.lookup("Q99.9") is None

"""Every visible string of the advice pages has a Chinese translation, and the compiled catalog
is current (the PDF's own words are in referral/advice/labels.py and are checked here too)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from referral.advice import labels

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "referral" / "advice" / "translations"
CATALOG = TRANSLATIONS / "zh" / "LC_MESSAGES"


def _source_messages() -> set[str]:
    with open(TRANSLATIONS / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map,
                                                                      keywords=keywords):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_message_has_a_chinese_translation():
    with open(CATALOG / "messages.po", "rb") as f:
        po = {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(f) if m.id}
    source = _source_messages()
    assert len(source) > 50
    missing = sorted(i for i in source if not po.get(i))
    assert not missing, f"add these to {CATALOG / 'messages.po'} and recompile: {missing}"


def _plain(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_the_compiled_catalog_matches_the_source():
    with open(CATALOG / "messages.po", "rb") as f:
        po = {_plain(m.id): _plain(m.string) for m in read_po(f) if m.id and m.string}
    with open(CATALOG / "messages.mo", "rb") as f:
        mo = {_plain(m.id): _plain(m.string) for m in read_mo(BytesIO(f.read())) if m.id}
    assert po == mo, "recompile: pybabel compile -d referral/advice/translations"


def test_pdf_words_exist_in_both_languages():
    for key, pair in labels._TEXT.items():
        assert len(pair) == 2 and all(pair), key
    zh, en = labels.Labels("zh"), labels.Labels("en")
    assert zh("page", page=1, pages=2) == "第 1 页 / 共 2 页"
    assert en("page", page=1, pages=2) == "Page 1 of 2"
    assert zh.code("disposition", "urgent_transfer") == "立即转诊上级医院"
    assert labels.Labels("en-US").language == "en" and labels.Labels("zh-CN").language == "zh"

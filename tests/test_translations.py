"""Every visible string is translated into Chinese, and each compiled catalog the server loads
is current: one check for every catalog (the web app's and each feature's)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}

WEB = "referral/translations"
# Each catalog: its folder, what its source must at least hold (so an extraction that finds
# nothing cannot pass: a number of messages, a few that must be there), and the catalogs it is
# merged with at run time that may translate its pages' shared words.
CATALOGS = {
    "web": (WEB, 200, set(), ()),
    "advice": ("referral/advice/translations", 50, set(), ()),
    "consult": ("referral/consult/translations", 20, {"Unmute", "Camera on", "Stop sharing", "Audio only", "Play"}, ()),
    "dicom": ("referral/dicom/translations", 60, set(), ()),
    "notifications": ("referral/notifications/translations", 20, set(), (WEB,)),
    "reports": ("referral/reports/translations", 80, set(), ()),
}


def _key(value):
    """A message id or string as a comparable value (plural forms are tuples)."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _source_messages(folder: Path) -> set[str]:
    with open(folder / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    return {message if isinstance(message, str) else message[0]
            for _f, _l, message, _c, _x in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)}


def _po(folder: Path) -> dict:
    """The translated, non-fuzzy entries of the Chinese catalog (what `pybabel compile` compiles)."""
    with open(folder / "zh" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {_key(m.id): _key(m.string) for m in read_po(f) if m.id and not m.fuzzy and any(_key(m.string))}


@pytest.mark.parametrize("name", CATALOGS)
def test_every_message_has_a_chinese_translation(name):
    folder, at_least, required, merged_with = CATALOGS[name]
    source = _source_messages(ROOT / folder)
    assert len(source) > at_least and required <= source
    translated = {(k if isinstance(k, str) else k[0]) for f in (folder, *merged_with) for k in _po(ROOT / f)}
    missing = sorted(i for i in source if i not in translated)
    assert not missing, f"add these to {folder}/zh/LC_MESSAGES/messages.po and recompile: {missing}"


@pytest.mark.parametrize("name", CATALOGS)
def test_the_compiled_catalog_matches_the_source(name):
    folder = ROOT / CATALOGS[name][0]
    with open(folder / "zh" / "LC_MESSAGES" / "messages.mo", "rb") as f:
        mo = {_key(m.id): _key(m.string) for m in read_mo(BytesIO(f.read())) if m.id}
    assert _po(folder) == mo, f"recompile: pybabel compile -d {CATALOGS[name][0]}"

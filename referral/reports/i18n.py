"""The reports' messages: English ids, Chinese in `referral/reports/translations`.

A Flask-Babel domain over two catalogs, the web app's and the reports' own, so
that report pages (which extend the web app's layout) find both. Templates of
the reports get this domain's `_`/`gettext`.
"""

from __future__ import annotations

from pathlib import Path

from flask_babel import Domain

from ..web.i18n import TRANSLATIONS as WEB_TRANSLATIONS

TRANSLATIONS = Path(__file__).resolve().parent / "translations"

domain = Domain(translation_directories=[str(WEB_TRANSLATIONS), str(TRANSLATIONS)])
gettext = domain.gettext
lazy_gettext = domain.lazy_gettext


def template_globals() -> dict:
    """What a report template needs to translate with this domain."""
    return {"_": gettext, "gettext": gettext}

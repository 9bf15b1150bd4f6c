"""Notifications: who hears of what (`rules`), stored per recipient and pushed live after
commit (`service`, `delivery`), and sent outside through pluggable channels (`channels`).

Other features call `notify_case_event` (the case workflow), `notify_consult_invite`
(consult rooms) or `notify_users` (emergency notices, SLA warnings).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from .channels import channels_from_config
from .delivery import dispatcher
from .rules import Audience, Kind
from .service import case_audience, notify_case, notify_case_event, notify_consult_invite, notify_users

TRANSLATIONS = str(Path(__file__).resolve().parent / "translations")

__all__ = [
    "Audience",
    "Kind",
    "case_audience",
    "dispatcher",
    "init_notifications",
    "notify_case",
    "notify_case_event",
    "notify_consult_invite",
    "notify_users",
]


def init_notifications(app: Flask) -> None:
    """Bind the notification pages, the emergency notices and the SLA policy page to the app,
    and configure the outbound channels from the settings."""
    from ..notices.views import bp as notices_bp
    from ..sla.views import bp as sla_bp
    from ..web.i18n import add_catalog
    from .views import bp

    settings = app.extensions["referral"].settings
    dispatcher.configure(channels_from_config(settings.extra))
    add_catalog(app, TRANSLATIONS)
    app.register_blueprint(bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(sla_bp)

"""Configuration read from the environment (and an optional `.env` file).

Only this module reads the environment, and only when `Settings.from_env()` is
called: importing the package has no side effects.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Everything the application needs to know about its surroundings."""

    data_dir: Path
    database_url: str
    secret_key: str
    redis_url: str | None = None
    token_ttl_hours: int = 12
    login_max_failures: int = 5
    login_window_seconds: int = 900
    max_json_bytes: int = 256 * 1024
    max_upload_bytes: int = 1024 * 1024 * 1024
    session_cookie_secure: bool = True
    # Video consults: ICE servers handed to room members (JSON list of RTCIceServer dicts, e.g.
    # [{"urls": "stun:turn.example:3478"}]), and coturn's use-auth-secret for per-user TURN credentials.
    ice_servers: tuple = ()
    turn_secret: str | None = None
    turn_urls: tuple[str, ...] = ()
    turn_ttl_seconds: int = 3600
    consult_agent_url: str | None = None  # where a spawned consult agent reaches this server
    # The address people reach the app at, e.g. https://referral.yunxi.example (printed in the QR codes of
    # advice PDFs); unset: the address of the first page a signed-in user opens.
    public_url: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Build settings from `REFERRAL_*` variables; `overrides` win."""
        load_dotenv(PROJECT_ROOT / ".env", override=False)
        data_dir = Path(overrides.pop("data_dir", None) or os.environ.get("REFERRAL_DATA_DIR", "instance")).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        database_url = overrides.pop("database_url", None) or os.environ.get("REFERRAL_DATABASE_URL") or (
            f"sqlite:///{data_dir / 'referral.db'}"
        )
        secret_key = overrides.pop("secret_key", None) or os.environ.get("REFERRAL_SECRET_KEY") or _stored_secret(data_dir)
        redis_url = overrides.pop("redis_url", None) or os.environ.get("REFERRAL_REDIS_URL") or None
        public_url = overrides.pop("public_url", None) or os.environ.get("REFERRAL_PUBLIC_URL") or None
        secure = os.environ.get("REFERRAL_COOKIE_SECURE", "auto")
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            secret_key=secret_key,
            redis_url=redis_url,
            public_url=public_url.rstrip("/") if public_url else None,
            session_cookie_secure=secure == "1",
            **_consult_settings(overrides),
            extra={**_notify_settings(), **overrides.pop("extra", {})},
            **overrides,
        )


def _stored_secret(data_dir: Path) -> str:
    """A secret generated once and kept in the data directory, so sessions survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(key)
    tmp.chmod(0o600)
    tmp.replace(path)
    return key


def _consult_settings(overrides: dict) -> dict:
    """The video consult settings from REFERRAL_ICE_SERVERS, REFERRAL_TURN_SECRET, REFERRAL_TURN_URLS,
    REFERRAL_TURN_TTL and REFERRAL_CONSULT_AGENT_URL (explicit overrides win)."""
    import json

    values: dict = {}
    raw = os.environ.get("REFERRAL_ICE_SERVERS", "").strip()
    if raw and "ice_servers" not in overrides:
        servers = json.loads(raw)
        if not isinstance(servers, list) or not all(isinstance(s, dict) and s.get("urls") for s in servers):
            raise ValueError("REFERRAL_ICE_SERVERS must be a JSON list of objects with 'urls'")
        values["ice_servers"] = tuple(servers)
    if os.environ.get("REFERRAL_TURN_SECRET") and "turn_secret" not in overrides:
        values["turn_secret"] = os.environ["REFERRAL_TURN_SECRET"]
    urls = [u.strip() for u in os.environ.get("REFERRAL_TURN_URLS", "").split(",") if u.strip()]
    if urls and "turn_urls" not in overrides:
        values["turn_urls"] = tuple(urls)
    if os.environ.get("REFERRAL_TURN_TTL") and "turn_ttl_seconds" not in overrides:
        values["turn_ttl_seconds"] = int(os.environ["REFERRAL_TURN_TTL"])
    if os.environ.get("REFERRAL_CONSULT_AGENT_URL") and "consult_agent_url" not in overrides:
        values["consult_agent_url"] = os.environ["REFERRAL_CONSULT_AGENT_URL"]
    return values


# Outbound notification gateways: environment variable -> key of `Settings.extra` (see notifications/channels.py).
NOTIFY_VARIABLES = {
    "REFERRAL_NOTIFY_CHANNELS": "notify_channels",  # comma-separated: log, sms, email (default: log)
    "REFERRAL_SMS_GATEWAY_URL": "sms_gateway_url",
    "REFERRAL_SMS_API_KEY": "sms_api_key",
    "REFERRAL_SMTP_HOST": "smtp_host",
    "REFERRAL_SMTP_PORT": "smtp_port",
    "REFERRAL_SMTP_SENDER": "smtp_sender",
}


def _notify_settings() -> dict:
    """`Settings.extra` from the environment: the SMS and e-mail gateways of outbound
    notifications, and the disk budget of rendered DICOM frames."""
    values = {key: os.environ[name].strip() for name, key in NOTIFY_VARIABLES.items() if os.environ.get(name, "").strip()}
    if values.get("smtp_port") and not values["smtp_port"].isdecimal():
        raise ValueError("REFERRAL_SMTP_PORT must be a port number")
    public = os.environ.get("REFERRAL_PUBLIC_URL", "").strip()
    if public:
        values["public_base_url"] = public.rstrip("/")
    cache = os.environ.get("REFERRAL_FRAME_CACHE_BYTES", "").strip()
    if cache:
        if not (cache.isascii() and cache.isdigit()):
            raise ValueError("REFERRAL_FRAME_CACHE_BYTES must be a number of bytes")
        values["frame_cache_bytes"] = int(cache)
    return values

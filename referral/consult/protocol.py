"""The consult signalling messages: every incoming payload is parsed into a clean dict here, and only
the clean dict is relayed, so a malformed or oversized message is refused with a clear `validation`
error and nothing else of it reaches anyone. See docs/consult-signalling.md."""

from __future__ import annotations

import math
import re

from ..domain.errors import ValidationFailed

MAX_SDP = 64 * 1024
MAX_CANDIDATE = 1024
MAX_PEERS_REPORTED = 16
PRESETS = ("audio", "240p", "480p", "720p")
ROLES = ("participant", "recorder", "streamer")
_SID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_\-.:]{0,64}$")


def _obj(data: object) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed("the message must be an object", fields={"message": "expected a JSON object"})
    return data


def _int(data: dict, name: str, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**53:
        raise ValidationFailed(f"invalid {name}", fields={name: "expected a positive integer"})
    return value


def _str(data: dict, name: str, limit: int, *, required: bool = True, pattern: re.Pattern | None = None) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise ValidationFailed(f"invalid {name}", fields={name: f"expected a string of at most {limit} characters"})
    if pattern is not None and not pattern.match(value):
        raise ValidationFailed(f"invalid {name}", fields={name: "unexpected characters"})
    return value


def _bool(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ValidationFailed(f"invalid {name}", fields={name: "expected true or false"})
    return value


def _number(value: object, name: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or not low <= value <= high:
        raise ValidationFailed(f"invalid {name}", fields={name: f"expected a number between {low} and {high}"})
    return float(value)


def parse_join(data: object) -> dict:
    data = _obj(data)
    role = data.get("role", "participant")
    if role not in ROLES:
        raise ValidationFailed("invalid role", fields={"role": f"one of {', '.join(ROLES)}"})
    return {"case_id": _int(data, "case_id"), "role": role,
            "recording_id": _int(data, "recording_id", required=False),
            "label": _str(data, "label", 60, required=False) or ""}


def parse_description(data: object) -> dict:
    """An offer or an answer addressed to one peer of the room."""
    data = _obj(data)
    return {"to": _str(data, "to", 64, pattern=_SID), "sdp": _str(data, "sdp", MAX_SDP),
            "pc": _str(data, "pc", 64, required=False, pattern=_TOKEN) or ""}


def parse_ice(data: object) -> dict:
    """A trickled ICE candidate (or null: end of candidates) addressed to one peer."""
    data = _obj(data)
    raw = data.get("candidate")
    candidate = None
    if raw is not None:
        raw = _obj(raw)
        candidate = {"candidate": _str(raw, "candidate", MAX_CANDIDATE, required=False) or "",
                     "sdpMid": _str(raw, "sdpMid", 64, required=False),
                     "sdpMLineIndex": _int_or_zero(raw.get("sdpMLineIndex")),
                     "usernameFragment": _str(raw, "usernameFragment", 256, required=False)}
    return {"to": _str(data, "to", 64, pattern=_SID), "candidate": candidate,
            "pc": _str(data, "pc", 64, required=False, pattern=_TOKEN) or ""}


def _int_or_zero(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1024:
        raise ValidationFailed("invalid sdpMLineIndex", fields={"sdpMLineIndex": "expected a small integer"})
    return value


def parse_media(data: object) -> dict:
    """What a participant is sending: microphone, camera, screen, and the chosen quality preset."""
    data = _obj(data)
    preset = data.get("preset")
    if preset is not None and preset not in PRESETS:
        raise ValidationFailed("invalid preset", fields={"preset": f"one of {', '.join(PRESETS)}"})
    return {"audio": _bool(data, "audio"), "video": _bool(data, "video"), "screen": _bool(data, "screen"),
            "preset": preset}


def parse_quality(data: object) -> dict:
    """Connection quality measured by a participant (getStats) towards each peer."""
    data = _obj(data)
    stats = _obj(data.get("stats", {}))
    if len(stats) > MAX_PEERS_REPORTED:
        raise ValidationFailed("too many peers", fields={"stats": f"at most {MAX_PEERS_REPORTED} peers"})
    clean = {}
    for sid, values in stats.items():
        if not isinstance(sid, str) or not _SID.match(sid):
            raise ValidationFailed("invalid peer id", fields={"stats": "keys are peer ids"})
        values = _obj(values)
        clean[sid] = {"rtt_ms": _number(values.get("rtt_ms"), "rtt_ms", 0, 60_000),
                      "loss": _number(values.get("loss"), "loss", 0, 1),
                      "kbps_in": _number(values.get("kbps_in"), "kbps_in", 0, 1_000_000),
                      "kbps_out": _number(values.get("kbps_out"), "kbps_out", 0, 1_000_000)}
    preset = data.get("preset")
    if preset is not None and preset not in PRESETS:
        raise ValidationFailed("invalid preset", fields={"preset": f"one of {', '.join(PRESETS)}"})
    return {"stats": clean, "preset": preset}


def parse_recording_ref(data: object) -> dict:
    data = _obj(data)
    return {"recording_id": _int(data, "recording_id")}

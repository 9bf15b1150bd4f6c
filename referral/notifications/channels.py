"""Outbound channels: one interface for every way a notification leaves the system.

In-app delivery (the stored row plus the Socket.IO push) always happens and is not
a channel here. The outbound channels are for what must reach people who are not
looking at a screen: an SMS gateway or an e-mail relay, both off by default and
switched on by configuration, and the `log` channel that writes what would be
sent (the demo's default). Channels run on a background thread after the commit,
so a slow gateway never holds a request or a database transaction.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import requests

log = logging.getLogger("referral.notifications.outbound")


@dataclass(frozen=True)
class Outbound:
    """One message for one person, in their language, with only what a gateway needs."""

    user_id: int
    username: str
    display_name: str
    phone: str
    email: str
    kind: str
    title: str
    link: str


class Channel(Protocol):
    name: str

    def send(self, message: Outbound) -> None:
        """Deliver or raise; the dispatcher logs failures and carries on with the next message."""


class LogChannel:
    """Writes each outbound message to the log: what an SMS gateway would have been asked to send."""

    name = "log"

    def send(self, message: Outbound) -> None:
        log.info("notify %s (%s, phone %s): [%s] %s %s", message.username, message.display_name,
                 message.phone or "-", message.kind, message.title, message.link)


class SmsGatewayChannel:
    """An HTTP SMS gateway on the private network: POST {"to", "text"} as JSON with a bearer key."""

    name = "sms"

    def __init__(self, url: str, api_key: str = "", timeout: float = 5.0, base_url: str = "") -> None:
        self.url, self.api_key, self.timeout, self.base_url = url, api_key, timeout, base_url.rstrip("/")

    def send(self, message: Outbound) -> None:
        if not message.phone:
            return
        text = f"{message.title} {self.base_url}{message.link}".strip()
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        response = requests.post(self.url, json={"to": message.phone, "text": text}, headers=headers,
                                 timeout=self.timeout)
        response.raise_for_status()


class SmtpChannel:
    """An SMTP relay; sends to people whose address is known (`Outbound.email`)."""

    name = "email"

    def __init__(self, host: str, port: int = 25, sender: str = "referral@localhost", base_url: str = "",
                 timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.base_url = base_url.rstrip("/")

    def send(self, message: Outbound) -> None:
        if not message.email:
            return
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.email, message.title
        mail.set_content(f"{message.title}\n\n{self.base_url}{message.link}\n")
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(mail)


def channels_from_config(config: Mapping) -> list[Channel]:
    """The outbound channels a deployment asked for.

    `config` is `Settings.extra`: `notify_channels` lists names (default `["log"]`);
    `sms_gateway_url`/`sms_api_key` and `smtp_host`/`smtp_port`/`smtp_sender` configure the gateways,
    `public_base_url` prefixes links.
    """
    names = config.get("notify_channels", ["log"])
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    base = str(config.get("public_base_url", ""))
    built: list[Channel] = []
    for name in names:
        if name == "log":
            built.append(LogChannel())
        elif name == "sms":
            built.append(SmsGatewayChannel(_required(config, "sms_gateway_url", "sms"),
                                           str(config.get("sms_api_key", "")), base_url=base))
        elif name == "email":
            built.append(SmtpChannel(_required(config, "smtp_host", "email"), int(config.get("smtp_port", 25)),
                                     str(config.get("smtp_sender", "referral@localhost")), base_url=base))
        else:
            raise ValueError(f"unknown notification channel {name!r} (known: log, sms, email)")
    return built


def _required(config: Mapping, key: str, channel: str) -> str:
    value = str(config.get(key) or "").strip()
    if not value:
        raise ValueError(f"the {channel} notification channel needs {key} "
                         f"(environment: REFERRAL_{key.upper()})")
    return value


class Dispatcher:
    """Sends outbound messages through the configured channels on one background thread."""

    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self.channels: list[Channel] = list(channels)
        self._queue: queue.Queue[Outbound | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def configure(self, channels: Iterable[Channel]) -> None:
        self.channels = list(channels)

    def submit(self, messages: Iterable[Outbound]) -> None:
        if not self.channels:
            return
        self._ensure_thread()
        for message in messages:
            self._queue.put(message)

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until everything submitted so far has been handed to the channels (tests, shutdown)."""
        done = threading.Event()
        if self._thread is None:
            return
        self._queue.put(_Marker(done))  # type: ignore[arg-type]
        done.wait(timeout)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="notify-outbound", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            if isinstance(message, _Marker):
                message.done.set()
                continue
            for channel in list(self.channels):
                try:
                    channel.send(message)
                except Exception:  # a gateway failure must not stop the others
                    log.exception("channel %s failed for user %s", channel.name, message.user_id)


@dataclass
class _Marker:
    done: threading.Event

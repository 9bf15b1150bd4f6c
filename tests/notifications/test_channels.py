"""Outbound channels: the log channel of the demo, an HTTP SMS gateway (a real local server),
and the configuration that switches them on."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from referral.notifications.channels import (Dispatcher, LogChannel, Outbound, SmsGatewayChannel, SmtpChannel,
                                             channels_from_config)

MESSAGE = Outbound(7, "township.specialist", "张明", "13800000000", "", "emergency_notice", "【红色预警】发热聚集",
                   "/notices/1")


def test_the_demo_default_is_the_log_channel():
    channels = channels_from_config({})
    assert [c.name for c in channels] == ["log"]
    assert channels_from_config({"notify_channels": ""}) == []
    with pytest.raises(ValueError, match="unknown notification channel"):
        channels_from_config({"notify_channels": ["pager"]})
    built = channels_from_config({"notify_channels": "log,sms,email", "sms_gateway_url": "http://127.0.0.1:9/sms",
                                  "smtp_host": "127.0.0.1"})
    assert [type(c) for c in built] == [LogChannel, SmsGatewayChannel, SmtpChannel]


def test_the_gateways_come_from_the_environment(monkeypatch, tmp_path):
    from referral.config import Settings

    for name, value in {"REFERRAL_NOTIFY_CHANNELS": "log, sms, email", "REFERRAL_SMS_GATEWAY_URL": "http://127.0.0.1:9/sms",
                        "REFERRAL_SMS_API_KEY": "key-9", "REFERRAL_SMTP_HOST": "mail.yunxi.example",
                        "REFERRAL_SMTP_PORT": "2525", "REFERRAL_PUBLIC_URL": "https://referral.yunxi.example/"}.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(data_dir=tmp_path)
    log, sms, email = channels_from_config(settings.extra)
    assert (type(log), type(sms), type(email)) == (LogChannel, SmsGatewayChannel, SmtpChannel)
    assert sms.url == "http://127.0.0.1:9/sms" and email.port == 2525
    assert sms.base_url == "https://referral.yunxi.example"
    monkeypatch.delenv("REFERRAL_SMS_GATEWAY_URL")
    with pytest.raises(ValueError, match="REFERRAL_SMS_GATEWAY_URL"):
        channels_from_config(Settings.from_env(data_dir=tmp_path).extra)


def test_log_channel_writes_what_would_be_sent(caplog):
    with caplog.at_level(logging.INFO, logger="referral.notifications.outbound"):
        LogChannel().send(MESSAGE)
    assert "township.specialist" in caplog.text and "【红色预警】发热聚集" in caplog.text and "13800000000" in caplog.text


class _Gateway(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Gateway.received.append((self.headers.get("Authorization"), json.loads(body)))
        self.send_response(200 if len(_Gateway.received) == 1 else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_sms_gateway_gets_the_text_and_a_failing_gateway_does_not_stop_the_others(caplog):
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/send"
        dispatcher = Dispatcher([SmsGatewayChannel(url, "key-1", base_url="https://referral.example"), LogChannel()])
        with caplog.at_level(logging.INFO, logger="referral.notifications.outbound"):
            dispatcher.submit([MESSAGE, MESSAGE])
            dispatcher.drain()
        assert _Gateway.received[0] == ("Bearer key-1", {
            "to": "13800000000", "text": "【红色预警】发热聚集 https://referral.example/notices/1"})
        assert len(_Gateway.received) == 2
        assert "channel sms failed" in caplog.text  # the second answer was 503: logged ...
        assert caplog.text.count("notify township.specialist") == 2  # ... and the log channel still ran
    finally:
        server.shutdown()


def test_people_without_a_number_or_address_are_skipped():
    no_phone = Outbound(1, "u", "U", "", "", "k", "t", "/")
    SmsGatewayChannel("http://127.0.0.1:9/unreachable").send(no_phone)  # no request attempted
    SmtpChannel("127.0.0.1", 9).send(no_phone)

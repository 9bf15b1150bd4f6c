"""The `/reports` page speaks the reader's language everywhere: the messages of a bad filter (which the
API gives in English, its contract) and the header of the layout, which keeps the interface's catalog
while the reports' own strings keep the reports' catalog (a few ids read differently there)."""

from __future__ import annotations

import re

import pytest
from jinja2 import DictLoader

from referral.notifications.rules import Kind
from referral.notifications.service import notify_users
from tests.web.conftest import post_form, sign_in

ERROR = re.compile(r'<p class="field-error" id="err-([\w-]+)">([^<]*)</p>')


def field_errors(html: str) -> dict[str, str]:
    return dict(ERROR.findall(html))


def header(html: str) -> str:
    return re.search(r"<header.*?</header>", html, re.S).group(0)


def words(html: str) -> list[str]:
    """What a reader sees or hears of some markup: its texts and its labels."""
    labels = re.findall(r'(?:aria-label|data-label-[\w-]+|data-text-[\w-]+|title|alt)="([^"]*)"', html)
    texts = [t.strip() for t in re.findall(r">([^<]+)<", html) if t.strip()]
    return labels + texts


def attribute(html: str, name: str) -> list[str]:
    return re.findall(rf'{name}="([^"]*)"', html)


@pytest.fixture
def admin(app):
    client = app.test_client()
    assert sign_in(client, "county.admin").status_code == 302
    return client


@pytest.mark.parametrize("query, field, chinese, english", [
    ("from=2026-12-01&to=2026-01-01", "from", "起始日期不能晚于截止日期。", "must not be after"),
    ("from=abc", "from", "请按 年-月-日（YYYY-MM-DD）格式输入日期。", "a date as YYYY-MM-DD"),
    ("to=2026-02-30", "to", "请按 年-月-日（YYYY-MM-DD）格式输入日期。", "a date as YYYY-MM-DD"),
    ("from=1900-01-01", "from", "请选择 1992-01-01 及以后的日期。", "or later"),
    ("from=2000-01-01&to=2020-01-01", "to", "统计期间最长为十年。", "at most ten years"),
    ("tier=hamlet", "tier", "请从选项中选择。", "one of village"),
    ("urgency=whenever", "urgency", "请从选项中选择。", "one of routine"),
    ("specialty=astrology", "specialty", "请从列表中选择专科。", "unknown specialty"),
    ("facility=NO-SUCH", "facility", "请从列表中选择机构。", "no such facility"),
])
def test_a_bad_filter_is_explained_in_chinese(admin, query, field, chinese, english):
    r = admin.get(f"/reports?{query}")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert field_errors(html) == {field: chinese}
    assert english not in html


def test_a_bad_filter_is_explained_in_english_to_an_english_reader(admin):
    post_form(admin, "/locale", {"locale": "en", "next": "/reports"}, token_from="/reports")
    html = admin.get("/reports?from=2026-12-01&to=2026-01-01").get_data(as_text=True)
    assert field_errors(html) == {"from": "The start date must not be after the end date."}
    html = admin.get("/reports?from=1900-01-01").get_data(as_text=True)
    assert field_errors(html) == {"from": "Choose a date from 1992-01-01 on."}


def test_the_api_keeps_its_english_messages(api):
    r = api.get("county.admin", "/api/v1/reports/referrals?from=2026-12-01&to=2026-01-01")
    assert r.status_code == 422 and r.get_json()["fields"] == {"from": "must not be after `to`"}
    r = api.get("county.admin", "/api/v1/reports/referrals?from=abc")
    assert r.get_json()["fields"] == {"from": "a date as YYYY-MM-DD"}
    r = api.get("county.admin", "/api/v1/reports/referrals?from=1900-01-01")
    assert r.get_json()["fields"] == {"from": "must be 1992-01-01 or later"}


@pytest.mark.parametrize("query", ["", "from=2026-12-01&to=2026-01-01"])
def test_the_header_is_the_same_chinese_as_on_every_other_page(admin, session, users, query):
    admin_user = users["county.admin"]
    notify_users(session, [admin_user] * 3, Kind.CASE_DECLINED, {"reference": "YX-TEST"}, link="/notifications")
    session.commit()
    home = admin.get("/").get_data(as_text=True)
    page = admin.get(f"/reports?{query}").get_data(as_text=True)
    bar = header(page)
    assert 'aria-label="消息提醒：3 条未读"' in bar
    assert "消息提醒：{n} 条未读" in attribute(bar, "data-label-some")
    assert "应急通知：{n} 条待确认" in attribute(bar, "data-label-some")
    assert attribute(bar, "data-text-close") == ["关闭"]
    assert "Notifications" not in bar and "Emergency notices" not in bar and "Close" not in bar
    assert words(header(home)) == words(bar)


def test_the_reports_own_strings_keep_the_reports_catalog(admin):
    """"From" and "Reset" read 来自 and 复位 in the interface's catalog, 起始日期 and 重置 in a report."""
    html = admin.get("/reports").get_data(as_text=True)
    assert '<label for="f-from">起始日期</label>' in html
    assert ">重置</a>" in html
    assert "复位" not in html and "来自" not in html


def test_translation_follows_the_template_that_says_it(app):
    """A reports template's `_()` is the reports' domain; the layout it extends and what the layout
    includes keep the interface's, whatever the template hands to `render_template`."""
    env = app.jinja_env.overlay(loader=DictLoader({
        "layout.html": '{{ _("Reset") }}|{% block body %}{% endblock %}|{% include "part.html" %}',
        "part.html": '{{ _("Reset") }},{{ gettext("From") }}',
        "reports/probe.html": '{% extends "layout.html" %}{% block body %}{{ _("Reset") }},{{ gettext("From") }},'
                              '{{ _("Jurisdiction: %(name)s", name="<b>") }}'
                              '{% include "reports/part.html" %}{% endblock %}',
        "reports/part.html": ',{{ _("Reset") }}',
    }))
    with app.test_request_context("/reports"):
        assert env.get_template("reports/probe.html").render() == (
            "复位|重置,起始日期,管辖范围：&lt;b&gt;,重置|复位,来自")

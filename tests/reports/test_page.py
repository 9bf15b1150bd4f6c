"""The `/reports` page: for administrators only, scoped, with figures, charts, sortable tables and
downloads (tests/reports/test_browser.py drives it in Chromium)."""

from __future__ import annotations

import pytest

from tests.web.conftest import sign_in

QUERY = "from=2024-03-01&to=2024-03-31"


@pytest.fixture
def signed_in(app):
    def make(username: str):
        client = app.test_client()
        assert sign_in(client, username).status_code == 302
        return client

    return make


def test_the_county_admin_sees_the_figures(signed_in, march):
    r = signed_in("county.admin").get(f"/reports?{QUERY}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "转诊统计报表" in html and "管辖范围：郧西县卫生健康局" in html
    assert html.count("<svg class=\"chart\"") >= 5
    for table in ("t-tiers", "t-facilities", "t-months", "t-diagnoses"):
        assert f'id="{table}"' in html
    assert '<strong class="card-value">7</strong>' in html  # cases submitted
    assert "/reports/export.xlsx?from=2024-03-01&amp;to=2024-03-31" in html
    assert "/reports/line-list.csv?" in html
    assert "420322" not in html and "测试患者" not in html  # aggregates only
    assert r.headers["Cache-Control"] == "private, no-store"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_the_page_speaks_english_too(app, march):
    client = app.test_client()
    assert sign_in(client, "county.admin").status_code == 302
    from tests.web.conftest import post_form

    post_form(client, "/locale", {"locale": "en", "next": "/reports"}, token_from="/reports")
    html = client.get(f"/reports?{QUERY}").get_data(as_text=True)
    assert "Referral reports" in html and "Cases submitted" in html


def test_a_bad_filter_shows_the_form_with_the_error(signed_in):
    r = signed_in("county.admin").get("/reports?from=2024-04-01&to=2024-03-01&tier=hamlet")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "部分筛选条件无效" in html and 'aria-invalid="true"' in html
    assert "card-value" not in html


@pytest.mark.parametrize("username", ["village.doctor", "township.specialist", "county.specialist"])
def test_doctors_and_specialists_get_403(signed_in, username):
    client = signed_in(username)
    for path in ("/reports", f"/reports/export.csv?{QUERY}", f"/reports/line-list.csv?{QUERY}"):
        assert client.get(path).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client):
    r = client.get("/reports")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_township_admin_sees_only_their_township(signed_in, march):
    html = signed_in("township.admin").get(f"/reports?{QUERY}").get_data(as_text=True)
    assert "城关镇" in html
    assert "土门镇" not in html  # T2: neither in the figures nor among the filter's facilities


def test_unknown_export_is_404(signed_in):
    assert signed_in("county.admin").get("/reports/export.doc").status_code == 404

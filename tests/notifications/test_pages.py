"""The badge in the header, the list, opening and marking read — through the pages."""

from __future__ import annotations

import re

from tests.notifications.pages import Browser


def badge_count(html: str) -> int:
    match = re.search(r'<span class="notify-count" data-notify-count( hidden)?>(\d+)</span>', html)
    assert match, "the header shows the notification badge"
    return 0 if match.group(1) else int(match.group(2))


def test_badge_list_open_and_mark_read(app, api):
    browser = Browser(app, "township.specialist")
    start = badge_count(browser.get("/").get_data(as_text=True))
    cid = api.new_case("village.doctor", specialty="internal_medicine")["id"]
    api.act("village.doctor", cid, "submit")
    cid2 = api.new_case("village.doctor", specialty="internal_medicine")["id"]
    api.act("village.doctor", cid2, "submit")

    home = browser.get("/").get_data(as_text=True)
    assert badge_count(home) == start + 2
    assert 'href="/notifications"' in home and "socket.io.min.js" in home and "notify/notify.js" in home

    page = browser.get("/notifications?unread=1").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'data-notification-id="(\d+)"', page)]
    assert len(ids) == min(start + 2, 20)  # a page of twenty, newest first
    assert "新病例待接诊" in page

    r = browser.get(f"/notifications/{ids[0]}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{cid2}")
    assert badge_count(browser.get("/").get_data(as_text=True)) == start + 1

    r = browser.post("/notifications/read", {"id": str(ids[1]), "next": "/notifications"})
    assert r.status_code == 302
    assert badge_count(browser.get("/notifications").get_data(as_text=True)) == start
    browser.post("/notifications/read", {"all": "1"})
    assert badge_count(browser.get("/").get_data(as_text=True)) == 0
    assert browser.get("/notifications/count").get_json()["unread"] == 0


def test_nobody_opens_another_persons_notification(app, api):
    cid = api.new_case("village.doctor", specialty="internal_medicine")["id"]
    api.act("village.doctor", cid, "submit")
    item = api.get("township.specialist", "/api/v1/notifications").get_json()["items"][0]
    other = Browser(app, "village.doctor2")
    assert other.get(f"/notifications/{item['id']}").status_code == 404
    assert other.post("/notifications/read", {"id": str(item["id"])}).status_code == 404
    assert app.test_client().get("/notifications").status_code in (302, 401)


def test_forms_need_the_csrf_token(app):
    browser = Browser(app, "township.specialist")
    assert browser.client.post("/notifications/read", data={"all": "1"}).status_code == 400

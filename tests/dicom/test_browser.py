"""The viewer and the upload panel in Debian's Chromium: the first image of a CT after a small
fraction of the study, scrolling by wheel, keys, slider and touch, window/level by drag and by
preset, a measurement in millimetres, and an upload that survives a dropped connection."""

from __future__ import annotations

import zipfile
from urllib.parse import urlsplit

import pytest

from tests.web.test_browser import sign_in

from .conftest import SAMPLE_PATIENTS, new_case, upload

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 800}


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def ct_case(api, samples):
    cid = new_case(api)
    body = upload(api, "village.doctor", cid, samples["ct"]).get_json()
    return cid, body["studies"][0]


def _open(chromium, live_server, username, viewport=DESKTOP, **context_args):
    context = chromium.new_context(viewport=viewport, locale="zh-CN", **context_args)
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, live_server.url, username)
    return context, page


def _link(context, page, *, latency_ms: int, down: int, up: int) -> None:
    """Chromium's own emulation of a slow link for this page: round-trip latency, bytes per second each way."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": latency_ms,
                                                  "downloadThroughput": down, "uploadThroughput": up})


def _wait_drawn(page, contains: str = "") -> str:
    page.wait_for_function(
        "([needle]) => { const r = document.getElementById('dicom-viewer');"
        " return r.dataset.drawn && r.dataset.drawn.includes(needle) && r.dataset.drawnIndex === r.dataset.index; }",
        arg=[contains])
    return page.get_attribute("#dicom-viewer", "data-drawn")


def _canvas_mean(page) -> float:
    return page.evaluate("""() => {
        const c = document.querySelector('.dv-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i];
        return s / (d.length / 4);
    }""")


def test_viewer_first_image_scroll_window_level_measure(chromium, live_server, ct_case, artifacts):
    cid, study = ct_case
    context, page = _open(chromium, live_server, "village.doctor")
    own = urlsplit(live_server.url).netloc
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server.url}/cases/{cid}/studies/{study['study_uid']}")
    _wait_drawn(page)
    # Everything the page transferred until the first image was on screen (scripts and styles included).
    first_bytes = page.evaluate("""() => performance.getEntriesByType('navigation').concat(
        performance.getEntriesByType('resource')).reduce((n, e) => n + (e.encodedBodySize || 0), 0)""")
    assert first_bytes < 0.05 * study["total_bytes"], (first_bytes, study["total_bytes"])
    (artifacts / "dicom-first-image.txt").write_text(
        f"first image after {first_bytes} bytes of a {study['total_bytes']} byte study "
        f"({100 * first_bytes / study['total_bytes']:.2f}%)\n")
    assert all(urlsplit(u).netloc == own for u in requests if u.startswith("http"))
    assert page.locator(".dv-thumb").count() == 1
    index = int(page.get_attribute("#dicom-viewer", "data-index"))
    assert index == 23  # the middle of 48 slices

    # Scroll: wheel, keys, slider.
    box = page.locator(".dv-viewport").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(3):
        page.mouse.wheel(0, 100)
    page.wait_for_function("() => document.getElementById('dicom-viewer').dataset.index === '26'")
    page.keyboard.press("ArrowUp")
    page.wait_for_function("() => document.getElementById('dicom-viewer').dataset.index === '25'")
    # Ctrl, Alt and Cmd combinations stay the browser's (Ctrl+S, Ctrl+R, Alt+Left): the viewer leaves them be.
    for combo in ("{key: 's', ctrlKey: true}", "{key: 'r', metaKey: true}", "{key: 'ArrowLeft', altKey: true}"):
        prevented = page.evaluate(f"""() => {{ const e = new KeyboardEvent('keydown',
            Object.assign({combo}, {{bubbles: true, cancelable: true}})); document.body.dispatchEvent(e);
            return e.defaultPrevented; }}""")
        assert prevented is False, combo
    assert page.get_attribute("#dicom-viewer", "data-index") == "25"
    assert page.locator("[data-tool='scroll'][aria-pressed='true']").count() == 0
    page.keyboard.press("End")
    _wait_drawn(page, "/frames/1.jpg")
    assert page.get_attribute("#dicom-viewer", "data-index") == "47"
    page.locator(".dv-slider").fill("10")
    page.wait_for_function("() => document.getElementById('dicom-viewer').dataset.index === '9'")
    assert page.locator(".dv-counter").inner_text() == "图像 10 / 48"
    _wait_drawn(page)

    # Window/level by drag: the file's lung window first, then wider and higher.
    assert page.get_attribute("#dicom-viewer", "data-window") == "-600,1500"
    before = _canvas_mean(page)
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 400, box["y"] + 420, steps=8)
    page.mouse.up()
    drawn = _wait_drawn(page, "wc=")
    center, width = (int(v) for v in page.get_attribute("#dicom-viewer", "data-window").split(","))
    assert center == -600 + 120 * 6 and width == 1500 + 100 * 6
    assert "ww=2100.0" in drawn
    assert abs(_canvas_mean(page) - before) > 3  # the picture changed
    page.screenshot(path=artifacts / "dicom-viewer-window.png")

    # Presets: a button and a key.
    page.get_by_role("button", name="纵隔窗").click()
    _wait_drawn(page, "preset=mediastinum")
    assert page.get_attribute("#dicom-viewer", "data-window") == "50,350"
    page.keyboard.press("3")  # the third preset: bone
    _wait_drawn(page, "preset=bone")

    # A measurement across the body: pixel spacing 0.684 mm.
    page.get_by_role("button", name="测量").click()
    page.mouse.move(box["x"] + 400, box["y"] + 400)
    page.mouse.down()
    page.mouse.move(box["x"] + 700, box["y"] + 400, steps=5)
    page.mouse.up()
    label = page.get_attribute("#dicom-viewer", "data-measure")
    scale = page.evaluate("""() => { const c = document.querySelector('.dv-canvas');
        return Math.min(c.clientWidth / 512, c.clientHeight / 512); }""")
    expected_mm = 300 / scale * 350 / 512
    assert label.endswith(" mm") and float(label.split()[0]) == pytest.approx(expected_mm, rel=0.02)
    page.screenshot(path=artifacts / "dicom-viewer-measure.png")
    assert errors == []
    context.close()


def test_viewer_on_a_phone_with_touch(chromium, live_server, ct_case, artifacts):
    cid, study = ct_case
    context, page = _open(chromium, live_server, "village.doctor", viewport=PHONE, has_touch=True,
                          is_mobile=True, device_scale_factor=2)
    page.goto(f"{live_server.url}/cases/{cid}/studies/{study['study_uid']}")
    drawn = _wait_drawn(page)
    assert "size=" in drawn
    assert page.locator('[data-tool="scroll"]').get_attribute("aria-pressed") == "true"
    # The tools, the whole image and the slider on the screen, without scrolling the page by hand.
    for part in (".dv-toolbar", ".dv-viewport", ".dv-slider-row"):
        top, bottom = page.evaluate(f"() => {{ const r = document.querySelector('{part}').getBoundingClientRect();"
                                    " return [r.top, r.bottom]; }")
        assert 0 <= top and bottom <= PHONE["height"], (part, top, bottom)
    _every_button_in_sight(page)
    box = page.locator(".dv-viewport").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 100
    page.evaluate("""([x, y]) => {
        const v = document.querySelector('.dv-viewport');
        const ev = (type, yy) => v.dispatchEvent(new PointerEvent(type, {pointerId: 7, pointerType: 'touch',
            clientX: x, clientY: yy, bubbles: true, isPrimary: true}));
        ev('pointerdown', y);
        for (let d = 10; d <= 120; d += 10) ev('pointermove', y + d);
        ev('pointerup', y + 120);
    }""", [x, y])
    page.wait_for_function("() => document.getElementById('dicom-viewer').dataset.index === '33'")
    _wait_drawn(page)
    page.screenshot(path=artifacts / "dicom-viewer-phone.png")
    page.click("form.lang button")  # English labels are longer: still all in sight
    _wait_drawn(page)
    _every_button_in_sight(page)
    context.close()


def _every_button_in_sight(page) -> None:
    """Each tool and preset wholly on the screen: none hidden past its edge for the reader to guess at."""
    width = page.viewport_size["width"]
    boxes = page.evaluate("""() => [...document.querySelectorAll('.dv-toolbar button')].map(b => {
        const r = b.getBoundingClientRect(); return [b.textContent.trim(), r.left, r.right]; })""")
    assert len(boxes) >= 10
    for label, left, right in boxes:
        assert 0 <= left and right <= width, (label, left, right)


def test_upload_from_the_case_page_resumes_after_a_drop(chromium, live_server, api, samples, tmp_path, artifacts):
    cid = new_case(api)
    archive = tmp_path / "chest-ct.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for p in samples["ct"][:16]:
            zf.write(p, f"CT/{p.name}")
    context, page = _open(chromium, live_server, "village.doctor")
    dropped = {"count": 0}

    def drop_second_chunk(route):
        dropped["count"] += 1
        if dropped["count"] == 2:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/attachments/uploads/*", lambda route: drop_second_chunk(route)
               if route.request.method == "PUT" else route.continue_())
    page.goto(f"{live_server.url}/cases/{cid}")
    page.locator(".dv-drop input[type=file]").set_input_files(
        [str(archive), str(samples["cr"][0]), str(samples["mr"][0])])
    page.wait_for_selector(".dv-results .dv-ok", timeout=90_000)
    results = page.locator(".dv-results").inner_text()
    assert "已添加 18 幅图像/文件" in results
    assert dropped["count"] >= 6  # 8 MB in 1 MB chunks, one of them sent twice
    page.wait_for_selector(".dicom-panel[data-refreshed] .dv-open")
    assert page.locator(".dicom-panel .dv-study").count() == 3
    page.locator(".dicom-panel").screenshot(path=artifacts / "dicom-case-panel.png")
    body = api.get("village.doctor", f"/api/v1/cases/{cid}/attachments").get_json()
    ct = next(s for s in body["studies"] if s["modalities"] == ["CT"])
    assert ct["instance_count"] == 16
    context.close()


def test_a_batch_whose_link_goes_silent_is_sent_again(chromium, live_server, api, samples, monkeypatch):
    """A connection can die without saying so (a mobile link between cells): a batch in which nothing
    has moved for the page's stall time is given up and sent again, and the upload completes. One
    that is slow but moving is never cut off (there is no limit on a request's whole time)."""
    from dataclasses import replace

    from referral.dicom import views
    from referral.dicom.limits import BATCHING

    monkeypatch.setattr(views, "BATCHING", replace(BATCHING, stall_seconds=3))
    cid = new_case(api)
    held = []

    def first_goes_silent(route):
        if route.request.method == "POST" and not held:
            held.append(route)  # never answered, never failed: the link just went quiet
        else:
            route.continue_()

    context, page = _open(chromium, live_server, "village.doctor")
    page.route("**/attachments/files", first_goes_silent)
    page.goto(f"{live_server.url}/cases/{cid}")
    page.locator(".dv-drop input[type=file]").set_input_files([str(p) for p in samples["ct"][46:48]])
    page.wait_for_selector(".dv-results .dv-ok", timeout=30_000)
    assert "已添加 2 幅图像/文件" in page.locator(".dv-results").inner_text()
    assert len(held) == 1
    context.close()

    # Slow but moving: one slice (125 KB compressed) at 20 KB/s takes over twice the stall time.
    context, page = _open(chromium, live_server, "village.doctor")
    _link(context, page, latency_ms=100, down=250_000, up=20_000)
    posts = []
    page.on("request", lambda r: posts.append(r) if r.url.endswith("/attachments/files") else None)
    page.goto(f"{live_server.url}/cases/{cid}")
    page.locator(".dv-drop input[type=file]").set_input_files(str(samples["ct"][45]))
    page.wait_for_selector(".dv-results .dv-ok", timeout=30_000)
    assert "已添加 1 幅图像/文件" in page.locator(".dv-results").inner_text()
    assert len(posts) == 1
    context.close()


def test_over_a_slow_link_a_file_larger_than_a_batch_goes_in_resumable_chunks(chromium, live_server, api,
                                                                                 samples):
    """At 500 kbit/s a batch carries about 1 MB: a 2 MB ultrasound clip goes through the resumable
    upload in 1 MB chunks (a drop costs a chunk), the CT slice before it in a batch. (Over any link
    files under 4 MB used to go in batches, whole.)"""
    cid = new_case(api, patient=SAMPLE_PATIENTS["us"])
    clip = samples["us"][0]
    assert 1 << 20 < clip.stat().st_size < 4 << 20  # under the size that always goes in chunks
    context, page = _open(chromium, live_server, "village.doctor")
    _link(context, page, latency_ms=100, down=2_000_000, up=62_500)
    requests_seen = []
    page.on("request", lambda r: requests_seen.append((r.method, r.url.rsplit("/attachments/", 1)[-1]))
            if "/attachments/" in r.url else None)
    page.goto(f"{live_server.url}/cases/{cid}")
    page.locator(".dv-drop input[type=file]").set_input_files([str(samples["ct"][44]), str(clip)])
    page.wait_for_selector(".dv-results .dv-ok", timeout=90_000)
    assert "已添加 2 幅图像/文件" in page.locator(".dv-results").inner_text()
    batches = [r for r in requests_seen if r == ("POST", "files")]
    chunks = [r for r in requests_seen if r[0] == "PUT"]
    assert len(batches) == 1 and len(chunks) == 2, requests_seen
    context.close()


def test_a_ct_on_a_slow_village_link(chromium, live_server, ct_case):
    """At 1 Mbit/s: the first image within seconds, and racing the slider to the end does not
    download every slice on the way (the ones scrolled past are abandoned)."""
    cid, study = ct_case
    context, page = _open(chromium, live_server, "village.doctor", viewport=PHONE, has_touch=True, is_mobile=True)
    _link(context, page, latency_ms=150, down=125_000, up=60_000)
    finished = []
    page.on("requestfinished", lambda r: finished.append(r.url) if "/frames/" in r.url else None)
    started = page.evaluate("performance.now()")
    page.goto(f"{live_server.url}/cases/{cid}/studies/{study['study_uid']}")
    _wait_drawn(page)
    first_image_seconds = (page.evaluate("performance.now()") - started) / 1000
    assert first_image_seconds < 12, first_image_seconds
    slider = page.locator(".dv-slider")
    for value in range(24, 49, 2):
        slider.fill(str(value))
    page.wait_for_function("() => document.getElementById('dicom-viewer').dataset.index === '47'")
    _wait_drawn(page)
    assert len(set(finished)) < 20, len(set(finished))  # not all 48 slices: those scrolled past were dropped
    context.close()


def test_scrolling_faster_than_a_slow_link_keeps_the_picture_moving(chromium, live_server, ct_case):
    """A swipe through twenty slices in two seconds over 1.5 Mbit/s with 400 ms of latency: images
    keep appearing on the way (not only when the finger stops), each labelled with its own slice
    number, a bar says the picture is catching up, and the last slice is the one left on screen."""
    cid, study = ct_case
    context, page = _open(chromium, live_server, "village.doctor", viewport=PHONE, has_touch=True, is_mobile=True)
    page.goto(f"{live_server.url}/cases/{cid}/studies/{study['study_uid']}")
    _wait_drawn(page)
    _link(context, page, latency_ms=400, down=187_500, up=50_000)
    page.evaluate("""() => { const r = document.getElementById('dicom-viewer'); window.drawnOnTheWay = [];
        new MutationObserver(() => window.drawnOnTheWay.push([Number(r.dataset.drawnIndex),
            document.querySelector('.dv-tr').textContent])).observe(r, {attributeFilter: ['data-drawn-index']}); }""")
    page.locator(".dv-viewport").focus()
    pending = []
    for _ in range(20):  # from the middle slice (24 of 48) to slice 44
        page.keyboard.press("ArrowDown")
        pending.append(page.get_attribute("#dicom-viewer", "data-pending"))
        page.wait_for_timeout(100)
    page.wait_for_function("() => document.getElementById('dicom-viewer').dataset.drawnIndex === '43'")
    drawn = page.evaluate("window.drawnOnTheWay")
    on_the_way = {index for index, _ in drawn if 25 < index < 43}  # past the two slices fetched ahead
    assert len(on_the_way) >= 1, drawn
    for index, overlay in drawn:
        assert f"图像 {index + 1} / 48" in overlay, (index, overlay)  # the number of the slice on screen
    assert "true" in pending
    page.wait_for_function("() => document.getElementById('dicom-viewer').dataset.pending === 'false'")
    context.close()


def test_batches_are_compressed_and_sized_for_the_link(app, chromium, live_server, api, samples, tmp_path):
    """Over a slow link every batch and chunk goes gzip-compressed (a fraction of the bytes) and the
    batches stay small (a drop costs seconds); on a fast one only the first, small batch is
    compressed, and the rest of the files go in one large batch."""
    cid = new_case(api)
    sent = []  # (Content-Encoding, Content-Length) of each batch, as the server received it
    chunks = []  # the same of each chunk of the resumable upload
    inner = app.wsgi_app

    def recording(environ, start_response):
        seen = (environ.get("HTTP_CONTENT_ENCODING"), int(environ.get("CONTENT_LENGTH") or 0))
        if environ["PATH_INFO"].endswith("/attachments/files"):
            sent.append(seen)
        elif "/attachments/uploads/" in environ["PATH_INFO"] and environ["REQUEST_METHOD"] == "PUT":
            chunks.append(seen)
        return inner(environ, start_response)

    app.wsgi_app = recording
    archive = tmp_path / "ct-part.zip"  # over 4 MB: sent as a resumable upload, in 1 MB chunks
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for p in samples["ct"][24:34]:
            zf.write(p, f"CT/{p.name}")
    context, page = _open(chromium, live_server, "village.doctor")
    _link(context, page, latency_ms=100, down=250_000, up=250_000)
    page.goto(f"{live_server.url}/cases/{cid}")
    page.locator(".dv-drop input[type=file]").set_input_files(str(archive))
    page.wait_for_selector(".dv-results .dv-ok", timeout=90_000)
    assert "已添加 10 幅图像/文件" in page.locator(".dv-results").inner_text()
    assert len(chunks) == -(-archive.stat().st_size // (1 << 20)), chunks  # 1 MB each, none sent twice
    assert all(encoding == "gzip" for encoding, _ in chunks), chunks
    assert sum(size for _, size in chunks) < archive.stat().st_size / 2
    context.close()
    # 12 slices (6 MB) over the slow link: a first batch of one, then batches of a few seconds each
    # (with 4 MB batches, whatever the link, they were 2). 24 over the fast link: one slice, then the
    # rest in one or two large batches (4 MB batches: 4).
    for link, files in (("slow", samples["ct"][:12]), ("fast", samples["ct"][12:24] + samples["ct"][34:46])):
        context, page = _open(chromium, live_server, "village.doctor")
        if link == "slow":
            _link(context, page, latency_ms=100, down=250_000, up=250_000)
        sent.clear()
        page.goto(f"{live_server.url}/cases/{cid}")
        page.locator(".dv-drop input[type=file]").set_input_files([str(p) for p in files])
        page.wait_for_selector(".dv-results .dv-ok", timeout=90_000)
        assert f"已添加 {len(files)} 幅图像/文件" in page.locator(".dv-results").inner_text()
        plain = sum(p.stat().st_size for p in files)
        if link == "slow":
            assert len(sent) >= 3 and all(encoding == "gzip" for encoding, _ in sent), sent
            assert all(size > 0 for _, size in sent) and sum(size for _, size in sent) < plain / 2, (sent, plain)
        else:
            assert 2 <= len(sent) <= 3 and [e for e, _ in sent] == ["gzip"] + [None] * (len(sent) - 1), sent
        context.close()
    body = api.get("village.doctor", f"/api/v1/cases/{cid}/attachments").get_json()
    assert body["studies"][0]["instance_count"] == 46


def test_uploading_after_signing_out_in_another_tab_says_so(chromium, live_server, api, samples):
    cid = new_case(api)
    context, page = _open(chromium, live_server, "village.doctor")
    page.goto(f"{live_server.url}/cases/{cid}")
    other = context.new_page()  # the same browser: signing out there ends this tab's sign-in too
    other.goto(live_server.url + "/")
    other.locator("details.menu summary").click()
    other.get_by_role("button", name="退出登录").click()
    other.wait_for_url("**/login**")
    page.locator(".dv-drop input[type=file]").set_input_files([str(p) for p in samples["ct"][:3]])
    page.wait_for_function("() => document.querySelector('.dv-status').textContent.includes('您已不在登录状态')")
    assert page.locator(".dv-results").inner_text() == ""  # nothing reported as refused
    assert api.get("village.doctor", f"/api/v1/cases/{cid}/attachments").get_json()["studies"] == []
    context.close()


def test_refused_files_are_told_in_the_pages_language(chromium, live_server, api, tmp_path):
    """A note and an empty file dropped on the case page: nothing is added, the page says so, and
    each file's reason reads in Chinese (the detailed English reason only in the line's tooltip)."""
    cid = new_case(api)
    (tmp_path / "notes.txt").write_text("血压 150/90，心率 96\n", encoding="utf-8")
    (tmp_path / "empty.dcm").write_bytes(b"")
    context, page = _open(chromium, live_server, "village.doctor")
    page.goto(f"{live_server.url}/cases/{cid}")
    page.locator(".dv-drop input[type=file]").set_input_files([str(tmp_path / "notes.txt"),
                                                                str(tmp_path / "empty.dcm")])
    page.wait_for_selector(".dv-results .dv-bad")
    assert page.locator(".dv-status").inner_text() == "没有文件被添加。"
    lines = page.locator(".dv-results .dv-bad").all_inner_texts()
    assert sorted(lines) == ["未接收 — empty.dcm：文件是空的",
                             "未接收 — notes.txt：不是 DICOM 文件、DICOM 文件的 ZIP 压缩包、JPEG 或 PNG 照片，也不是 PDF 报告"]
    assert "not a DICOM file" in page.locator(".dv-results .dv-bad", has_text="notes.txt").get_attribute("title")
    context.close()


PHONES_SIDEWAYS = [{"width": 667, "height": 375}, {"width": 844, "height": 390}, {"width": 932, "height": 430}]


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("screen", PHONES_SIDEWAYS, ids=lambda s: f"{s['width']}x{s['height']}")
def test_viewer_on_a_phone_held_sideways(chromium, live_server, ct_case, artifacts, screen, language):
    """Turned sideways the screen is low and wide: the whole image, every tool and preset and the
    slider are on it at once, in either language, without scrolling the page or the toolbar."""
    cid, study = ct_case
    context, page = _open(chromium, live_server, "village.doctor", viewport=screen, has_touch=True,
                          is_mobile=True, device_scale_factor=2)
    url = f"{live_server.url}/cases/{cid}/studies/{study['study_uid']}"
    page.goto(url)
    if language == "en":
        page.click("form.lang button")
        page.wait_for_url(url)
    _wait_drawn(page)
    if screen == PHONES_SIDEWAYS[0]:
        page.screenshot(path=artifacts / f"dicom-viewer-phone-sideways-{language}.png")
    boxes = page.evaluate("""() => [...document.querySelectorAll(
            '.dv-toolbar button, .dv-viewport, .dv-slider-row')].map(e => {
        const r = e.getBoundingClientRect();
        return [e.dataset.tool || e.dataset.preset || e.className, r.left, r.top, r.right, r.bottom]; })""")
    assert len(boxes) == 14
    for name, left, top, right, bottom in boxes:
        assert left >= 0 and top >= 0 and right <= screen["width"] and bottom <= screen["height"], \
            (name, left, top, right, bottom)
    viewport = page.locator(".dv-viewport").bounding_box()
    assert viewport["height"] >= 0.7 * screen["height"] and viewport["width"] >= viewport["height"]
    context.close()

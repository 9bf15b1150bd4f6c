"""Imported by the PDF fork server (and only there): load WeasyPrint and render one small page.

Every render is a child forked from that server, so whatever this warms —
the imports (WeasyPrint, Pango through cffi, fontTools' subsetter, Pillow),
fontconfig's caches, the embedded font files read into memory — each child
inherits for free instead of paying for it on every advice.
"""

from __future__ import annotations

import logging

from .fetcher import asset_url
from .fonts import font_assets, font_face_css
from .render import RenderJob, render_here

_PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a5a20000000049454e44ae426082"
)
_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M0 0h10v10z"/></svg>'


def warm_up() -> None:
    """Render a page that uses both font weights, an image, an SVG and page counters."""
    font_assets()
    html = (
        f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><style>{font_face_css()}"
        "@page { size: A4; @bottom-center { content: '第 ' counter(page) ' 页 / 共 ' counter(pages) ' 页'; } }"
        "</style></head><body><h1>诊断意见 Advice</h1><p>预热页面，中文与 English 123。</p>"
        f"<img src='{asset_url('p.png')}'><img src='{asset_url('s.svg')}'></body></html>"
    )
    render_here(RenderJob(html, assets={"p.png": _PIXEL_PNG, "s.svg": _SVG}))
    import fontTools.subset  # noqa: F401 - WeasyPrint imports it lazily when it embeds a font


try:
    warm_up()
except Exception:  # a cold server still renders; it must not die while starting
    logging.getLogger(__name__).exception("warming up the PDF fork server failed")

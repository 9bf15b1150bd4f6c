"""PDF rendering shared by every feature that prints (advice, reports).

    from referral.pdf import render_pdf, font_face_css, asset_url

    html = f"<style>{font_face_css()}</style> ... <img src='{asset_url('logo.png')}'>"
    pdf = render_pdf(html, assets={"logo.png": png_bytes})

- `font_face_css()` declares the embedded CJK family ("Referral Sans SC", regular and
  bold) and sets it on the page and its margin boxes.
- `render_pdf()` runs WeasyPrint in a forked child under a time and a memory limit,
  produces PDF/A-3b, and lets the document load only the embedded fonts and the
  `assets` given to it; it raises `RenderFailed` (error code `render_failed`).
"""

from .fetcher import ASSET_BASE, AssetFetcher, RefusedURL, asset_url
from .fonts import FAMILY_STACK, FONT_FAMILY, font_assets, font_face_css
from .render import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, PDF_VARIANT, Rendered, RenderFailed, render, render_pdf

__all__ = [
    "ASSET_BASE",
    "AssetFetcher",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT_S",
    "FAMILY_STACK",
    "FONT_FAMILY",
    "PDF_VARIANT",
    "RefusedURL",
    "RenderFailed",
    "Rendered",
    "asset_url",
    "font_assets",
    "font_face_css",
    "render",
    "render_pdf",
]

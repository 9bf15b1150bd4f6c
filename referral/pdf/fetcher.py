"""The only way WeasyPrint may load anything: an allow-list of in-memory assets.

WeasyPrint's default fetcher opens `file:` paths and `http(s):` URLs. Here
every resource of a document is handed over up front, as bytes, under a
private `asset:` URL; the fetcher serves exactly those and refuses everything
else (files, network, `data:` URLs, other schemes). A document therefore
cannot read the server's disk or reach a host, whatever text ends up in it.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping

ASSET_BASE = "asset:"

_MEDIA_TYPES = {
    ".otf": "font/otf", ".ttf": "font/ttf", ".woff": "font/woff", ".woff2": "font/woff2",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml",
    ".css": "text/css", ".icc": "application/vnd.iccprofile",
}


class RefusedURL(ValueError):
    """A document asked for something it was not given."""


def asset_url(name: str, base_url: str = ASSET_BASE) -> str:
    """The URL under which the fetcher serves the asset `name`."""
    return f"{base_url}{name}"


def media_type(name: str) -> str:
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class AssetFetcher:
    """A WeasyPrint `url_fetcher` serving `assets` ({name: bytes}) at `base_url + name`.

    Refused URLs are remembered in `refused` (WeasyPrint logs and skips them), so
    the caller can report what a document tried to load.
    """

    def __init__(self, assets: Mapping[str, bytes], base_url: str = ASSET_BASE) -> None:
        # Whatever the base, URLs are only ever looked up in `assets`: never opened.
        self.base_url = base_url
        self._by_url = {asset_url(name, base_url): (name, data) for name, data in assets.items()}
        self.refused: list[str] = []

    def __call__(self, url: str, timeout: float = 10, ssl_context=None, http_headers=None,
                 allowed_protocols=None) -> dict:
        found = self._by_url.get(url)
        if found is None:
            self.refused.append(url[:300])
            raise RefusedURL(f"not one of the document's assets: {url[:120]}")
        name, data = found
        return {"string": data, "mime_type": media_type(name), "redirected_url": url}

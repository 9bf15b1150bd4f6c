"""Rendered frames, cached on disk next to the files they come from.

A stored file never changes (its name is its hash), so a frame rendered with
given parameters never changes either: the cache needs no invalidation, only
a key (`files hash - frame-window-size-format`). Frames are rendered by the
decoder pool (uncompressed greyscale ones, which need no decoder library, in
this process) and written atomically, so concurrent viewers of a new study at
worst render a frame twice, never read half of one.
"""

from __future__ import annotations

from pathlib import Path

from .render import PRESETS, Rendered, RenderRequest, render_native
from .sandbox import DecoderPool
from .store import BlobStore, atomic_write

IN_PROCESS_BYTES = 16 * 1024 * 1024  # one frame's pixels, at most, rendered without a worker


class FrameCache:
    def __init__(self, store: BlobStore, pool: DecoderPool) -> None:
        self.store = store
        self.pool = pool

    def path_for(self, sha256: str, request: RenderRequest) -> Path:
        self.store.path_for(sha256)  # validates the digest
        # Flat within 256 directories: a directory per file would cost a mkdir on every first view.
        return self.store.cache / "frames" / sha256[:2] / f"{sha256}-{request.cache_name()}"

    def rendered(self, sha256: str, request: RenderRequest, file_window: tuple[float, float] | None = None,
                 layout: dict | None = None) -> Rendered:
        """The frame, from the cache or freshly rendered, and the window applied.

        The window is known from the request, or from the file (`file_window`, from the index);
        only when rendering found another (an automatic one) is it kept in a side file.
        """
        cached = self.path_for(sha256, request)
        side = cached.with_name(cached.name + ".window")
        expected = request.window or PRESETS.get(request.preset or "") or file_window
        try:
            data = cached.read_bytes()
        except FileNotFoundError:
            pass
        else:
            return Rendered(data, _read_window(side) or expected)
        path = str(self.store.path_for(sha256))
        result = None
        if layout and layout.get("rows", 0) * layout.get("columns", 0) * 2 <= IN_PROCESS_BYTES:
            # Uncompressed greyscale: no decoder library involved, so no worker round trip needed.
            result = render_native(path, request, layout)
        if result is None:
            result = self.pool.render(path, request, layout)
        if result.window is not None and result.window != expected:
            atomic_write(side, f"{result.window[0]!r} {result.window[1]!r}".encode())
        atomic_write(cached, result.data)
        return result


def _read_window(path: Path) -> tuple[float, float] | None:
    try:
        center, width = path.read_text().split()
        return float(center), float(width)
    except (FileNotFoundError, ValueError):
        return None

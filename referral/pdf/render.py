"""HTML to PDF with WeasyPrint, in a child process held to a time and a memory limit.

Why a child process: a document is built from user text and images, and a
layout engine can be made to spin or to allocate without bound. The child
sets RLIMIT_AS (address space) and RLIMIT_CPU on itself and the parent kills
it at the deadline; whatever happens, the caller gets the PDF bytes or a
`RenderFailed` with a reason, and the server process is untouched.

Why a fork server (server.py): children are forked from one small,
single-threaded process that has already imported WeasyPrint and rendered a
warm-up page (preload.py), so a render costs a fork, not an interpreter
start; forking never copies the locks of the app's threads, and the app
process never imports WeasyPrint at all.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from ..config import PROJECT_ROOT
from ..domain.errors import DomainError
from .fetcher import ASSET_BASE, AssetFetcher
from .fonts import font_assets
from .wire import PID, recv_exactly, recv_frame, send_frame

log = logging.getLogger(__name__)

PDF_VARIANT = "pdf/a-3b"
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_MEMORY_MB = 1024
MiB = 1024 * 1024


class RenderFailed(DomainError):
    """The PDF could not be produced (too slow, too big, or the layout engine failed)."""

    code, status = "render_failed", 422

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class RenderJob:
    html: str
    base_url: str = ASSET_BASE
    assets: dict[str, bytes] = field(default_factory=dict)
    pdf_variant: str | None = PDF_VARIANT
    memory_mb: int = DEFAULT_MEMORY_MB
    cpu_seconds: int = math.ceil(DEFAULT_TIMEOUT_S) + 1


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    refused: tuple[str, ...]  # URLs the document asked for and did not get
    peak_rss_kb: int = 0  # the rendering process's peak resident memory


def render_pdf(html: str, *, base_url: str = ASSET_BASE, assets: dict[str, bytes] | None = None,
               timeout_s: float = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB,
               pdf_variant: str | None = PDF_VARIANT) -> bytes:
    """Render `html` to PDF bytes (PDF/A-3b by default).

    The document may load only the embedded fonts (`font_face_css()`) and `assets`
    ({name: bytes}, referenced as `base_url + name`); everything else is refused and
    logged. `memory_mb` is how much the render may add to its process's address space;
    `timeout_s` bounds the whole render. Raises `RenderFailed`.
    """
    result = render(html, base_url=base_url, assets=assets, timeout_s=timeout_s, memory_mb=memory_mb,
                    pdf_variant=pdf_variant)
    if result.refused:
        log.warning("the PDF asked for resources it was not given (refused): %s", ", ".join(result.refused[:10]))
    return result.pdf


def render(html: str, *, base_url: str = ASSET_BASE, assets: dict[str, bytes] | None = None,
           timeout_s: float = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB,
           pdf_variant: str | None = PDF_VARIANT) -> Rendered:
    """Like `render_pdf`, and also tells which URLs were refused."""
    if timeout_s <= 0 or memory_mb <= 0:
        raise ValueError("timeout_s and memory_mb must be positive")
    job = RenderJob(html, base_url, dict(assets or {}), pdf_variant, memory_mb, math.ceil(timeout_s) + 1)
    return _run_in_child(job, timeout_s)


def render_here(job: RenderJob) -> Rendered:
    """The render itself, in the calling process, with no limits: for the child and the warm-up."""
    import weasyprint

    fetcher = AssetFetcher({**font_assets(), **job.assets}, job.base_url)
    document = weasyprint.HTML(string=job.html, base_url=job.base_url, url_fetcher=fetcher)
    options = {"pdf_variant": job.pdf_variant} if job.pdf_variant else {}
    pdf = document.write_pdf(**options)
    return Rendered(pdf, tuple(fetcher.refused))


# ------------------------------------------------------------------ the fork server

STARTUP_TIMEOUT_S = 120.0  # the server's first start imports WeasyPrint and warms up
MAX_PDF_BYTES = 512 * MiB


class _ForkServer:
    """One `python -m referral.pdf.server` per process, started on first use, restarted if it died."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "referral.pdf.server", str(theirs.fileno())], pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL, env=env, close_fds=True,
        )
        theirs.close()
        self.control = ours

    def alive(self) -> bool:
        return self.process.poll() is None

    def start_child(self) -> socket.socket:
        """A socket connected to a freshly forked child."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            socket.send_fds(self.control, [b"job"], [theirs.fileno()])
        finally:
            theirs.close()
        return mine

    def close(self) -> None:
        self.control.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


_server_lock = threading.Lock()
_server: _ForkServer | None = None


def _fork_server() -> _ForkServer:
    global _server
    with _server_lock:
        if _server is None or not _server.alive():
            _server = _ForkServer()
            atexit.register(_server.close)
        return _server


def _run_in_child(job: RenderJob, timeout_s: float) -> Rendered:
    try:
        sock = _fork_server().start_child()
    except OSError as exc:
        raise RenderFailed(f"the PDF renderer is not available ({exc})", reason="unavailable") from None
    pid = None
    started = time.monotonic()
    try:
        sock.settimeout(STARTUP_TIMEOUT_S)
        (pid,) = PID.unpack(recv_exactly(sock, PID.size))
        started = time.monotonic()
        sock.settimeout(timeout_s)
        send_frame(sock, pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        header = json.loads(recv_frame(sock, 64 * 1024))
        sock.settimeout(max(0.1, timeout_s - (time.monotonic() - started)))
        size = int(header.get("pdf_bytes") or 0)
        if size > MAX_PDF_BYTES:
            raise RenderFailed(f"the PDF is larger than {MAX_PDF_BYTES // MiB} MB", reason="too_large")
        pdf = recv_exactly(sock, size) if header.get("status") == "ok" else b""
    except TimeoutError:
        raise RenderFailed(f"rendering the PDF took longer than {timeout_s:g} s", reason="timeout") from None
    except (EOFError, ConnectionError, ValueError, json.JSONDecodeError, struct.error):
        raise RenderFailed(_death_message(pid, job), reason="crashed") from None
    finally:
        sock.close()
        if pid is not None:
            _kill(pid)
        log.debug("PDF render child %s finished in %.3f s", pid, time.monotonic() - started)
    status, message = header.get("status"), str(header.get("message") or "")
    if status == "ok":
        return Rendered(pdf, tuple(str(u) for u in header.get("refused") or ()), int(header.get("peak_rss_kb") or 0))
    if status == "memory":
        raise RenderFailed(message, reason="memory")
    raise RenderFailed(f"the PDF could not be rendered ({message})", reason="error")


def _kill(pid: int) -> None:
    """Make sure the child is gone (it normally has exited by now; the server reaps it)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _death_message(pid: int | None, job: RenderJob) -> str:
    if pid is None:
        return "the PDF renderer did not start"
    return (f"the PDF renderer stopped before finishing; the document may need more than {job.memory_mb} MB "
            f"or {job.cpu_seconds} s of CPU")

"""Decoding pixels in worker processes held to a memory and time limit.

Decoders are C libraries fed with bytes from the outside. A crafted or
broken file may make one allocate without bound, loop, or crash. So pixels
are never decoded in the web process: a small pool of long-lived workers
(`python -m referral.dicom.sandbox`) does it, each with an address-space limit
(RLIMIT_AS) set on itself at start. The parent gives every job a deadline; a
worker that overruns it is killed and replaced, one that dies is replaced,
and the caller gets a `RenderError` that says which of these happened. The
pool size bounds the memory all decoding together can take.

The protocol is length-prefixed pickles over the worker's stdin/stdout, between
this module and itself only.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict

from .limits import Limits, human_bytes
from .render import Rendered, RenderError, RenderRequest

_HEADER = struct.Struct("!I")


class _Worker:
    def __init__(self, limits: Limits) -> None:
        env = dict(os.environ)
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   REFERRAL_DECODE_MEMORY=str(limits.decode_memory_bytes), PYTHONWARNINGS="ignore")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "referral.dicom.sandbox"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, close_fds=True,
        )
        self.fresh = True  # its first job also pays for the imports

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, job: tuple, timeout: float):
        payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.write(_HEADER.pack(len(payload)) + payload)
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        header = self._read(_HEADER.size, deadline)
        (length,) = _HEADER.unpack(header)
        return pickle.loads(self._read(length, deadline))

    def _read(self, n: int, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        chunks, got = [], 0
        while got < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except Exception:
                pass


class DecoderPool:
    """At most `limits.decode_workers` decodes at a time, each in a bounded worker."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(limits.decode_workers):
            self._idle.put(None)  # a slot; the worker starts on first use
        self._closed = False

    def render(self, path: str, request: RenderRequest, layout: dict | None = None) -> Rendered:
        return self._run(("render", path, asdict(request), layout))

    def check(self, path: str) -> None:
        """Decode the first frame (and throw it away): proves the compressed data is readable."""
        self._run(("check", path, None, None))

    def _run(self, job: tuple):
        wait = self.limits.decode_seconds * 4
        try:
            worker = self._idle.get(timeout=wait)
        except queue.Empty:
            raise RenderError("the image decoders are busy; try again in a moment") from None
        try:
            if worker is None or not worker.alive():
                worker = _Worker(self.limits)
            try:
                status, value = worker.call(job, self.limits.decode_seconds + (15 if worker.fresh else 0))
                worker.fresh = False
            except TimeoutError:
                worker.kill()
                worker = None
                raise RenderError(f"decoding took longer than {self.limits.decode_seconds:g} s and was stopped")
            except (EOFError, BrokenPipeError, OSError, pickle.UnpicklingError):
                code = worker.proc.poll()
                worker.kill()
                worker = None
                if code is not None and code < 0:
                    raise RenderError("the decoder crashed on this file (it is probably malformed)") from None
                raise RenderError(
                    f"decoding needs more than the {human_bytes(self.limits.decode_memory_bytes)} allowed, "
                    "or the decoder crashed") from None
            if status == "ok":
                return value
            raise RenderError(value)
        finally:
            if not self._closed:
                self._idle.put(worker)
            elif worker is not None:
                worker.kill()

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()


_pools: dict[Limits, DecoderPool] = {}
_pools_lock = threading.Lock()


def decoder_pool(limits: Limits) -> DecoderPool:
    """The process-wide pool for these limits (one per process; workers start lazily)."""
    with _pools_lock:
        pool = _pools.get(limits)
        if pool is None:
            pool = _pools[limits] = DecoderPool(limits)
        return pool


@atexit.register
def _close_pools() -> None:
    for pool in list(_pools.values()):
        pool.close()


# ---------------------------------------------------------------- the worker side


def _limit_self() -> None:
    import resource

    memory = int(os.environ.get("REFERRAL_DECODE_MEMORY", "0"))
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _serve() -> None:
    _limit_self()
    from . import render as rendering

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but replies on the real stdout
    while True:
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (length,) = _HEADER.unpack(header)
        kind, path, params, layout = pickle.loads(stdin.read(length))
        try:
            if kind == "render":
                reply = ("ok", rendering.render(path, RenderRequest(**_request_args(params)), layout))
            elif kind == "check":
                rendering.display_pixels(path, RenderRequest())
                reply = ("ok", None)
            else:
                reply = ("error", f"unknown job {kind!r}")
        except RenderError as exc:
            reply = ("error", str(exc))
        except MemoryError:
            reply = ("error", "decoding needs more memory than allowed")
        except Exception as exc:
            reply = ("error", f"the pixel data cannot be decoded: {exc}")
        data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.write(_HEADER.pack(len(data)) + data)
        stdout.flush()


def _request_args(params: dict) -> dict:
    params = dict(params)
    if params.get("window") is not None:
        params["window"] = tuple(params["window"])
    return params


if __name__ == "__main__":
    _serve()

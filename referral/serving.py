"""How `referral serve` serves: one process for the site, and worker processes for the uploads.

One Python process runs its request threads under one interpreter lock, and an upload is mostly
interpreter work (reading the multipart body, judging each file, the index transaction). So
uploads from several clinics at once would queue for one core however many the server has, and
hand the lock to each other on every system call. The site's own process keeps everything that
lives in a process (Socket.IO sessions and consult rooms, the sign-in limits without Redis, the
background jobs); a request to one of the upload routes (`UPLOAD_ENDPOINTS`) is handed over whole
to an upload worker: the site's process reads its request line (the route decides), then passes
the connection itself (its file descriptor, over a Unix socket) together with the bytes it has
already read, headers unparsed, and forgets it. The worker runs the same app on that connection,
answers and closes it, as the server does after every answer. No byte of the upload passes through
the site's process, and while no worker can take a request the site's process serves it itself.

The upload routes push nothing to Socket.IO; a push from a worker would reach the open pages only
through Redis (`REFERRAL_REDIS_URL`), as between any two processes.
"""

from __future__ import annotations

import gc
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.serving import WSGIRequestHandler

log = logging.getLogger(__name__)

# The routes whose requests carry studies and photos: the batched and the resumable uploads of
# the page and the API, their completion (which judges the whole file), and STOW-RS.
UPLOAD_ENDPOINTS = frozenset({
    "api.post_attachments_post",
    "api.case_upload_chunk_put",
    "api.complete_case_upload_post",
    "dicom.upload_files",
    "dicom.upload_chunk",
    "dicom.complete_upload",
    "dicomweb.store_instances",
})
UPLOAD_METHODS = frozenset({"POST", "PUT"})
MAX_MESSAGE = 256 * 1024  # request line, headers and what was read past them; a larger head stays here
READY, DONE = b"ready", b"done"


def default_worker_count() -> int:
    """One worker per core, up to four; none on a single core, where handing over only adds work."""
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(cores, 4)


# ---------------------------------------------------------------- the site's process


@dataclass
class _Worker:
    number: int
    process: subprocess.Popen | None = None
    channel: socket.socket | None = None
    ready: bool = False
    in_flight: int = 0
    restart_delay: float = 0.0


@dataclass
class WorkerPool:
    """The upload workers of one `referral serve`: started, watched and restarted by the site's process."""

    count: int
    workers: list[_Worker] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: bool = False

    def start(self) -> None:
        self.workers = [_Worker(n) for n in range(self.count)]
        for worker in self.workers:
            self._spawn(worker)

    def stop(self) -> None:
        self._stopping = True
        for worker in self.workers:
            if worker.channel is not None:
                worker.channel.close()  # the worker ends when its channel does
            if worker.process is not None:
                try:
                    worker.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.process.kill()

    def _spawn(self, worker: _Worker) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        worker.process = subprocess.Popen(
            [sys.executable, "-m", "referral.cli", "upload-worker", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        worker.channel, worker.ready, worker.in_flight = ours, False, 0
        threading.Thread(target=self._listen, args=(worker, ours), name=f"upload-worker-{worker.number}",
                         daemon=True).start()

    def _listen(self, worker: _Worker, channel: socket.socket) -> None:
        """Follow one worker: ready, each request done, and its end (restarted unless the server stops)."""
        while True:
            try:
                message = channel.recv(64)
            except OSError:
                message = b""
            if not message:
                break
            with self._lock:
                if message == READY:
                    worker.ready = True
                    log.info("upload worker %d ready (process %d)", worker.number + 1, worker.process.pid)
                elif message == DONE:
                    worker.in_flight = max(0, worker.in_flight - 1)
        with self._lock:
            if worker.channel is not channel:
                return
            was_ready, worker.ready = worker.ready, False
        if self._stopping:
            return
        code = worker.process.wait() if worker.process is not None else None
        # A worker that ends before it was ever ready (Redis or the database away at its start) waits
        # longer each time, up to a minute, rather than being restarted in a tight loop.
        worker.restart_delay = 0.0 if was_ready else min(60.0, max(1.0, 2 * worker.restart_delay))
        log.error("upload worker %d ended (exit code %s); starting another%s", worker.number + 1, code,
                  f" in {worker.restart_delay:.0f} s" if worker.restart_delay else "")
        time.sleep(worker.restart_delay)
        with self._lock:
            if not self._stopping:
                self._spawn(worker)

    def hand_over(self, connection: socket.socket, head: bytes, client_address, server_address) -> bool:
        """Pass the connection to the least busy ready worker; False leaves it with the caller."""
        meta = json.dumps({"client": list(client_address), "server": list(server_address)}).encode()
        message = len(meta).to_bytes(4, "big") + meta + head
        if len(message) > MAX_MESSAGE:
            return False
        with self._lock:
            ready = [w for w in self.workers if w.ready]
            if not ready:
                return False
            worker = min(ready, key=lambda w: w.in_flight)
            worker.in_flight += 1
        try:
            socket.send_fds(worker.channel, [message], [connection.fileno()])
            return True
        except OSError:
            with self._lock:  # the worker has just ended: its listener restarts it
                worker.in_flight -= 1
            return False


def _leave_100_continue_to_werkzeug(handler: WSGIRequestHandler) -> bool:
    """The standard library's handler answers `Expect: 100-continue` while it parses the headers, and
    werkzeug answers it again before the application reads the body: one `100 Continue` is enough."""
    return True


def request_handler(app: Flask, pool: WorkerPool) -> type[WSGIRequestHandler]:
    """The site's request handler: the upload routes go to the pool, everything else is served here."""
    urls = app.url_map.bind("localhost")

    def is_upload(method: str, target: str) -> bool:
        if method not in UPLOAD_METHODS:
            return False
        try:
            endpoint, _ = urls.match(unquote(urlsplit(target).path), method)
        except (HTTPException, RequestRedirect):
            return False
        return endpoint in UPLOAD_ENDPOINTS

    class SiteRequestHandler(WSGIRequestHandler):
        handle_expect_100 = _leave_100_continue_to_werkzeug

        def parse_request(self) -> bool:
            """An upload is handed over on its request line alone: its headers, like its body, are
            the worker's to read (and an `Expect: 100-continue` the worker's to answer)."""
            words = self.raw_requestline.split()
            if len(words) == 3 and words[2] in (b"HTTP/1.0", b"HTTP/1.1") \
                    and is_upload(words[0].decode("latin-1"), words[1].decode("latin-1")) and self._hand_over():
                self.close_connection = True
                return False  # nothing more for this process to do with the connection
            return super().parse_request()

        def _hand_over(self) -> bool:
            connection: socket.socket = self.connection
            connection.setblocking(False)  # only what is already buffered; never wait for the client here
            try:
                read_ahead = self.rfile.peek()
            except BlockingIOError:
                read_ahead = b""
            finally:
                connection.setblocking(True)
            if not pool.hand_over(connection, self.raw_requestline + read_ahead, self.client_address,
                                  self.server.server_address):
                return False
            # The worker holds the connection now: close this process's descriptor without shutting
            # the connection down (the server's shutdown_request finds a detached socket and skips it).
            os.close(connection.detach())
            return True

    return SiteRequestHandler


# ---------------------------------------------------------------- a worker


class _Prefixed(io.RawIOBase):
    """A raw reader that gives `prefix` first (what the site's process had read), then the socket's bytes."""

    def __init__(self, prefix: bytes, connection: socket.socket) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._raw = socket.SocketIO(connection, "rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _WorkerServer:
    """What werkzeug's request handler asks of its server, in a process that listens on nothing."""

    multithread = True
    multiprocess = True
    passthrough_errors = False
    ssl_context = None

    def __init__(self, app: Flask) -> None:
        import importlib.metadata

        self.app = app
        self._server_version = f"Werkzeug/{importlib.metadata.version('werkzeug')}"

    def log(self, type: str, message: str, *args) -> None:
        from werkzeug._internal import _log

        _log(type, message, *args)


class _HandedOver(WSGIRequestHandler):
    """werkzeug's handler on a connection whose first bytes the site's process has read already."""

    protocol_version = "HTTP/1.1"
    handle_expect_100 = _leave_100_continue_to_werkzeug

    def __init__(self, connection: socket.socket, client_address, server: _WorkerServer, read_ahead: bytes) -> None:
        self._read_ahead = read_ahead
        super().__init__(connection, client_address, server)

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self.rfile = io.BufferedReader(_Prefixed(self._read_ahead, self.connection))


def _serve_handed_over(server: _WorkerServer, fd: int, message: bytes, channel: socket.socket) -> None:
    size = int.from_bytes(message[:4], "big")
    meta = json.loads(message[4:4 + size])
    read_ahead = bytes(message[4 + size:])
    connection = socket.socket(fileno=fd)
    connection.setblocking(True)
    try:
        server.server_address = tuple(meta["server"])
        _HandedOver(connection, tuple(meta["client"]), server, read_ahead)
    except Exception:
        log.exception("an upload request failed in the worker")
    finally:
        try:
            connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        connection.close()
        try:
            channel.send(DONE)
        except OSError:
            pass


def run_worker(channel_fd: int) -> None:
    """An upload worker: the same app, serving the connections the site's process hands over,
    until that process ends (its end closes the channel)."""
    from .app import create_app
    from .config import Settings
    from .runtime import RedisUnavailable

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the site's process; its end stops us
    channel = socket.socket(fileno=channel_fd)
    quiet = logging.getLogger("referral")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the site's process has said at its start what there is to say about settings
    try:
        app = create_app(Settings.from_env())
    except RedisUnavailable:
        raise  # said in one line by the command
    except Exception as exc:  # e.g. Redis gone between its check and the first use: the pool starts another
        log.error("upload worker could not start: %s: %s", type(exc).__name__, exc)
        sys.exit(2)
    finally:
        quiet.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # as the site's process: errors only
    server = _WorkerServer(app)
    gc.collect()
    gc.freeze()
    channel.send(READY)
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(channel, MAX_MESSAGE, 1)
        except OSError:
            break
        if not message:
            for fd in fds:
                os.close(fd)
            break
        if not fds:
            continue
        threading.Thread(target=_serve_handed_over, args=(server, fds[0], message, channel), daemon=True).start()

"""The PDF fork server: `python -m referral.pdf.server <control fd>`, started by render.py.

It imports WeasyPrint and renders a warm-up page once (preload.py), then
waits on its control socket. Each message carries one end of a fresh socket
pair; the server forks a child for it and goes back to waiting. The child owns
that socket: it says its pid, reads the job, limits its own address space and
CPU time, renders, writes the result and exits. The server never renders and
never reads a job, so a render that crashes or is killed costs only its child.

The server is single-threaded, so forking it is safe; it exits when the
control socket closes (its parent went away).

Wire format on a job socket (both directions framed by an 8-byte length):
parent -> child: a pickled RenderJob (the parent is trusted by the child);
child -> parent: a JSON header {"status", "message", "refused", "pdf_bytes", "peak_rss_kb"}
followed by the PDF bytes. Nothing from the child is unpickled: the child
handles hostile documents, the parent must not trust what it says.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import signal
import socket
import sys

from .wire import PID, recv_frame, send_frame

MiB = 1024 * 1024


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def _run_child(sock: socket.socket) -> None:
    """In the forked child: pid, job, limits, render, result."""
    from .render import render_here

    sock.sendall(PID.pack(os.getpid()))
    job = pickle.loads(recv_frame(sock, 1 << 31))
    header = {"status": "error", "message": "", "refused": [], "pdf_bytes": 0}
    pdf = b""
    try:
        limit = _address_space_bytes() + job.memory_mb * MiB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CPU, (job.cpu_seconds, job.cpu_seconds + 1))
        rendered = render_here(job)
        pdf = rendered.pdf
        header.update(status="ok", refused=list(rendered.refused), pdf_bytes=len(pdf))
    except MemoryError:
        header.update(status="memory", message=f"the document needs more than {job.memory_mb} MB to render")
    except Exception as exc:  # the layout engine's own failures, reported to the parent
        header.update(message=f"{type(exc).__name__}: {str(exc)[:300]}")
    header["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    send_frame(sock, json.dumps(header).encode())
    if pdf:
        sock.sendall(pdf)


def serve(control: socket.socket) -> None:
    import logging

    from . import preload  # noqa: F401 - imports WeasyPrint and renders the warm-up page

    # Refused URLs are reported to the caller, who logs them once; the libraries' own
    # per-resource warnings would only repeat them on the server's stderr.
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
    logging.getLogger("fontTools").setLevel(logging.CRITICAL)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, 16, 1)
        except InterruptedError:
            continue
        except OSError:
            return
        if not message:
            return  # the parent closed its end
        if not fds:
            continue
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                with socket.socket(fileno=fds[0]) as sock:
                    _run_child(sock)
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        os.close(fds[0])


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    try:
        serve(control)
    except KeyboardInterrupt:  # pragma: no cover
        pass


if __name__ == "__main__":
    main()

"""The framing between the PDF fork server's children and the app (see server.py)."""

from __future__ import annotations

import socket
import struct

FRAME = struct.Struct("!Q")
PID = struct.Struct("!i")


def send_frame(sock: socket.socket, data: bytes) -> None:
    sock.sendall(FRAME.pack(len(data)) + data)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket, limit: int) -> bytes:
    (length,) = FRAME.unpack(recv_exactly(sock, FRAME.size))
    if length > limit:
        raise ValueError(f"frame of {length} bytes is over the limit of {limit}")
    return recv_exactly(sock, length)

"""Minimal HTTP/1.1 wire helpers for the fake upstream servers.

Only what an SDK client sends is supported: a request line, headers, and a body
framed by ``Content-Length`` or ``Transfer-Encoding: chunked``. Responses are
written either with ``Content-Length`` or as chunked bodies (used for SSE).
The writer can also end a connection abruptly, with a FIN or a TCP RST.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import BinaryIO

MAX_LINE = 65536
MAX_HEADERS = 200


class BadRequest(Exception):
    """The bytes on the wire are not a well-formed HTTP/1.1 request."""


@dataclass
class HttpRequest:
    """One parsed HTTP request."""

    method: str
    target: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        """The raw query string (without ``?``), or ``""``."""
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    @property
    def keep_alive(self) -> bool:
        """Whether the client allows the connection to be reused afterwards."""
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return conn == "keep-alive"
        return conn != "close"


def _readline(reader: BinaryIO) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise BadRequest("line too long")
    return line


def _read_exact(reader: BinaryIO, n: int) -> bytes:
    data = reader.read(n)
    if data is None or len(data) != n:
        raise BadRequest("connection closed inside the request body")
    return data


def _read_chunked(reader: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = _readline(reader).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError as exc:
            raise BadRequest(f"bad chunk size {size_line!r}") from exc
        if size == 0:
            while _readline(reader).strip():  # trailers
                pass
            return b"".join(parts)
        parts.append(_read_exact(reader, size))
        _readline(reader)


def read_request(reader: BinaryIO) -> HttpRequest | None:
    """Read one request; ``None`` when the peer closed the connection cleanly."""
    line = _readline(reader)
    while line in (b"\r\n", b"\n"):  # tolerate stray blank lines between requests
        line = _readline(reader)
    if not line:
        return None
    try:
        method, target, version = line.decode("latin-1").strip().split(" ")
    except ValueError as exc:
        raise BadRequest(f"bad request line {line!r}") from exc
    if not version.startswith("HTTP/1."):
        raise BadRequest(f"unsupported version {version}")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        raw = _readline(reader)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest(f"bad header line {raw!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    else:
        raise BadRequest("too many headers")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _read_chunked(reader)
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError as exc:
            raise BadRequest("bad content-length") from exc
        body = _read_exact(reader, length) if length else b""
    return HttpRequest(method=method, target=target, version=version, headers=headers, body=body)


def reason(status: int) -> str:
    """The reason phrase for ``status`` (529 has none in the stdlib)."""
    if status == 529:
        return "Site Overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def head_bytes(status: int, headers: list[tuple[str, str]]) -> bytes:
    """Serialise a status line plus headers (``Date`` and ``Server`` added)."""
    lines = [
        f"HTTP/1.1 {status} {reason(status)}",
        f"Date: {formatdate(usegmt=True)}",
        "Server: fake-upstream",
    ]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    """Frame ``data`` as one HTTP chunk."""
    return f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n"


LAST_CHUNK = b"0\r\n\r\n"


class Connection:
    """A server-side socket plus its buffered reader."""

    def __init__(self, sock: socket.socket, conn_id: int) -> None:
        self.sock = sock
        self.id = conn_id
        self.reader: BinaryIO = sock.makefile("rb")
        self.closed = False

    def send(self, data: bytes) -> None:
        """Write all of ``data`` (raises ``OSError`` when the peer is gone)."""
        self.sock.sendall(data)

    def close(self, *, rst: bool = False) -> None:
        """Close the socket: with a FIN, or with a TCP RST when ``rst``."""
        if self.closed:
            return
        self.closed = True
        try:
            if rst:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.reader.close()  # the makefile holds a reference that would delay the close
        finally:
            self.sock.close()

    def interrupt(self) -> None:
        """Wake a thread blocked on this socket (used when the server stops)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

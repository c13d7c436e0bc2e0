"""Connection-level failures on 127.0.0.1: refused connections and connect timeouts."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from types import TracebackType

HOST = "127.0.0.1"


class RefusedPort:
    """A port on which connections are refused, reserved while this object is open.

    The socket is bound but never listens: Linux answers a SYN with a RST, so
    clients get ``ECONNREFUSED`` at once, and no other process (e.g. a parallel
    xdist worker) can take the port meanwhile.
    """

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((HOST, 0))
        self.port: int = self._sock.getsockname()[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    def close(self) -> None:
        """Release the port."""
        self._sock.close()

    def __enter__(self) -> RefusedPort:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def refused_port() -> int:
    """A port with nothing listening (released at once: prefer :class:`RefusedPort` to keep it reserved)."""
    with RefusedPort() as reserved:
        return reserved.port


class Blackhole:
    """A port where TCP connects hang until the client's connect timeout.

    A listener with ``listen(0)`` whose accept queue is filled by our own
    half-idle connections (never accepted): Linux then drops further SYNs
    instead of answering, so ``connect()`` stays pending (SYN retransmits) and
    clients raise their *connect* timeout (``httpx2.ConnectTimeout`` →
    ``APITimeoutError`` in the SDKs).
    """

    def __init__(self, probe_timeout: float = 0.05, max_fillers: int = 8) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((HOST, 0))
        self._listener.listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []
        try:
            self._fill(probe_timeout, max_fillers)
        except BaseException:
            self.close()
            raise

    def _fill(self, probe_timeout: float, max_fillers: int) -> None:
        for _ in range(max_fillers):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            self._fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect((HOST, self.port))
            _, writable, _ = select.select([], [filler], [], probe_timeout)
            if not writable:
                return  # this SYN was dropped: the queue is full
        raise RuntimeError(
            f"could not fill the accept queue of port {self.port} with {max_fillers} connections"
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    def close(self) -> None:
        """Close the fillers and the listener."""
        for filler in self._fillers:
            filler.close()
        self._fillers.clear()
        self._listener.close()

    def __enter__(self) -> Blackhole:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def wait_until_closed(port: int, timeout: float = 1.0) -> bool:
    """Whether connecting to ``port`` is refused within ``timeout`` (for teardown checks)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.1):
                pass
        except OSError:
            return True
        time.sleep(0.01)
    return False

"""``FakeUpstream``: one HTTP/1.1 server on 127.0.0.1 speaking the OpenAI and Anthropic APIs."""

from __future__ import annotations

import json
import selectors
import socket
import threading
import time
import traceback
from collections.abc import Sequence
from functools import partial
from types import TracebackType
from typing import Any

from .behaviours import Behaviour, Reply
from .delivery import Delivery, Outcome, send_simple
from .errors import ApiError, render_api_error, render_error
from .http11 import BadRequest, Connection, HttpRequest, read_request
from .recording import RecordedRequest, Script
from .routes import Route, check_request, dialect_of, route_for
from .wire import Context, Payload


class FakeUpstream:
    """A fake OpenAI + Anthropic upstream with scripted behaviours and request recording.

    Routes: ``POST /v1/chat/completions``, ``/v1/embeddings``, ``/v1/responses``
    (OpenAI), ``POST /v1/messages``, ``/v1/messages/count_tokens`` (Anthropic) and
    ``GET /v1/models`` (Anthropic-shaped when ``anthropic-version`` is sent).

    ``api_key``: the key clients must send (``None`` accepts any non-empty key).
    ``models``: if given, other models get the dialect's 404; also listed by
    ``GET /v1/models``. ``default``: the behaviour used when the script has no
    matching entry (a normal :class:`Reply`; may be reassigned at any time).

    Each request is recorded first, then checked like the real API (route 404,
    auth 401, ``anthropic-version`` 400, JSON 400, parameters 400, model 404);
    a rejected request does not consume the script. Otherwise the first queued
    behaviour whose filters match is consumed and delivered.
    """

    def __init__(
        self,
        name: str = "upstream",
        *,
        api_key: str | None = "test-key",
        models: Sequence[str] | None = None,
        default: Behaviour | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.name = name
        self.api_key = api_key
        self.models = tuple(models) if models is not None else None
        self.default: Behaviour = default or Reply()
        self.host = host
        self.server_errors: list[str] = []
        self._lock = threading.Condition()
        self._script = Script()
        self._records: list[RecordedRequest] = []
        self._conns: dict[int, tuple[Connection, threading.Thread]] = {}
        self._next_conn = 0
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeUpstream:
        """Bind an ephemeral port on ``host`` and start serving; returns ``self``."""
        if self._listener is not None:
            raise RuntimeError("already started")
        self._wake = socket.socketpair()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((self.host, 0))
        listener.listen(128)
        listener.setblocking(False)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"fake-upstream-{self.name}", daemon=True
        )
        self._acceptor.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, interrupt every connection and join all threads (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._listener is None or self._wake is None or self._acceptor is None:
            return  # never started
        self._wake[1].send(b"x")
        self._acceptor.join(timeout)
        self._listener.close()
        with self._lock:
            live = list(self._conns.values())
        for conn, _ in live:
            conn.interrupt()
        deadline = time.monotonic() + timeout
        for _, thread in live:
            thread.join(max(0.0, deadline - time.monotonic()))
        for sock in self._wake:
            sock.close()

    def alive_threads(self) -> list[threading.Thread]:
        """Server threads still running (empty after a clean :meth:`stop`)."""
        with self._lock:
            threads = [thread for _, thread in self._conns.values()]
        if self._acceptor is not None:
            threads.append(self._acceptor)
        return [t for t in threads if t.is_alive()]

    def __enter__(self) -> FakeUpstream:
        return self if self._listener is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the Anthropic ``base_url``."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: the OpenAI ``base_url``."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Same as :attr:`url`."""
        return self.url

    @property
    def open_connections(self) -> int:
        """Client connections currently open."""
        with self._lock:
            return len(self._conns)

    # ------------------------------------------------------------------ scripting and records

    def enqueue(self, *behaviours: Behaviour, model: str | None = None, path: str | None = None) -> None:
        """Queue behaviours, consumed one per matching request (filters: exact model / path)."""
        with self._lock:
            self._script.add(behaviours, model=model, path=path)

    @property
    def pending(self) -> list[Behaviour]:
        """Queued behaviours not yet consumed."""
        with self._lock:
            return [entry.behaviour for entry in self._script.entries]

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._records)

    def requests_to(self, path: str | None = None, *, model: str | None = None) -> list[RecordedRequest]:
        """Recorded requests filtered by exact path and/or model."""
        return [
            r
            for r in self.requests
            if (path is None or r.path == path) and (model is None or r.model == model)
        ]

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request (``IndexError`` if none)."""
        with self._lock:
            return self._records[-1]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; ``TimeoutError`` otherwise."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._records) >= count, timeout):
                raise TimeoutError(f"{self.name}: {len(self._records)} of {count} requests after {timeout}s")
            return list(self._records)

    def reset(self) -> None:
        """Forget records and queued behaviours."""
        with self._lock:
            self._records.clear()
            self._script.entries.clear()

    # ------------------------------------------------------------------ serving

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake is not None
        wake = self._wake[0]
        with selectors.DefaultSelector() as sel:
            sel.register(self._listener, selectors.EVENT_READ)
            sel.register(wake, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in sel.select():
                    if key.fileobj is wake:
                        return
                    try:
                        sock, _addr = self._listener.accept()
                    except OSError:
                        continue
                    self._spawn(sock)

    def _spawn(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._next_conn += 1
            conn = Connection(sock, self._next_conn)
            thread = threading.Thread(
                target=self._serve, args=(conn,), daemon=True, name=f"fake-upstream-{self.name}-conn{conn.id}"
            )
            self._conns[conn.id] = (conn, thread)
        thread.start()

    def _serve(self, conn: Connection) -> None:
        try:
            while not self._stop.is_set():
                try:
                    req = read_request(conn.reader)
                except BadRequest as exc:
                    send_simple(conn, 400, [("content-type", "text/plain")], str(exc).encode(), False)
                    break
                if req is None or not self._handle(conn, req):
                    break
        except OSError:
            pass  # client went away, or stop() interrupted the socket
        finally:
            conn.close()
            with self._lock:
                self._conns.pop(conn.id, None)

    def _handle(self, conn: Connection, req: HttpRequest) -> bool:
        route = route_for(req, self.models)
        dialect = dialect_of(req, route)
        try:
            body: Any = json.loads(req.body) if req.body else None
            parsed = True
        except ValueError:
            body, parsed = None, False
        record = self._record(req, conn.id, dialect, body)
        try:
            try:
                route = check_request(req, route, body, parsed, api_key=self.api_key, models=self.models)
            except ApiError as err:
                record.error = err.message
                status, headers, payload = render_api_error(dialect, err)
                record.status = status
                return send_simple(conn, status, headers, payload, req.keep_alive).keep_alive
            return self._deliver(conn, req, route, record, body if route.has_body else {}).keep_alive
        except OSError:
            raise
        except Exception:
            self.server_errors.append(traceback.format_exc())
            status, headers, payload = render_error(dialect, 500, message="fake upstream internal error")
            record.status = status
            send_simple(conn, status, headers, payload, False)
            return False

    def _record(self, req: HttpRequest, conn_id: int, dialect: str, body: Any) -> RecordedRequest:
        with self._lock:
            record = RecordedRequest(
                index=len(self._records),
                method=req.method,
                path=req.path,
                query=req.query,
                headers=dict(req.headers),
                body=body,
                raw_body=req.body,
                dialect=dialect,
                connection_id=conn_id,
                received_at=time.monotonic(),
            )
            self._records.append(record)
            self._lock.notify_all()
        return record

    def _deliver(
        self, conn: Connection, req: HttpRequest, route: Route, record: RecordedRequest, body: dict[str, Any]
    ) -> Outcome:
        with self._lock:
            behaviour = self._script.take(record) or self.default
        record.behaviour = behaviour
        build = partial(self._build, route, body)
        delivery = Delivery(
            conn, self._stop, record, route.dialect, record.stream, req.keep_alive, build, route.stream_error
        )
        return delivery.run(behaviour)

    def _build(self, route: Route, body: dict[str, Any], reply: Reply) -> Payload:
        return route.build(Context(body=body, reply=reply, upstream_name=self.name))

    def __repr__(self) -> str:
        return f"FakeUpstream(name={self.name!r}, port={self.port})"

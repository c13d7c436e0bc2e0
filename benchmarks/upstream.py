"""The benchmark's upstreams: canned OpenAI-shape replies, in-process and over loopback HTTP.

Standard library only (plus the ``httpx``/``httpx2`` module handed in), because the same
file runs inside the LiteLLM virtual environment so that both sides of every comparison
see byte-identical replies.

* ``mock_transport(module, ...)``: an ``httpx.MockTransport``/``httpx2.MockTransport``
  serving the canned replies in-process (streams arrive one SSE event per read).
* ``python -m benchmarks.upstream --port 0``: a tiny asyncio HTTP/1.1 keep-alive server
  on 127.0.0.1 serving the same replies (streams as one chunked-encoding chunk per event);
  it prints ``PORT <n>`` once listening. ``LoopbackServer`` starts and stops it.

Any request whose body names a model starting with ``bench-fail`` gets a 503 JSON error
(used for fail-over work); bodies with ``"stream": true`` get an SSE stream whose length is
taken from a ``"max_tokens"`` of 1000 + N (N chunks), else ``DEFAULT_CHUNKS``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

__all__ = [
    "COMPLETION",
    "DEFAULT_CHUNKS",
    "ERROR_503",
    "LoopbackServer",
    "chunk_events",
    "mock_transport",
    "reply_for",
]

DEFAULT_CHUNKS = 200
COMPLETION: bytes = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the benchmark upstream."},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
        "system_fingerprint": "fp_bench",
    },
    separators=(",", ":"),
).encode()
ERROR_503: bytes = (
    b'{"error":{"message":"upstream overloaded (benchmark)","type":"server_error","code":null}}'
)

_MODEL = re.compile(rb'"model"\s*:\s*"([^"]*)"')
_STREAM = re.compile(rb'"stream"\s*:\s*true')
_MAX_TOKENS = re.compile(rb'"max_(?:completion_)?tokens"\s*:\s*(\d+)')


def _chunk(index: int, *, delta: dict[str, Any], finish: str | None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "bench-model",
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


_EVENT_CACHE: dict[int, list[bytes]] = {}


def chunk_events(chunks: int) -> list[bytes]:
    """``chunks`` SSE events (role, ``chunks - 2`` tokens, finish), then usage and ``[DONE]``."""
    cached = _EVENT_CACHE.get(chunks)
    if cached is not None:
        return cached
    chunks = max(chunks, 2)
    events = [_chunk(0, delta={"role": "assistant", "content": ""}, finish=None)]
    events += [_chunk(i, delta={"content": f"tok{i} "}, finish=None) for i in range(1, chunks - 1)]
    events.append(_chunk(chunks - 1, delta={}, finish="stop"))
    usage = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "bench-model",
        "choices": [],
        "usage": {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks},
    }
    events.append(b"data: " + json.dumps(usage, separators=(",", ":")).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    _EVENT_CACHE[chunks] = events
    return events


def reply_for(body: bytes) -> tuple[int, str, bytes | list[bytes]]:
    """(status, content type, body or SSE events) for one request body."""
    match = _MODEL.search(body)
    if match is not None and match.group(1).startswith(b"bench-fail"):
        return 503, "application/json", ERROR_503
    if _STREAM.search(body):
        chunks = DEFAULT_CHUNKS
        tokens = _MAX_TOKENS.search(body)
        if tokens is not None and int(tokens.group(1)) > 1000:
            chunks = int(tokens.group(1)) - 1000
        return 200, "text/event-stream", chunk_events(chunks)
    return 200, "application/json", COMPLETION


def mock_transport(module: ModuleType) -> Any:
    """A ``MockTransport`` of ``module`` (httpx or httpx2) that serves ``reply_for`` in-process."""

    class _SyncEvents(module.SyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, events: list[bytes]) -> None:
            self.events = events

        def __iter__(self) -> Iterator[bytes]:
            return iter(self.events)

    class _AsyncEvents(module.AsyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, events: list[bytes]) -> None:
            self.events = events

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for event in self.events:
                yield event

    class _Both(_SyncEvents, _AsyncEvents):
        pass

    def handler(request: Any) -> Any:
        status, content_type, payload = reply_for(request.read())
        headers = {"content-type": content_type}
        if isinstance(payload, list):
            return module.Response(status, headers=headers, stream=_Both(payload))
        return module.Response(status, headers=headers, content=payload)

    return module.MockTransport(handler)


# -- the loopback HTTP/1.1 server ---------------------------------------------------------------


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            chunked = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                lowered = name.strip().lower()
                if lowered == b"content-length":
                    length = int(value.strip())
                elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
            body = await _read_chunked(reader) if chunked else await reader.readexactly(length)
            status, content_type, payload = reply_for(body)
            reason = b"OK" if status == 200 else b"Service Unavailable"
            if isinstance(payload, list):
                parts = [
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n"
                ]
                parts += [b"%x\r\n%s\r\n" % (len(event), event) for event in payload]
                parts.append(b"0\r\n\r\n")
                writer.write(b"".join(parts))
            else:
                writer.write(
                    b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s"
                    % (status, reason, content_type.encode(), len(payload), payload)
                )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    out: list[bytes] = []
    while True:
        size = int((await reader.readline()).strip().split(b";")[0], 16)
        if size == 0:
            await reader.readline()
            return b"".join(out)
        out.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _main(port: int) -> None:
    server = await asyncio.start_server(_serve_connection, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        await server.serve_forever()


class LoopbackServer:
    """Runs the loopback upstream in a child process; use as a context manager."""

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> LoopbackServer:
        here = os.path.dirname(os.path.abspath(__file__))
        self.process = subprocess.Popen(
            [self.python, os.path.join(here, "upstream.py"), "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("PORT "):
                self.port = int(line.split()[1])
                return self
            if not line and self.process.poll() is not None:
                break
        self.__exit__()
        raise RuntimeError("the loopback upstream did not start")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="canned OpenAI-shape upstream on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.port))

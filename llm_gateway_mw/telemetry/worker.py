"""One background thread that finishes spans and records metrics, in order.

Ending a span and recording four histogram points costs tens of microseconds in the SDK;
the request path only enqueues. ``SimpleQueue.put`` is reentrant, so work may also be
queued from a garbage-collection finalizer (an abandoned stream) without risking a
deadlock on a lock the interrupted code holds. The queue is drained at exit, on
``flush()``, and restarted in a forked child.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

__all__ = ["DEFERRED", "Deferred"]

_log = logging.getLogger(__name__)

_Item = tuple[Callable[..., object], tuple[Any, ...]]


class Deferred:
    """A FIFO of callables run by one daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # reentrant: put() may run inside a finalizer
        self._queue: SimpleQueue[_Item] = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._exit_hook = False
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def put(self, fn: Callable[..., object], *args: Any) -> None:
        """Queue ``fn(*args)``; cheap and safe from any thread or finalizer."""
        if self._thread is None:  # not started yet, or forked
            self.start()
        self._queue.put((fn, args))

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until everything queued so far has run; False on timeout."""
        thread = self._thread
        if thread is None:
            return True
        if thread is threading.current_thread():
            return False
        done = threading.Event()
        self._queue.put((done.set, ()))
        return done.wait(timeout)

    def start(self) -> None:
        """Start the thread now (Telemetry does, so a finalizer never has to)."""
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, args=(self._queue,), name="llm-gateway-telemetry")
            thread.daemon = True
            self._thread = thread
            thread.start()
            if not self._exit_hook:
                # Registered after the SDK's providers are usually created: atexit runs
                # it first, so queued spans reach the processors before they shut down.
                atexit.register(self.flush, 2.0)
                self._exit_hook = True

    def _after_fork(self) -> None:
        self._lock = threading.RLock()
        self._queue = SimpleQueue()
        self._thread = None

    @staticmethod
    def _run(queue: SimpleQueue[_Item]) -> None:
        while True:
            fn, args = queue.get()
            try:
                fn(*args)
            except Exception:  # never let one bad record stop telemetry
                _log.exception("llm_gateway_mw telemetry: recording a call failed")


DEFERRED = Deferred()

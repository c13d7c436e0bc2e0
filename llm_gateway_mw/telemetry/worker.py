"""One background thread that creates and ends spans and records metrics, in order, in batches.

Creating and ending a span and recording a few histogram points costs tens of
microseconds in the SDK; the request path only appends to a deque. On CPython the worker
shares the GIL with the request threads, and each of its wake-ups is a GIL hand-off that
can stall a request thread. So while calls keep coming the worker is never signalled: it
wakes every ``GATHER_SECONDS`` and drains everything queued in one go (about 50 hand-offs a
second instead of two per call). After about a second with nothing to do it blocks, and the
next put wakes it. ``deque.append`` and ``SimpleQueue.put`` are reentrant, so work may also
be queued from a garbage-collection finalizer (an abandoned stream) without risking a
deadlock on a lock the interrupted code holds. The queue is drained at exit, on ``flush()``
(at once, without waiting for the next round), and restarted in a forked child.

The queue is bounded (``MAX_QUEUED``), as OpenTelemetry's batch processor bounds its own: if
calls come faster than the worker can record them, the excess records are dropped rather than
held (each holds its call's request and reply bodies). The worker logs how many, at most once
every ``REPORT_SECONDS``; ``dropped`` counts them all.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any

__all__ = ["DEFERRED", "GATHER_SECONDS", "MAX_QUEUED", "REPORT_SECONDS", "Deferred"]

_log = logging.getLogger(__name__)

GATHER_SECONDS = 0.02
"""How long the worker lets work gather before draining it (a flush cuts it short)."""

MAX_QUEUED = 8192
"""Records waiting for the worker at most (about 2,700 calls): past it, new ones are dropped."""

REPORT_SECONDS = 10.0
"""Under a sustained overload, dropped records are logged at most this often."""

_IDLE_POLLS = 50  # empty polls (about a second) before the worker blocks until woken

_Item = tuple[Callable[..., object], tuple[Any, ...]]


class Deferred:
    """A FIFO of callables run by one daemon thread."""

    def __init__(self, max_queued: int = MAX_QUEUED) -> None:
        self.max_queued = max_queued
        self.dropped = 0  # records dropped because the queue was full (since start)
        self._reported = 0  # how many of them the worker has logged
        self._next_report = 0.0  # monotonic time before which no further report is logged
        self._lock = threading.RLock()  # reentrant: put() may run inside a finalizer
        self._items: deque[_Item] = deque()
        self._wake: SimpleQueue[bool] = SimpleQueue()  # True: a flush is waiting, do not gather
        self._idle = False  # the worker is blocked until woken
        self._thread: threading.Thread | None = None
        self._exit_hook = False
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def put(self, fn: Callable[..., object], *args: Any) -> None:
        """Queue ``fn(*args)``; cheap and safe from any thread or finalizer."""
        if self._thread is None:  # not started yet, or forked
            self.start()
        if len(self._items) >= self.max_queued:
            self.dropped += 1  # no logging here (a finalizer may call this): the worker reports it
            return
        self._items.append((fn, args))
        if self._idle:
            self._idle = False
            self._wake.put(False)

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until everything queued so far has run; False on timeout."""
        thread = self._thread
        if thread is None:
            return True
        if thread is threading.current_thread():
            return False
        done = threading.Event()
        self._items.append((done.set, ()))
        self._wake.put(True)
        return done.wait(timeout)

    def start(self) -> None:
        """Start the thread now (Telemetry does, so a finalizer never has to)."""
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(
                target=self._run, args=(self._items, self._wake), name="llm-gateway-telemetry"
            )
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
        self._items = deque()
        self._wake = SimpleQueue()
        self._idle = False
        self._thread = None

    def _run(self, items: deque[_Item], wake: SimpleQueue[bool]) -> None:
        hurry = False
        idle_polls = 0
        while True:
            if not hurry:  # let work gather (or poll for it); a flush, or a put after idleness, cuts it short
                with contextlib.suppress(Empty):
                    hurry = wake.get(timeout=GATHER_SECONDS)
            hurry = False
            if items:
                idle_polls = 0
                while items:
                    if self.dropped != self._reported and time.monotonic() >= self._next_report:
                        self._report_dropped()  # before what follows (a flush waits for the report)
                    fn, args = items.popleft()
                    try:
                        fn(*args)
                    except Exception:  # never let one bad record stop telemetry
                        _log.exception("llm_gateway_mw telemetry: recording a call failed")
                continue
            idle_polls += 1
            if idle_polls >= _IDLE_POLLS:  # nothing for a while: block until a put or a flush wakes it
                self._idle = True
                if not items:  # checked again: a put may have come before the flag was set
                    hurry = wake.get()
                self._idle = False
                idle_polls = 0

    def _report_dropped(self) -> None:
        dropped, self._reported = self.dropped - self._reported, self.dropped
        self._next_report = time.monotonic() + REPORT_SECONDS
        _log.warning(
            "llm_gateway_mw telemetry: %d call records were dropped: calls came faster than the "
            "telemetry worker could record them (at most %d wait). Their spans and metrics are "
            "missing; the calls themselves were served.",
            dropped,
            self.max_queued,
        )


DEFERRED = Deferred()

"""Graceful shutdown of an app process.

On SIGTERM (or Ctrl-C) the process, in this order:

1. sets :attr:`Lifecycle.stopping` (background loops may watch it to take no new work) and
   closes every open WebSocket with close code 1001 (going away), so clients reconnect to
   another process at once; new WebSocket handshakes are refused from then on;
2. hands over to uvicorn, which stops accepting connections and lets in-flight HTTP
   requests finish, for at most ``CLIENTELING_SHUTDOWN_GRACE_SECONDS``;
3. runs the app's shutdown: every registered *stopper* (:meth:`Lifecycle.add_stopper`),
   concurrently, each bounded by what is left of the grace period; then the app closes the
   event bus, flushes traces and closes the database pool.

The hook for other long-running work in the app process (a push delivery loop, ...) is
``app.state.lifecycle.add_stopper(name, stopper)``: ``stopper`` is an async callable taking
no argument that stops the work and waits for it; it runs once, after in-flight requests
have drained and before the database pool closes, so it may still write (release claims).
A process that is not served by uvicorn (a worker command) can use the same object:
``install_signal_handlers()``, ``await lifecycle.stopping.wait()``, ``await lifecycle.stop()``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Lifecycle", "Stopper", "TrackWebSockets", "exit_cleanly_on_sigterm", "freeze_startup_heap", "GOING_AWAY"]

log = logging.getLogger("clienteling.lifecycle")

Stopper = Callable[[], Awaitable[Any]]
GOING_AWAY = 1001  # RFC 6455: the server is going down
_WEBSOCKET_CLOSE_BOUND = 2.0  # seconds to wait for close frames to be written


class _OpenWebSocket:
    __slots__ = ("send", "closing")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.closing = False


class Lifecycle:
    """Shutdown state and hooks of one app process (``app.state.lifecycle``)."""

    def __init__(self, *, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self.stopping = asyncio.Event()
        self._stoppers: list[tuple[str, Stopper]] = []
        self._websockets: set[_OpenWebSocket] = set()
        self._deadline: float | None = None
        self._signalled = False
        self._drain_task: asyncio.Task[None] | None = None
        self._stopped = False

    # --- hooks --------------------------------------------------------------------------
    def add_stopper(self, name: str, stopper: Stopper) -> None:
        """Register ``stopper`` (an async callable without arguments) to run once at
        shutdown, after in-flight HTTP requests have drained and before the database pool
        and the event bus close. ``name`` appears in the log if it fails or overruns."""
        self._stoppers.append((name, stopper))

    @property
    def open_websockets(self) -> int:
        return len(self._websockets)

    # --- shutdown -----------------------------------------------------------------------
    def begin_shutdown(self) -> None:
        """Mark the process as stopping; the grace period starts now."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.grace_seconds
        self.stopping.set()

    async def close_websockets(self, code: int = GOING_AWAY) -> int:
        """Send a close frame with ``code`` on every open WebSocket; returns how many."""
        self.begin_shutdown()
        sockets = list(self._websockets)
        for ws in sockets:
            ws.closing = True

        async def close(ws: _OpenWebSocket) -> None:
            try:
                await ws.send({"type": "websocket.close", "code": code, "reason": "server shutting down"})
            except Exception as exc:  # noqa: BLE001 - the peer may be gone already
                log.debug("closing a WebSocket failed: %s", type(exc).__name__)

        if sockets:
            await asyncio.wait([asyncio.ensure_future(close(ws)) for ws in sockets], timeout=_WEBSOCKET_CLOSE_BOUND)
            log.info("closed %d WebSocket(s) for shutdown", len(sockets))
        return len(sockets)

    async def stop(self) -> None:
        """Run every stopper once, concurrently, bounded by what is left of the grace
        period (at least one second); failures and overruns are logged, never raised."""
        if self._stopped:
            return
        self._stopped = True
        self.begin_shutdown()
        assert self._deadline is not None
        budget = max(1.0, self._deadline - time.monotonic())

        async def run(name: str, stopper: Stopper) -> None:
            try:
                await asyncio.wait_for(stopper(), budget)
            except asyncio.TimeoutError:
                log.error("shutdown: %s did not stop within %.0f s", name, budget)
            except Exception as exc:  # noqa: BLE001 - one failing stopper must not block the others
                log.error("shutdown: %s failed: %s", name, type(exc).__name__, exc_info=exc)

        await asyncio.gather(*(run(name, stopper) for name, stopper in self._stoppers))

    # --- signals ------------------------------------------------------------------------
    def install_signal_handlers(self, *, standalone: bool = False) -> None:
        """Put the WebSocket close in front of the server's own SIGTERM/SIGINT handling.

        Under uvicorn (whose handlers are in place when the app starts) the first signal
        closes the WebSockets with 1001 and then calls uvicorn's handler, which drains HTTP
        and runs the app's shutdown; a second signal goes to uvicorn directly (a second
        Ctrl-C forces the exit). Where no server handler is in place, nothing changes,
        unless ``standalone`` (a worker command that owns its process): then a signal just
        sets :attr:`stopping`. Does nothing outside the main thread (signals can only be
        handled there), e.g. in test clients that run the app in a thread."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if not callable(previous) or previous is signal.default_int_handler:
                if standalone:
                    loop.add_signal_handler(sig, self.begin_shutdown)
                continue

            def handler(signum: int, frame: Any, previous: Callable[..., Any] = previous) -> None:
                if self._signalled:
                    previous(signum, frame)
                    return
                self._signalled = True
                loop.call_soon_threadsafe(self._start_drain, previous, signum)

            signal.signal(sig, handler)

    def _start_drain(self, previous: Callable[..., Any], signum: int) -> None:
        self._drain_task = asyncio.ensure_future(self._drain(previous, signum))

    async def _drain(self, previous: Callable[..., Any], signum: int) -> None:
        log.info("shutdown requested (%s): closing WebSockets, draining requests for up to %.0f s",
                 signal.Signals(signum).name, self.grace_seconds)
        try:
            await self.close_websockets()
        finally:
            previous(signum, None)


class TrackWebSockets:
    """ASGI middleware: remembers accepted WebSockets so :meth:`Lifecycle.close_websockets`
    can close them, and refuses new ones once the process is stopping. After the shutdown
    close, whatever the endpoint still tries to send on that socket is dropped."""

    def __init__(self, app: ASGIApp, lifecycle: Lifecycle) -> None:
        self.app = app
        self.lifecycle = lifecycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        if self.lifecycle.stopping.is_set():
            await send({"type": "websocket.close", "code": GOING_AWAY})
            return
        ws = _OpenWebSocket(send)

        async def tracked(message: Message) -> None:
            if ws.closing:
                return
            if message["type"] == "websocket.accept":
                self.lifecycle._websockets.add(ws)  # noqa: SLF001 - the registry is this module's
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            self.lifecycle._websockets.discard(ws)  # noqa: SLF001


def exit_cleanly_on_sigterm() -> None:
    """uvicorn re-raises SIGTERM once it has shut down gracefully, so the process would end
    "killed by SIGTERM"; with this handler in place underneath uvicorn's, it exits with
    status 0 instead. Call in the main thread before starting the server."""

    def handler(signum: int, frame: Any) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, handler)


# young-generation allocations between collections, then collections of each generation
# between collections of the next (CPython default: 700, 10, 10)
GC_THRESHOLDS = (20_000, 20, 20)


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (modules, the GraphQL schema, the policy, the
    app) out of the garbage collector's reach: it lives as long as the process, and full
    collections otherwise rescan it over and over. Measured on the customer 360 under load
    (bench/REPORT.md): without it the collector took about 17% of the server's CPU. Only
    for a serving process: objects frozen here that later become cyclic garbage are never
    reclaimed, which a test run building hundreds of apps would feel.

    Then collect less often (:data:`GC_THRESHOLDS`): almost all of a request's objects are
    freed by reference counting, but with CPython's default (700, 10, 10) a young collection
    ran every few hundred microseconds under live-alert fan-out, and after ``freeze`` 3.11
    went on to a full collection almost every time the middle generation overflowed. **(dev)**
    W6 with 200 subscribers and 10 events on a 5,000-customer copy, traced with gc
    callbacks: the collector took 0.72 s of ~3 s of server CPU, with full collections of
    50-430 ms in the middle of deliveries. Cyclic garbage (a closed WebSocket leaves ~1,000
    objects of it) is still collected, in fewer, larger passes.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)

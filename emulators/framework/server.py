"""The ASGI app every vendor emulator runs in: faults, latency, limits, stats, control API."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import time
import typing as t
from collections import Counter

import uvicorn

from emulators.framework.faults import FaultPlan
from emulators.framework.http import HTTPError, Request, Response, VendorAPI
from emulators.framework.limits import SlidingWindow

CONTROL_PREFIX = "/_emulator"
#: How much longer than the tap's request timeout a ``slow`` fault waits.
SLOW_EXTRA_SECONDS = 2.0


class EmulatorApp:
    """Wraps a vendor app with the behaviour the command line asks for."""

    def __init__(self, api: VendorAPI, *, faults: FaultPlan, latency_ms: int,
                 slow_seconds: float) -> None:
        """Build the app; limits come from the vendor (already adjusted by --rate-limit)."""
        self.api = api
        self.faults = faults
        self.latency = latency_ms / 1000
        self.slow_seconds = slow_seconds
        self.limits = api.rate_limits()
        self.count_rejected = bool(getattr(api, "count_rejected", False))
        #: One window per (rate group, client key); key None when the vendor limits globally.
        self.windows: dict[tuple[str, str | None], SlidingWindow] = {}
        self.by_status: Counter[str] = Counter()
        self.by_path: Counter[str] = Counter()
        self.by_fault: Counter[str] = Counter()
        self.requests_total = 0
        #: Vendor requests being answered now, and the most at once (a client's concurrency).
        self.in_flight = self.max_in_flight = 0
        #: ``time.monotonic()`` of the first vendor request since the last ``/mark``: a
        #: benchmark on this machine reads a sync's time from its first request on, with
        #: no start-up in it (the clock is the system's, the same in every process).
        self.first_arrival: float | None = None
        #: Seconds from arrival to the answer sent, summed over vendor requests: what a
        #: client's floor is made of (an event loop's timers overshoot ``--latency-ms``).
        self.answer_seconds = 0.0

    async def __call__(self, scope: dict, receive: t.Callable, send: t.Callable) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = Request.from_scope(scope, body)
        if request.path.startswith(CONTROL_PREFIX):
            await self._send(send, self._control(request))
            return
        await self._vendor(request, send)

    async def _vendor(self, request: Request, send: t.Callable) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        arrived = time.monotonic()
        try:
            await self._answer(request, send, arrived)
        finally:
            self.in_flight -= 1
            self.answer_seconds += time.monotonic() - arrived

    async def _answer(self, request: Request, send: t.Callable, arrived: float) -> None:
        """The answer, sent ``latency`` after arrival: the time to build it is part of it.

        A server answering in 50 ms answers several clients in 50 ms each; an emulator that
        slept 50 ms and then built each answer in turn on its one event loop would make
        every request slower than the latency asked for, and the client look slow.
        """
        if self.first_arrival is None:
            self.first_arrival = arrived
        self.requests_total += 1
        self.by_path[request.path] += 1
        fault = self.faults.draw()
        if fault:
            self.by_fault[fault] += 1
        rejected = self._rate_check(request)
        if rejected is not None:
            response = rejected
        elif fault in {"429", "500", "502", "503"}:
            status = int(fault)  # type: ignore[arg-type]
            response = self.api.error(request, status, _FAULT_MESSAGES[status])
        else:
            if fault == "slow":
                await asyncio.sleep(self.slow_seconds)
            response = self._handle(request)
        if self.latency:
            await asyncio.sleep(max(0.0, arrived + self.latency - time.monotonic()))
        self.by_status[str(response.status)] += 1
        if fault == "reset":
            await self._send_partial(send, response, declare_length=True, abort=True)
        elif fault == "truncate":
            await self._send_partial(send, response,
                                     declare_length=self.faults.truncate_with_length(), abort=False)
        else:
            await self._send(send, response)

    def _window(self, group: str, key: str | None) -> SlidingWindow:
        window = self.windows.get((group, key))
        if window is None:
            limit, seconds = self.limits[group]
            window = SlidingWindow(limit, seconds, count_rejected=self.count_rejected)
            self.windows[(group, key)] = window
        return window

    def _rate_check(self, request: Request) -> Response | None:
        """None when the request may pass, else the vendor's answer to a refused request."""
        group = self.api.rate_group(request.path)
        if not group:
            return None
        rate_key = getattr(self.api, "rate_key", None)
        key = rate_key(request) if rate_key else None
        window = self._window(group, key)
        now = time.monotonic()
        if window.arrive(now):
            return None
        rate_limited = getattr(self.api, "rate_limited", None)
        if rate_limited:
            return rate_limited(request, window.wait_seconds(now))
        return self.api.error(request, 429, "Too many requests: rate limit exceeded.")

    def _handle(self, request: Request) -> Response:
        """The vendor's answer; any error, even a bug, comes back in the vendor's envelope."""
        try:
            return self.api.handle(request)
        except HTTPError as exc:
            response = self.api.error(request, exc.status, exc.message)
            response.headers = [*response.headers, *exc.headers]
            return response
        except Exception as exc:  # a bug must still look like the vendor
            return self.api.error(request, 500, f"Internal server error ({type(exc).__name__}).")

    @staticmethod
    async def _send(send: t.Callable, response: Response) -> None:
        headers = [(b"content-type", response.content_type.encode("latin-1")),
                   (b"content-length", str(len(response.body)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in response.headers]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    @staticmethod
    async def _send_partial(send: t.Callable, response: Response, *, declare_length: bool,
                            abort: bool) -> None:
        """Send half the body, then stop.

        With a declared length the connection closes short of it; without one the (chunked)
        response ends cleanly but holds broken JSON.
        """
        headers = [(b"content-type", response.content_type.encode("latin-1"))]
        if declare_length:
            headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        half = response.body[: max(len(response.body) // 2, 1)]
        if abort:
            await send({"type": "http.response.body", "body": half, "more_body": True})
            raise ConnectionAbortedError("emulated connection reset")  # uvicorn drops the socket
        await send({"type": "http.response.body", "body": half})

    def stats(self) -> dict[str, t.Any]:
        """The /stats document."""
        windows = dict.fromkeys(self.limits, 0)
        for (name, _), window in self.windows.items():
            windows[name] = max(windows[name], window.max_in_window)
        primary = next(iter(windows.values()), 0)
        return {
            "requests_total": self.requests_total,
            "max_requests_in_flight": self.max_in_flight,
            "first_arrival_monotonic": self.first_arrival,
            "answer_seconds_total": self.answer_seconds,
            "by_status": dict(self.by_status),
            "by_path": dict(self.by_path),
            "by_fault": dict(self.by_fault),
            "max_requests_in_rate_window": primary,
            **{f"max_requests_in_{name}_rate_window": v for name, v in windows.items()},
            **(vendor_stats() if (vendor_stats := getattr(self.api, "vendor_stats", None))
               else {}),
        }

    def _control(self, request: Request) -> Response:
        action = request.path[len(CONTROL_PREFIX):].strip("/")
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            return Response.json(400, {"error": "body must be JSON"})
        if request.method == "GET" and action == "stats":
            return Response.json(200, self.stats())
        if request.method == "GET" and action == "counts":
            return Response.json(200, self.api.counts())
        if request.method == "POST" and action == "mutate":
            count = int(payload.get("count", 1))
            return Response.json(200, self.api.mutate(count))
        if request.method == "POST" and action == "mark":
            self.first_arrival = None
            return Response.json(200, {"marked_monotonic": time.monotonic()})
        if request.method == "POST" and action == "faults":
            try:
                self.faults.replace(str(payload.get("spec", "")))
            except ValueError as exc:
                return Response.json(400, {"error": str(exc)})
            return Response.json(200, {"faults": self.faults.faults})
        return Response.json(404, {"error": f"no control endpoint {request.method} {action}"})


_FAULT_MESSAGES = {
    429: "Too many requests: rate limit exceeded.",
    500: "Internal server error.",
    502: "Bad gateway.",
    503: "Service unavailable.",
}


def serve(api: VendorAPI, *, port: int, base_path: str, faults: FaultPlan, latency_ms: int,
          slow_seconds: float) -> None:
    """Bind 127.0.0.1, print the first line, serve until SIGTERM/SIGINT."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; without it every small keep-alive response waits
    # ~40 ms for the client's delayed ACK (Nagle). Set it on the listener too (Linux copies
    # it to accepted sockets).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    host, bound = sock.getsockname()
    root = f"http://{host}:{bound}"
    base_url = f"{root}{base_path}"
    line = {"vendor": api.name, "base_url": base_url, "control_url": f"{root}{CONTROL_PREFIX}",
            **api.first_line(base_url)}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    app = EmulatorApp(api, faults=faults, latency_ms=latency_ms, slow_seconds=slow_seconds)
    config = uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2, timeout_keep_alive=30)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the
    # handlers it found: make those exit 0, as the contract asks.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.Server(config).run(sockets=[sock])


def _exit_cleanly(signum: int, frame: object) -> None:
    sys.exit(0)

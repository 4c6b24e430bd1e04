"""The framework's API for vendor emulators: limits, per-client keys, responses, requests."""

from __future__ import annotations

import asyncio
import json
import typing as t

import pytest

from emulators.framework.faults import FaultPlan
from emulators.framework.http import HTTPError, Request, Response
from emulators.framework.limits import SlidingWindow
from emulators.framework.server import CONTROL_PREFIX, EmulatorApp


def test_rejected_arrivals_do_not_use_up_the_window() -> None:
    window = SlidingWindow(2, 1.0)
    assert [window.arrive(t) for t in (0.0, 0.1, 0.2, 0.3)] == [True, True, False, False]
    assert window.max_in_window == 2
    assert window.arrive(1.05)  # only 0.0 and 0.1 counted: 0.0 has left the window
    assert not window.arrive(1.09)
    assert window.arrive(1.11)


def test_count_rejected_counts_every_arrival() -> None:
    window = SlidingWindow(2, 1.0, count_rejected=True)
    assert [window.arrive(t) for t in (0.0, 0.1, 0.2, 0.3)] == [True, True, False, False]
    assert window.max_in_window == 4
    assert not window.arrive(1.05)  # 0.1, 0.2, 0.3 are still in the window


def test_wait_seconds_says_when_the_next_request_is_allowed() -> None:
    window = SlidingWindow(2, 1.0)
    assert window.wait_seconds(0.0) == 0.0
    window.arrive(0.0)
    assert window.wait_seconds(0.1) == 0.0
    window.arrive(0.25)
    assert window.wait_seconds(0.5) == pytest.approx(0.5)
    assert not window.arrive(0.5)
    assert window.wait_seconds(0.5) == pytest.approx(0.5)  # the refusal changed nothing
    assert window.arrive(0.5 + window.wait_seconds(0.5) + 1e-9)
    counting = SlidingWindow(1, 1.0, count_rejected=True)
    counting.arrive(0.0)
    counting.arrive(0.6)
    assert counting.wait_seconds(0.7) == pytest.approx(0.9)


def test_response_text_and_content_type() -> None:
    assert Response.json(200, {}).content_type == "application/json"
    text = Response.text(201, "héllo", headers=[("Location", "http://x/1")])
    assert (text.status, text.body, text.content_type) == (
        201, "héllo".encode(), "text/plain; charset=utf-8")
    assert text.headers == [("Location", "http://x/1")]
    assert Response.text(200, "<a/>", content_type="application/xml").content_type == "application/xml"


def test_url_root_from_host_header_or_server() -> None:
    scope = {"method": "GET", "path": "/x", "query_string": b"a=1",
             "headers": [(b"Host", b"127.0.0.1:5555")], "server": ("127.0.0.1", 4444)}
    request = Request.from_scope(scope, b"")
    assert request.url_root == "http://127.0.0.1:5555"
    assert request.query == {"a": ["1"]}
    request = Request.from_scope({**scope, "headers": []}, b"")
    assert request.url_root == "http://127.0.0.1:4444"


class FakeVendor:
    """A vendor that limits per token, answers refusals itself, and has bugs on demand."""

    name = "fake"

    def __init__(self, *, keyed: bool = True, own_429: bool = True) -> None:
        if keyed:
            self.rate_key = lambda request: request.headers.get("authorization")
        if own_429:
            self.rate_limited = self._rate_limited

    def _rate_limited(self, request: Request, retry_after_seconds: float) -> Response:
        return Response.json(429, {"wait": retry_after_seconds},
                             headers=[("Retry-After", str(max(1, round(retry_after_seconds))))])

    def handle(self, request: Request) -> Response:
        if request.path == "/bug":
            return Response.json(200, {"x": 1 // 0})
        if request.path == "/missing":
            raise HTTPError(404, "nope")
        if request.path == "/text":
            return Response.text(200, "plain", content_type="text/csv")
        return Response.json(200, {"root": request.url_root})

    def error(self, request: Request, status: int, message: str) -> Response:
        return Response.json(status, {"vendor_error": message, "code": status})

    def rate_group(self, path: str) -> str | None:
        return "api"

    def rate_limits(self) -> dict[str, tuple[int, float]]:
        return {"api": (2, 60.0)}


def call(app: EmulatorApp, path: str, token: str = "a") -> tuple[int, dict[str, str], bytes]:  # noqa: S107
    """One request through the ASGI app, in process."""
    sent: list[dict[str, t.Any]] = []
    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
             "headers": [(b"authorization", token.encode()), (b"host", b"127.0.0.1:9")],
             "server": ("127.0.0.1", 9)}

    async def receive() -> dict[str, t.Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, body = sent[0], sent[1]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body["body"]


def make_app(vendor: FakeVendor) -> EmulatorApp:
    return EmulatorApp(vendor, faults=FaultPlan(1), latency_ms=0, slow_seconds=0)  # type: ignore[arg-type]


def test_limits_are_kept_per_rate_key_and_refusals_answered_by_the_vendor() -> None:
    app = make_app(FakeVendor())
    assert [call(app, "/", "a")[0] for _ in range(3)] == [200, 200, 429]
    assert [call(app, "/", "b")[0] for _ in range(2)] == [200, 200]  # another token
    status, hdrs, body = call(app, "/", "b")
    assert status == 429
    assert 59 < json.loads(body)["wait"] <= 60
    assert hdrs["retry-after"] == "60"
    stats = app.stats()
    assert stats["max_requests_in_rate_window"] == 2  # max over keys, refusals not counted
    assert stats["max_requests_in_api_rate_window"] == 2


def test_without_hooks_one_shared_window_and_the_vendor_error() -> None:
    app = make_app(FakeVendor(keyed=False, own_429=False))
    assert [call(app, "/", token)[0] for token in "abc"] == [200, 200, 429]
    status, hdrs, body = call(app, "/", "d")
    assert status == 429
    assert json.loads(body) == {"vendor_error": "Too many requests: rate limit exceeded.",
                                "code": 429}
    assert hdrs["content-type"] == "application/json"


def test_handler_bugs_answer_the_vendors_500_envelope() -> None:
    app = make_app(FakeVendor())
    status, hdrs, body = call(app, "/bug")
    assert status == 500
    assert hdrs["content-type"] == "application/json"
    assert json.loads(body)["code"] == 500
    assert call(app, "/missing")[0] == 404


def test_handlers_choose_content_type_and_see_the_host() -> None:
    app = make_app(FakeVendor())
    status, hdrs, body = call(app, "/text")
    assert (status, hdrs["content-type"], body) == (200, "text/csv", b"plain")
    assert json.loads(call(app, "/", "z")[2]) == {"root": "http://127.0.0.1:9"}


class SlowBuilder(FakeVendor):
    """A vendor whose answers take ``build_seconds`` of the (fake) clock to build."""

    def __init__(self, clock: list[float], build_seconds: float) -> None:
        super().__init__()
        self.clock, self.build_seconds = clock, build_seconds

    def handle(self, request: Request) -> Response:
        self.clock[0] += self.build_seconds
        return super().handle(request)


def test_latency_counts_from_arrival_with_the_time_to_build_the_answer_in_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr("emulators.framework.server.time.monotonic", lambda: clock[0])
    monkeypatch.setattr("emulators.framework.server.asyncio.sleep", fake_sleep)
    app = EmulatorApp(SlowBuilder(clock, 0.03), faults=FaultPlan(1), latency_ms=100,  # type: ignore[arg-type]
                      slow_seconds=0)
    assert call(app, "/")[0] == 200
    assert slept == [pytest.approx(0.07)]  # 100 ms in all, not 100 ms after 30 of building
    assert clock[0] == pytest.approx(100.1)
    assert app.stats()["first_arrival_monotonic"] == pytest.approx(100.0)
    assert app.stats()["answer_seconds_total"] == pytest.approx(0.1)
    assert call(app, "/", "b")[0] == 200
    assert app.stats()["first_arrival_monotonic"] == pytest.approx(100.0)  # the first one's


def test_mark_forgets_the_first_arrival() -> None:
    app = make_app(FakeVendor())
    assert app.stats()["first_arrival_monotonic"] is None
    call(app, "/")
    first = app.stats()["first_arrival_monotonic"]
    assert first is not None
    assert call(app, f"{CONTROL_PREFIX}/mark")[0] == 404  # a POST, not a GET
    assert app._control(Request.from_scope(
        {"type": "http", "method": "POST", "path": f"{CONTROL_PREFIX}/mark",
         "query_string": b"", "headers": [], "server": ("127.0.0.1", 9)}, b"")).status == 200
    assert app.stats()["first_arrival_monotonic"] is None
    call(app, "/")
    assert app.stats()["first_arrival_monotonic"] >= first

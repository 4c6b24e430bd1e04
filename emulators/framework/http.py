"""Tiny request/response types the vendor apps work with (no framework needed per vendor)."""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass, field
from urllib.parse import parse_qs


@dataclass
class Request:
    """One vendor request: method, path, query (lists), lower-cased headers, body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    #: The (host, port) the server listens on (ASGI ``scope["server"]``), if known.
    server: tuple[str, int] | None = None

    @classmethod
    def from_scope(cls, scope: dict[str, t.Any], body: bytes) -> Request:
        """Build from an ASGI HTTP scope."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        server = scope.get("server")
        return cls(scope["method"], scope["path"], query, headers, body,
                   (server[0], server[1]) if server else None)

    @property
    def url_root(self) -> str:
        """``http://<Host header>`` (else the server's address): for absolute URLs."""
        host = self.headers.get("host")
        if not host and self.server:
            host = f"{self.server[0]}:{self.server[1]}"
        return f"http://{host or '127.0.0.1'}"

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def form(self) -> dict[str, str]:
        """The body as a form (application/x-www-form-urlencoded)."""
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}


@dataclass
class Response:
    """A vendor response: an encoded ``body`` of ``content_type`` (JSON unless told)."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, payload: t.Any,
             headers: list[tuple[str, str]] | None = None) -> Response:
        """Encode ``payload`` as compact JSON."""
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), headers or [])

    @classmethod
    def text(cls, status: int, text: str, *, content_type: str = "text/plain; charset=utf-8",
             headers: list[tuple[str, str]] | None = None) -> Response:
        """A non-JSON body (UTF-8) with its own content type."""
        return cls(status, text.encode("utf-8"), list(headers or []), content_type)


class HTTPError(Exception):
    """Raised by a handler to answer with the vendor's error envelope."""

    def __init__(self, status: int, message: str, *,
                 headers: list[tuple[str, str]] | None = None) -> None:
        """``status``, the human message for the envelope, extra headers (e.g. ``Allow``)."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers or [])


class VendorAPI(t.Protocol):
    """What the framework needs from a vendor app.

    Optional hooks, used when the vendor app defines them (not part of the Protocol, so apps
    without them still conform):

    ``rate_key(self, request: Request) -> str | None``
        Which client a rate limit is kept for (e.g. the access token). The framework keeps
        one ``SlidingWindow`` per (rate group, key); ``None`` shares one window. The stat
        ``max_requests_in_rate_window`` is the maximum over keys.
    ``rate_limited(self, request: Request, retry_after_seconds: float) -> Response``
        The answer to a request the limiter refused; ``retry_after_seconds`` is when the
        next request would be allowed (for an exact ``Retry-After``). Without it the
        framework answers ``error(request, 429, "Too many requests: rate limit exceeded.")``.
    ``vendor_stats(self) -> dict[str, t.Any]``
        Extra keys merged into ``/_emulator/stats`` (e.g. how often each query was started).
    ``count_rejected: bool`` (attribute)
        True when the vendor documents that refused requests count against the limit.

    Any exception a handler raises other than ``HTTPError`` becomes
    ``error(request, 500, ...)``: a client never sees a non-vendor error body.
    """

    name: str

    def handle(self, request: Request) -> Response:
        """Answer a vendor request (raise HTTPError for errors)."""

    def error(self, request: Request, status: int, message: str) -> Response:
        """The vendor's error response for this path (also used for injected faults)."""

    def rate_group(self, path: str) -> str | None:
        """Which rate limit a path counts against (None: not limited)."""

    def rate_limits(self) -> dict[str, tuple[int, float]]:
        """Limit per rate group: (requests, seconds)."""

    def first_line(self, base_url: str) -> dict[str, t.Any]:
        """``tap_config`` and ``auth`` for the first stdout line."""

    def counts(self) -> dict[str, int]:
        """Records a full sync with ``tap_config`` must produce, per tap stream."""

    def mutate(self, count: int) -> dict[str, t.Any]:
        """Update ``count`` records and add ``count`` new ones, per resource."""

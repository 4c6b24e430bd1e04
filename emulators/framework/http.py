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

    @classmethod
    def from_scope(cls, scope: dict[str, t.Any], body: bytes) -> Request:
        """Build from an ASGI HTTP scope."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        return cls(scope["method"], scope["path"], query, headers, body)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def form(self) -> dict[str, str]:
        """The body as a form (application/x-www-form-urlencoded)."""
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}


@dataclass
class Response:
    """A vendor response; ``body`` is already-encoded JSON."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, payload: t.Any,
             headers: list[tuple[str, str]] | None = None) -> Response:
        """Encode ``payload`` as compact JSON."""
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), headers or [])


class HTTPError(Exception):
    """Raised by a handler to answer with the vendor's error envelope."""

    def __init__(self, status: int, message: str) -> None:
        """``status`` and the human message for the envelope."""
        super().__init__(message)
        self.status = status
        self.message = message


class VendorAPI(t.Protocol):
    """What the framework needs from a vendor app."""

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

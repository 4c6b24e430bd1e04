"""The Adnuntius admin API as documented, served under ``/api``.

Sources: the research note ``shared/research/adnuntius.md`` (sections cited per handler):
the vendor's "API Requests" conventions, its endpoint pages and its Python client
``adnuntius`` (api-tools). Behaviour no document backs is marked GUESS.
"""

from __future__ import annotations

import math
import time
import typing as t

import msgspec

from emulators.adnuntius.auth import Authenticator, credential
from emulators.adnuntius.errors import STATUS_CODES, AdnError, message
from emulators.adnuntius.ids import iso
from emulators.adnuntius.objects import RESOURCES
from emulators.adnuntius.query import NOT_FILTERS, Selector
from emulators.adnuntius.stats import Stats
from emulators.adnuntius.store import NETWORK_ID, Dataset
from emulators.framework.cache import BodyCache
from emulators.framework.http import HTTPError, Request, Response
from emulators.framework.limits import parse_rate

if t.TYPE_CHECKING:
    import argparse

BASE_PATH = "/api"
#: GUESS: the per-token limit is undocumented ("429 ... Retry-After"); 20 requests/second.
DEFAULT_RATE_LIMIT = "20/1"
DEFAULT_PAGE_SIZE = 100  # the 2018 docs' default; GUESS that it still holds
MAX_PAGE_SIZE = 1000  # GUESS: larger pageSize values are clamped, not refused
#: Collections besides the list resources that answer OPTIONS (the exists() probe).
OTHER_COLLECTIONS = {"stats"}
_ENCODER = msgspec.json.Encoder(decimal_format="number")  # money keeps every digit


def _json(status: int, payload: t.Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, _ENCODER.encode(payload), list(headers or []))


class AdnuntiusAPI:
    """All state of one emulated network."""

    name = "adnuntius"

    def __init__(self, *, seed: int, scale: int, token_ttl: int, rate_limit: tuple[int, float],
                 page_base: int) -> None:
        """Generate nothing up front: records come from (seed, index) on demand."""
        self.started = time.time()
        self.page_base = page_base
        self._rate_limit = rate_limit
        self.data = Dataset(seed=seed, scale=scale, started=self.started)
        self.selector = Selector(self.data)
        self.stats = Stats(self.data)
        self.auth = Authenticator(seed=seed, token_ttl=token_ttl,
                                  usernames=(self.data.username(0), self.data.username(1),
                                             self.data.username(2)))
        self._daily_pairs: dict[int, int] = {}
        #: Encoded list pages and stats answers by (resource, data version, query).
        self.pages = BodyCache()

    # Framework hooks ---------------------------------------------------------------------

    def rate_limits(self) -> dict[str, tuple[int, float]]:
        """One limit per access token [DOCS:req]; the number is a GUESS (see above)."""
        return {"token": self._rate_limit}

    def rate_group(self, path: str) -> str | None:
        """GUESS: /api/authenticate is not rate-limited (the docs limit per access token)."""
        return "token" if path.startswith("/api/v1/") else None

    def rate_key(self, request: Request) -> str | None:
        """The access token or API key the request carries (header or ``auth_token``)."""
        return credential(request)

    def rate_limited(self, request: Request, retry_after_seconds: float) -> Response:
        """429 + ``Retry-After`` (seconds) + a text message giving the wait [DOCS:req]."""
        seconds = max(1, math.ceil(retry_after_seconds))  # GUESS: whole seconds, at least 1
        text = (f"Too many requests for this access token. Please wait {seconds} "
                f"second{'s' if seconds != 1 else ''} before trying again.")  # GUESS: wording
        return Response.text(429, text, headers=[("Retry-After", str(seconds))])

    def first_line(self, base_url: str) -> dict[str, t.Any]:
        """A complete tap config and every accepted credential set."""
        logins = list(self.auth.logins.values())
        return {
            "tap_config": {"api_url": base_url, "network": NETWORK_ID,
                           "api_key": self.auth.api_key, "start_date": self._start_date(),
                           "request_timeout_seconds": 5},
            "auth": {
                "api_key": {"api_key": self.auth.api_key},
                "password": {"username": logins[0].username, "password": logins[0].password},
                "two_factor": {"username": logins[1].username, "password": logins[1].password,
                               "code": self.auth.two_factor_code},
                "forced_two_factor": {"username": logins[2].username,
                                      "password": logins[2].password},
            },
        }

    def _start_date(self) -> str:
        return iso(self.data.start_day * 86400.0, "seconds")

    def counts(self) -> dict[str, int]:
        """What a full sync from ``tap_config`` produces, per tap stream.

        ``line_item_daily_stats``: (UTC day, line item) pairs with impressions > 0 (what
        ``includeAll=false`` returns) from start_date's day through today (UTC).
        """
        today = int(time.time() // 86400)
        if today not in self._daily_pairs:
            self._daily_pairs[today] = self.stats.delivering_pairs(self.data.start_day, today)
        return {**self.data.counts(), "line_item_daily_stats": self._daily_pairs[today]}

    def mutate(self, count: int) -> dict[str, t.Any]:
        """Touch, soft-delete and add objects with updateTime "now"."""
        report = self.data.mutate(count, time.time())
        return {**report, "counts": self.counts()}

    def error(self, request: Request, status: int, message_text: str) -> Response:
        """The framework's errors (faults, bugs) in the vendor's shape."""
        if status == 429:  # GUESS: an injected 429 looks like the limiter's, Retry-After 1
            return self.rate_limited(request, 1.0)
        body = message(STATUS_CODES.get(status, "error.unknown"), message_text)
        return _json(status, body)

    # Requests ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Route one request; Translatable Messages for every error."""
        try:
            return self._route(request)
        except AdnError as exc:
            status = exc.status
            if request.method == "HEAD":
                return Response(status, b"")
            return _json(status, exc.body())
        except HTTPError as exc:
            return self.error(request, exc.status, exc.message)

    def _route(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        method = request.method
        if path == "/api/authenticate":
            if method != "POST":
                raise _method_not_allowed(method)
            status, body = self.auth.authenticate(request)
            return _json(status, body)
        if path == "/api/authenticate/2fa" and method == "POST":
            return _json(200, self.auth.two_factor(request))
        if not path.startswith("/api/v1/"):
            raise _not_found(path)
        parts = path[len("/api/v1/"):].split("/")
        resource = parts[0]
        known = resource in RESOURCES or resource in OTHER_COLLECTIONS
        if method == "OPTIONS":
            # api-tools' exists() probe: no context, 404 only for a missing endpoint.
            # GUESS: OPTIONS needs neither credentials nor context and has an empty body.
            if not known:
                raise _not_found(path)
            return Response(200, b"", [("Allow", "GET, HEAD, POST, PUT, OPTIONS")])
        self.auth.check(request)  # GUESS: credentials are checked before the context
        self._check_context(request)  # GUESS: HEAD needs it too (api-tools sends it)
        if resource == "stats" and len(parts) == 1 and method in {"GET", "HEAD"}:
            args = {k: v[0] for k, v in request.query.items() if v}
            key = ("stats", self.data.version,
                   tuple(sorted((k, v) for k, v in args.items() if k not in NOT_FILTERS)))
            body = self.pages.get_or_build(key, lambda: _ENCODER.encode(self.stats.query(args)))
            return self._maybe_head(request, Response(200, body))
        if resource not in RESOURCES or len(parts) > 2:
            raise _not_found(path)
        if method not in {"GET", "HEAD"}:
            raise _method_not_allowed(method)  # GUESS: writes are not emulated
        if len(parts) == 1:
            return self._maybe_head(request, self._list(request, resource))
        return self._maybe_head(request, self._get(resource, parts[1]))

    @staticmethod
    def _maybe_head(request: Request, response: Response) -> Response:
        if request.method == "HEAD":
            return Response(response.status, b"", response.headers)
        return response

    def _check_context(self, request: Request) -> None:
        """``context=<network>`` on every /v1 request [DOCS:req, research §1]."""
        context = request.arg("context")
        if not context:
            # GUESS: status and code (the docs say only that context is needed)
            raise AdnError(400, "error.context.required",
                           "A network context is required: add context=<network id>", {})
        if context != NETWORK_ID:
            # GUESS: 403 (the research suggests 403 or 404, neither is documented)
            raise AdnError(403, "error.context.unknown",
                           "Unknown network {{context}} or no access to it",
                           {"context": context})

    def _get(self, resource: str, identifier: str) -> Response:
        """One object, HIDDEN ones included [DOCS:req]; 404 when missing."""
        index = self.data.index_of(resource, identifier)
        if index is None:
            # GUESS: code and text
            raise AdnError(404, "error.entity.not.found",
                           "{{type}} with id {{id}} could not be found",
                           {"type": RESOURCES[resource].type_name, "id": identifier})
        return _json(200, self.data.render(resource, index))

    def _list(self, request: Request, resource: str) -> Response:
        """``{page, pageSize, totalCount, results}`` [DOCS:req research §4]."""
        page_size = _int_arg(request, "pageSize", DEFAULT_PAGE_SIZE)
        if page_size < 1:
            raise AdnError(400, "error.paging.invalid", "pageSize must be at least 1", {})
        page_size = min(page_size, MAX_PAGE_SIZE)
        page = _int_arg(request, "page", self.page_base)
        # GUESS: a page below the first page number is the first page.
        offset = max(page - self.page_base, 0) * page_size
        indices = self.selector.select(resource, request.query, time.time())

        def body() -> bytes:
            results = [self.data.render(resource, i) for i in indices[offset:offset + page_size]]
            return _ENCODER.encode({"page": page, "pageSize": page_size,
                                    "totalCount": len(indices), "results": results})

        if "where" in request.query:  # may hold a relative time: evaluated per listing
            return Response(200, body())
        key = (resource, self.data.version, page, page_size,
               tuple(sorted((k, tuple(v)) for k, v in request.query.items()
                            if k not in NOT_FILTERS)))
        return Response(200, self.pages.get_or_build(key, body))


def _int_arg(request: Request, name: str, default: int) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise AdnError(400, "error.paging.invalid", "{{name}} must be an integer, got {{value}}",
                       {"name": name, "value": raw}) from None


def _not_found(path: str) -> AdnError:
    return AdnError(404, "error.resource.not.found", "No resource at {{path}}", {"path": path})


def _method_not_allowed(method: str) -> AdnError:
    return AdnError(405, "error.method.not.allowed", "Method {{method}} is not supported here",
                    {"method": method})


def build(args: argparse.Namespace) -> AdnuntiusAPI:
    """The emulator for ``tap-emulator adnuntius`` and its options."""
    return AdnuntiusAPI(seed=args.seed, scale=args.scale, token_ttl=args.token_ttl,
                        rate_limit=parse_rate(args.rate_limit or DEFAULT_RATE_LIMIT),
                        page_base=int(getattr(args, "page_base", 0) or 0))

"""The Kissmetrics Core API and Query API v2 ("API Update June 29, 2015") on one server.

``/core/...`` is ``api.kissmetrics.com/core``, ``/v2/...`` is ``query.kissmetrics.com/v2``;
the Data Export bucket is a real S3 server beside them (``export.py``). Sources: the
research note ``shared/research/kissmetrics.md`` (sections cited per handler). Behaviour
no document backs is marked GUESS.
"""

from __future__ import annotations

import datetime as dt
import time
import typing as t

from emulators.framework.http import HTTPError, Request, Response
from emulators.framework.limits import parse_rate
from emulators.framework.rand import mix
from emulators.kissmetrics.export import BUCKET, REGION, ExportBucket
from emulators.kissmetrics.model import RESOURCES, Dataset, link
from emulators.kissmetrics.people import People
from emulators.kissmetrics.queries import Queries, link_header, meta_error

if t.TYPE_CHECKING:
    import argparse

BASE_PATH = "/core"
START_DATE_DAYS = 6  # start_date: midnight UTC six days before start (7 daily windows)
CORE_DEFAULT_LIMIT = 20  # [KMS:core "Pagination"]
CORE_MAX_LIMIT = 100  # GUESS: undocumented; a larger limit is cut to it
#: Product-scoped lists [research 2.2]; ``metrics`` is an inferred path.
PRODUCT_LISTS = ("reports", "events", "properties", "metrics")


class KissmetricsAPI:
    """All state of one emulated login."""

    name = "kissmetrics"

    def __init__(self, *, seed: int, scale: int, rate_limit: tuple[int, float] | None,
                 bare_lists: bool, query_polls: int, results_limit_cap: int,
                 problem_reports: bool) -> None:
        """Core objects come from (seed, index) on demand; the bucket is filled now."""
        self.started = time.time()
        self.seed, self.scale = seed, scale
        self.bare_lists = bare_lists
        self._rate_limit = rate_limit
        self.token = f"km-{mix(seed, 801):016x}{mix(seed, 802):016x}"
        self.data = Dataset(seed=seed, scale=scale, started=self.started,
                            problems=problem_reports)
        self.people = People(self.data)
        self.queries = Queries(self.data, self.people, polls=query_polls,
                               limit_cap=results_limit_cap, now=time.time)
        today = dt.datetime.now(dt.timezone.utc).date()
        self.start_day = today - dt.timedelta(days=START_DATE_DAYS)
        start = dt.datetime(self.start_day.year, self.start_day.month, self.start_day.day,
                            tzinfo=dt.timezone.utc).timestamp()
        # Export covers data up to yesterday (UTC) [KMS:export]; all of it after start_date.
        names = [self.data.event_name(0, k)
                 for k in range(len(self.data.indices("events", 0)))]
        self.export = ExportBucket(seed=seed, scale=scale, start=start,
                                   end=start + START_DATE_DAYS * 86400, event_names=names)
        self.export.start()

    # Framework hooks ---------------------------------------------------------------------

    def rate_limits(self) -> dict[str, tuple[int, float]]:
        """None documented for the 2015 API [research 5]; ``--rate-limit`` adds one."""
        return {"api": self._rate_limit} if self._rate_limit else {}

    def rate_group(self, path: str) -> str | None:
        """Every API path counts against ``--rate-limit`` when one is given."""
        return "api" if self._rate_limit else None

    def first_line(self, base_url: str) -> dict[str, t.Any]:
        """Both API URLs, the token, and the bucket with its credentials."""
        root = base_url.removesuffix(BASE_PATH)
        aws = {"aws_access_key_id": self.export.access_key,
               "aws_secret_access_key": self.export.secret_key}
        return {
            "tap_config": {"core_api_url": base_url, "query_api_url": f"{root}/v2",
                           "api_token": self.token,
                           "start_date": f"{self.start_day.isoformat()}T00:00:00Z",
                           "request_timeout_seconds": 5, "export_bucket": BUCKET,
                           "export_endpoint_url": self.export.endpoint, **aws,
                           "export_region": REGION},
            "auth": {"token": {"api_token": self.token}, "aws": aws},
        }

    def counts(self) -> dict[str, int]:
        """What a full sync from the first line's tap_config produces (see ``__init__``)."""
        now = time.time()
        return {**{r: self.data.total(r) for r in RESOURCES},
                "report_results": self.people.default_results(self.start_day, now),
                "raw_events": self.export.raw_events()}

    def mutate(self, count: int) -> dict[str, t.Any]:
        """Rename and add Core objects; add ``count`` export revisions."""
        totals = self.data.mutate(count, time.time())
        keys = self.export.add_revisions(count, time.time())
        return {"totals": totals, "revisions_added": keys, "counts": self.counts()}

    def vendor_stats(self) -> dict[str, t.Any]:
        """Run requests per (report, window) and query counters, for /stats."""
        return self.queries.stats()

    def error(self, request: Request, status: int, message: str) -> Response:
        """``{meta: {status, message}}`` on both APIs (GUESS for the Core API and 401/403/404)."""
        return Response.json(status, meta_error(status, message))

    # Requests ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Route: Core lists and details, Query API v2."""
        path = request.path.rstrip("/") or "/"
        parts = path.strip("/").split("/")
        if parts[0] not in {"core", "v2"}:
            raise HTTPError(404, "Not found.")
        self._authorize(request)
        if parts[0] == "v2":
            return self._query_api(request, parts[1:])
        if request.method != "GET":
            raise HTTPError(405, f"Method {request.method} is not allowed here.",
                            headers=[("Allow", "GET")])  # GUESS
        return self._core(request, parts[1:])

    def _authorize(self, request: Request) -> None:
        """``Authorization: Bearer <personal token>`` on every request [research 1.2]."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPError(401, "Not Authenticated: an Authorization: Bearer token is "
                                 "required.")  # GUESS: the body text
        if token.strip() != self.token:
            raise HTTPError(401, "Not Authenticated: invalid token.")  # GUESS

    def _query_api(self, request: Request, parts: list[str]) -> Response:
        method = request.method
        if (len(parts) == 5 and parts[0] == "products" and parts[2] == "reports"
                and parts[4] == "run"):
            if method != "POST":
                raise HTTPError(405, "Use POST to run a report.", headers=[("Allow", "POST")])
            return self.queries.run(request, parts[1], parts[3])
        if len(parts) == 3 and parts[0] == "queries" and method == "GET":
            handler = {"status": self.queries.status, "results": self.queries.results,
                       "export": self.queries.export}.get(parts[2])
            if handler:
                return handler(request, parts[1])
        raise HTTPError(404, "Not found.")

    def _core(self, request: Request, parts: list[str]) -> Response:
        root = request.url_root
        if not parts or parts == [""]:
            return Response.json(200, self._directory(root))
        if parts == ["rels"]:
            return Response.json(200, self._rels(root))
        resource = parts[0]
        if resource not in RESOURCES or len(parts) > 3:
            raise HTTPError(404, "Not found.")
        if len(parts) == 1:
            return self._list(request, resource, None)
        index = self.data.index_of(resource, parts[1])
        if index is None:
            raise HTTPError(404, f"No {resource[:-1]} with id {parts[1]}.")  # GUESS: text
        if len(parts) == 2:
            return Response.json(200, self.data.render(resource, index, root))  # bare object
        nested = parts[2]
        if (resource, nested) == ("accounts", "products") or (
                resource == "products" and nested in PRODUCT_LISTS):
            return self._list(request, nested, index)
        raise HTTPError(404, "Not found.")

    def _list(self, request: Request, resource: str, parent: int | None) -> Response:
        """``{data, pagination, links}`` with first/last/prev/next and a ``Link`` header.

        [KMS:core, EAS]; ``--bare-lists``: the whole list as a bare array (the docs' drawing,
        GUESS: unpaged, so a client that reads it as one page loses nothing).
        """
        indices = self.data.indices(resource, parent)
        root = request.url_root
        if self.bare_lists:
            return Response.json(200, [self.data.render(resource, i, root) for i in indices])
        limit = min(_int(request, "limit", CORE_DEFAULT_LIMIT, 1), CORE_MAX_LIMIT)
        offset = _int(request, "offset", 0, 0)
        total = len(indices)
        data = [self.data.render(resource, i, root) for i in indices[offset:offset + limit]]
        path = request.path.rstrip("/")

        def page(rel: str, name: str, at: int) -> dict[str, t.Any]:
            return link(root, f"{path}?limit={limit}&offset={at}", rel, name)

        links = [page("first", "First", 0),
                 page("last", "Last", max(total - 1, 0) // limit * limit)]
        if offset > 0:
            links.append(page("prev", "Previous", max(offset - limit, 0)))
        if offset + limit < total:
            links.append(page("next", "Next", offset + limit))
        return Response.json(200, {"data": data,
                                   "pagination": {"total": total, "offset": offset,
                                                  "limit": limit},
                                   "links": links}, [link_header(links)])

    def _directory(self, root: str) -> dict[str, t.Any]:
        """``GET /core`` [research 2.3]; GUESS: the rels after ``accounts``."""
        links = [link(root, "/core", "self", "Directory")]
        links += [link(root, f"/core/{r}", r, r.capitalize()) for r in RESOURCES]
        return {"links": [link(root, "/core", "self", "Directory")],
                "data": {"name": "KISSmetrics API", "description": "API access for KISSmetrics",
                         "links": links}}

    def _rels(self, root: str) -> dict[str, t.Any]:
        """``GET /core/rels`` [EAS only]; GUESS: the contents."""
        rels = [{"name": r, "description": f"The {r} the token can access."} for r in RESOURCES]
        rels += [{"name": "run_v2", "description": "Run a report with the Query API v2."}]
        return {"links": [link(root, "/core/rels", "self", "Rels")],
                "data": {"title": "Link relations", "description": "Rels used by the API",
                         "rels": rels}}


def _int(request: Request, name: str, default: int, least: int) -> int:
    raw = request.arg(name)
    if raw in {None, ""}:
        return default
    try:
        value = int(raw)  # type: ignore[arg-type]
    except ValueError:
        raise HTTPError(400, f"{name} must be an integer.") from None  # GUESS
    return max(value, least)  # GUESS: below the least is clamped, not refused


def build(args: argparse.Namespace) -> KissmetricsAPI:
    """The emulator for ``tap-emulator kissmetrics`` and its options."""
    if int(getattr(args, "query_polls", 3)) < 0:
        msg = "--query-polls must be 0 or more"
        raise ValueError(msg)
    if int(getattr(args, "results_limit_cap", 1000)) < 1:
        msg = "--results-limit-cap must be at least 1"
        raise ValueError(msg)
    return KissmetricsAPI(seed=args.seed, scale=args.scale,
                          rate_limit=parse_rate(args.rate_limit) if args.rate_limit else None,
                          bare_lists=bool(getattr(args, "bare_lists", False)),
                          query_polls=int(getattr(args, "query_polls", 3)),
                          results_limit_cap=int(getattr(args, "results_limit_cap", 1000)),
                          problem_reports=bool(getattr(args, "problem_reports", False)))

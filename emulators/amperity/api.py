"""The Amperity API and Profile API as documented, served under ``/api``.

Sources: the research note ``shared/research/amperity.md`` (sections cited per handler) and the
vendor's OpenAPI files ``control-plane-2024-04-01``, ``control-plane-unstable`` and
``openapi-profile-v2`` (operationIds cited). Behaviour no document backs is marked GUESS.
"""

from __future__ import annotations

import json
import random
import time
import typing as t
import uuid

import msgspec

from emulators.amperity import records
from emulators.amperity.auth import TENANT, Tokens, versions_for
from emulators.amperity.data import Timeline, code, iso, mix, parse_time
from emulators.amperity.listing import Matcher, cursor_page, parse_bool
from emulators.framework.cache import BodyCache
from emulators.framework.http import HTTPError, Request, Response
from emulators.framework.limits import parse_rate

if t.TYPE_CHECKING:
    import argparse

BASE_PATH = "/api"
DEFAULT_RATE_LIMIT = "10/1"  # Amperity API: 10 requests/second [research 2.5]

CONTROL_DEFAULT_LIMIT, PROFILE_DEFAULT_LIMIT = 100, 25  # GUESS (control); OAS-profile (25)
INGEST_MAX_WINDOW_SECONDS = 7 * 86400  # GUESS: wider windows are refused with 400
START_DATE_DAYS = 30
NOT_FOUND = "The requested entity does not exist."
#: Every path the API serves ("*" = one path segment) and its methods [OAS-2024, OAS-profile].
ROUTES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("v0", "oauth2", "token"): ("POST",),
    ("audit-events",): ("GET",),
    ("campaigns",): ("GET",),
    ("campaign-drafts",): ("GET",),
    ("segments",): ("GET",),
    ("ingest", "jobs"): ("GET",),
    ("ingest", "jobs", "*"): ("GET",),
    ("workflow", "runs"): ("GET", "POST"),
    ("workflow", "runs", "*"): ("GET",),
    ("workflow", "runs", "*", "stop"): ("POST",),
    ("indexes",): ("GET",),
    ("indexes", "*"): ("GET",),
    ("indexes", "*", "profiles"): ("GET",),
    ("indexes", "*", "profiles", "*"): ("GET",),
}
WORKFLOW_FILTERS = ("ended_from", "ended_to", "state", "type")
#: GUESS: data templates campaigns are configured with (the first is the docs' example id).
TEMPLATE_COUNT = 4
_ENCODER = msgspec.json.Encoder()


class AmperityAPI:
    """All state of one emulated tenant."""

    name = "amperity"

    def __init__(self, *, seed: int, scale: int, token_ttl: int, rate_limit: tuple[int, float],
                 short_pages: bool, version_error_status: int) -> None:
        """Generate nothing up front: records come from (seed, index) on demand."""
        self.seed, self.scale, self.token_ttl = seed, scale, token_ttl
        self.short_pages = short_pages
        self.version_error_status = version_error_status
        self.started = time.time()
        self._rate_limit = rate_limit
        rng = random.Random(seed)
        self.static_token = f"amp-static-{rng.getrandbits(96):024x}"
        self.client_id = f"amp-client-{rng.getrandbits(48):012x}"
        self.client_secret = f"amp-secret-{rng.getrandbits(128):032x}"
        self.tokens = Tokens(static_token=self.static_token, client_id=self.client_id,
                             client_secret=self.client_secret, ttl=token_ttl)
        self.data = records.Dataset(seed=seed, scale=scale, started=self.started)
        self.templates = ["ptg-2QLLqXBEq"] + [f"ptg-{code(mix(seed, 16, k), 9)}"
                                              for k in range(1, TEMPLATE_COUNT)]
        self.started_runs: dict[str, dict[str, t.Any]] = {}  # POST /workflow/runs
        #: Encoded ``data`` arrays of unfiltered pages; records change only on /mutate.
        self.pages = BodyCache()

    # Framework hooks ---------------------------------------------------------------------

    def rate_limits(self) -> dict[str, tuple[int, float]]:
        """Amperity API 10/s (configurable); Profile API 2000/s [research 2.5]."""
        return {"control": self._rate_limit, "profile": (2000, 1.0)}

    def rate_group(self, path: str) -> str | None:
        """GUESS: the token endpoint is not rate-limited."""
        if path.startswith("/api/v0/"):
            return None
        return "profile" if path.startswith("/api/indexes") else "control"

    def first_line(self, base_url: str) -> dict[str, t.Any]:
        """A complete tap config and every accepted credential set."""
        start = self.started - START_DATE_DAYS * 86400
        return {
            "tap_config": {"api_url": base_url, "tenant": TENANT,
                           "access_token": self.static_token, "start_date": iso(start),
                           "include_campaign_drafts": True, "request_timeout_seconds": 5},
            "auth": {
                "token": {"access_token": self.static_token},
                "client_credentials": {"client_id": self.client_id,
                                       "client_secret": self.client_secret,
                                       "token_url": f"{base_url}/v0/oauth2/token"},
            },
        }

    def counts(self) -> dict[str, int]:
        """What a full sync from ``tap_config``'s start_date produces."""
        return self.data.counts(self.started - START_DATE_DAYS * 86400)

    def mutate(self, count: int) -> dict[str, t.Any]:
        """Change and add records with timestamps "now"."""
        changed = self.data.mutate(count, time.time())
        self.pages.clear()
        return {"changed": changed, "counts": self.counts()}

    def error(self, request: Request, status: int, message: str) -> Response:
        """The vendor's error envelope for this path [research 2.4].

        The control-plane ErrorResponse allows only {status, message} (additionalProperties
        false in OAS-2024); the Profile API adds request_id and trace_id.
        """
        body: dict[str, t.Any] = {"status": status, "message": message}
        if request.path.startswith("/api/indexes"):
            body["request_id"] = str(uuid.UUID(int=random.getrandbits(128)))
            body["trace_id"] = f"{random.getrandbits(128):032x}"
        return Response.json(status, body)

    # Requests ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Route a request (paths with or without a trailing slash, research 4).

        A path outside ``/api`` is a 404; a known path with another method is a 405 with
        ``Allow`` (SWAGGER-2024 declared 405 on every operation).
        """
        path = request.path.rstrip("/") or "/"
        if path != "/api" and not path.startswith("/api/"):
            raise HTTPError(404, NOT_FOUND)
        parts = path.split("/")[2:]
        pattern = _pattern(parts)
        if pattern is None:
            raise HTTPError(404, NOT_FOUND)
        methods = ROUTES[pattern]
        if request.method not in methods:
            raise HTTPError(405, f"Method {request.method} is not allowed on {path}.",
                            headers=[("Allow", ", ".join(methods))])
        if pattern == ("v0", "oauth2", "token"):
            return self.tokens.grant(request)
        self.tokens.authorize(request, allowed_versions=versions_for(parts[0]),
                              version_error_status=self.version_error_status)
        return self._dispatch(request, pattern, parts)

    def _dispatch(self, request: Request, pattern: tuple[str, ...], parts: list[str]) -> Response:
        lists = {
            ("audit-events",): self._audit_events,
            ("campaigns",): self._campaigns,
            ("campaign-drafts",): self._campaign_drafts,
            ("segments",): self._segments,
            ("ingest", "jobs"): self._ingest_jobs,
            ("indexes",): self._indexes,
        }
        if pattern in lists:
            return lists[pattern](request)
        if pattern == ("workflow", "runs"):
            if request.method == "POST":
                return self._run_workflow(request)
            return self._workflow_runs(request)
        if pattern == ("ingest", "jobs", "*"):
            return Response.json(200, self.data.ingest_job(parts[2]))
        if pattern == ("workflow", "runs", "*"):
            view = request.arg("view", "overview")
            if view not in {"overview", "verbose"}:
                raise HTTPError(400, f"Invalid view {view!r}: use overview or verbose.")
            return Response.json(200, self._workflow(parts[2], verbose=view == "verbose"))
        if pattern == ("workflow", "runs", "*", "stop"):
            return self._stop_workflow(parts[2])
        if pattern == ("indexes", "*"):
            return Response.json(200, self.data.index(parts[1]))
        if pattern == ("indexes", "*", "profiles"):
            return self._profiles(request, parts[1])
        return Response.json(200, self.data.profile(parts[1], parts[3]))

    # List endpoints ----------------------------------------------------------------------

    def _list(self, request: Request, *, kind: str, lo: int, hi: int, size: int,
              render: t.Callable[[int], dict], default_limit: int = CONTROL_DEFAULT_LIMIT,
              filters: dict[str, str] | None = None,
              matcher_for: t.Callable[[dict[str, str]], Matcher | None] | None = None) -> Response:
        """A page newest first (GUESS: order undocumented)."""
        page = cursor_page(request, kind=kind, lo=lo, hi=hi, size=size,
                           default_limit=default_limit, short_pages=self.short_pages,
                           filters=filters, matcher_for=matcher_for)
        if page.filtered or not page.indices:
            return Response.json(200, {"data": [render(i) for i in page.indices], **page.tail})
        # The hot path: a run of consecutive records, encoded once until the next /mutate.
        first, count = page.indices[0], len(page.indices)
        data = self.pages.get_or_build(
            (kind, first, count), lambda: _ENCODER.encode([render(i) for i in page.indices]))
        return Response(200, _with_tail(data, page.tail))

    def _window(self, request: Request, timeline: Timeline, frm: str, to: str) -> tuple[int, int]:
        start, end = _times(request, frm, to)
        lo = timeline.first_at_or_after(start)
        hi = timeline.first_at_or_after(end) if end is not None else len(timeline)
        return lo, max(hi, lo)

    def _audit_events(self, request: Request) -> Response:
        """list-events: happened_from inclusive, happened_to exclusive [research 4.1]."""
        lo, hi = self._window(request, self.data.audit, "happened_from", "happened_to")
        return self._list(request, kind="ae", lo=lo, hi=hi, size=len(self.data.audit),
                          render=self.data.audit_event)

    def template_of(self, kind: str, i: int) -> str:
        """GUESS: the data template a campaign (draft) uses; not part of the record."""
        return self.templates[mix(self.seed, 17, i, len(kind)) % TEMPLATE_COUNT]

    def _campaign_list(self, request: Request, kind: str, timeline: Timeline,
                       render: t.Callable[[int], dict]) -> Response:
        """list-campaign / list-campaign-draft with destination_data_template_id [research 4.2]."""
        template = request.arg("destination_data_template_id")

        def matcher_for(filters: dict[str, str]) -> Matcher:
            if set(filters) != {"template"}:
                raise HTTPError(400, "Invalid next_token.")
            return lambda i: self.template_of(kind, i) == filters["template"]

        return self._list(request, kind=kind, lo=0, hi=len(timeline), size=len(timeline),
                          render=render, filters={"template": template} if template else None,
                          matcher_for=matcher_for)

    def _campaigns(self, request: Request) -> Response:
        return self._campaign_list(request, "cc", self.data.campaigns_t, self.data.campaign)

    def _campaign_drafts(self, request: Request) -> Response:
        """Unstable API only [research 4.3]."""
        return self._campaign_list(request, "cd", self.data.drafts_t, self.data.campaign_draft)

    def _segments(self, request: Request) -> Response:
        """list-segment [research 4.4]."""
        size = len(self.data.segments_t)
        return self._list(request, kind="sg", lo=0, hi=size, size=size, render=self.data.segment)

    def _workflow_runs(self, request: Request) -> Response:
        """list-workflows: created_* and ended_* windows, state, type [research 4.6]."""
        timeline = self.data.workflows
        lo, hi = self._window(request, timeline, "created_from", "created_to")
        _times(request, "ended_from", "ended_to")  # validated here, applied by the matcher
        filters = {k: v for k in WORKFLOW_FILTERS if (v := request.arg(k)) is not None}
        return self._list(request, kind="wf", lo=lo, hi=hi, size=len(timeline),
                          render=self.data.workflow_at, filters=filters,
                          matcher_for=self._workflow_matcher)

    def _workflow_matcher(self, filters: dict[str, str]) -> Matcher:
        if not set(filters) <= set(WORKFLOW_FILTERS):
            raise HTTPError(400, "Invalid next_token.")
        ended_from = parse_time(filters.get("ended_from"))
        ended_to = parse_time(filters.get("ended_to"))
        windowed = "ended_from" in filters or "ended_to" in filters
        state, wtype = filters.get("state"), filters.get("type")

        def match(i: int) -> bool:
            run = self.data.workflow_at(i)
            ended = parse_time(run.get("ended_at"))
            if windowed and ended is None:
                return False  # runs without ended_at are excluded (SWAGGER-2024)
            if ended_from is not None and ended is not None and ended < ended_from:
                return False
            if ended_to is not None and ended is not None and ended >= ended_to:
                return False
            return state in {None, run["state"]} and wtype in {None, run["type"]}

        return match

    def _workflow(self, identifier: str, *, verbose: bool) -> dict[str, t.Any]:
        started = self.started_runs.get(identifier)
        return dict(started) if started else self.data.workflow(identifier, verbose=verbose)

    def _run_workflow(self, request: Request) -> Response:
        """run-workflow: 201 with the new Workflow, state scheduled [research 4.8]."""
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            raise HTTPError(400, "The request body must be JSON.") from None
        allowed = {"config_id", "range_from", "range_to", "run_mode"}
        if not isinstance(body, dict) or not isinstance(body.get("config_id"), str):
            raise HTTPError(400, "config_id is required.")
        if set(body) - allowed:
            raise HTTPError(400, f"Unknown fields: {', '.join(sorted(set(body) - allowed))}.")
        for name in ("range_from", "range_to"):
            if name in body and (not isinstance(body[name], str) or parse_time(body[name]) is None):
                raise HTTPError(400, f"Invalid {name}: use ISO-8601.")
        if "run_mode" in body and body["run_mode"] not in ("full", "refresh", "source"):
            raise HTTPError(400, "run_mode must be full, refresh or source.")
        now = time.time()
        day, number = time.strftime("%Y%m%d", time.gmtime(now)), 90000 + len(self.started_runs)
        run_id = f"wf-{day}-{number}-{code(random.getrandbits(36), 6)}"
        run = {"id": run_id, "state": "scheduled", "type": "courier.group/run",  # GUESS: type
               "name": body["config_id"], "tenant": TENANT, "created_at": iso(now),
               "task_instances": []}
        self.started_runs[run_id] = run
        return Response.json(201, run)

    def _stop_workflow(self, identifier: str) -> Response:
        """stop-workflow: 200 with the Workflow, 404 if unknown [research 4.9]."""
        run = self._workflow(identifier, verbose=False)
        if run.get("state") in {"running", "scheduled"}:
            run = {**run, "state": "stopping"}  # GUESS: the state a stopped run shows
            if identifier in self.started_runs:
                self.started_runs[identifier] = run
        return Response.json(200, run)

    def _ingest_jobs(self, request: Request) -> Response:
        """list-ingest-jobs: created_from/created_to required, no paging [research 4.5]."""
        if not request.arg("created_from") or not request.arg("created_to"):
            raise HTTPError(400, "created_from and created_to are required.")
        lo, hi = _times(request, "created_from", "created_to")
        if hi - lo > INGEST_MAX_WINDOW_SECONDS:  # type: ignore[operator]
            raise HTTPError(400, "created_from and created_to must be at most 7 days apart.")
        body: dict[str, t.Any] = {"data": self.data.ingest_jobs_between(lo, hi)}
        if parse_bool(request, "with_total"):
            body["total"] = len(body["data"])
        return Response.json(200, body)

    def _indexes(self, request: Request) -> Response:
        """list-indexes [OAS-profile]."""
        size = len(records.INDEXES)
        return self._list(request, kind="ix", lo=0, hi=size, size=size,
                          render=self.data.index_at, default_limit=PROFILE_DEFAULT_LIMIT)

    def _profiles(self, request: Request, index_id: str) -> Response:
        """list-profiles with filter[attr]=value (exact, AND) [OAS-profile, research 5]."""
        key = self.data.index_key(index_id)
        filters = {k[7:-1]: v[0] for k, v in request.query.items()
                   if k.startswith("filter[") and k.endswith("]")}
        total = self.data.profile_count(index_id)

        def matcher_for(filters: dict[str, str]) -> Matcher:
            unknown = sorted(set(filters) - set(records.INDEXES[key]["filter_fields"]))
            if unknown:  # GUESS: 400 for a field that is not a filter field
                raise HTTPError(400, f"Not filter fields of this index: {', '.join(unknown)}.")
            return lambda i: all(self.data.profile_at(index_id, key, i)["attributes"].get(k) == v
                                 for k, v in filters.items())

        if filters:
            matcher_for(filters)  # refuse unknown fields on the first page too
        page = cursor_page(request, kind=f"pr:{index_id}", lo=0, hi=total, size=total,
                           default_limit=PROFILE_DEFAULT_LIMIT, short_pages=self.short_pages,
                           filters=filters, matcher_for=matcher_for, newest_first=False)
        if filters or not page.indices:
            data = [self.data.profile_at(index_id, key, i) for i in page.indices]
            return Response.json(200, {"data": data, **page.tail})
        # The hot path: consecutive profiles rendered as text, once until the next /mutate.
        start, end = page.indices[0], page.indices[-1] + 1
        data = self.pages.get_or_build(
            (f"pr:{index_id}", start, end - start),
            lambda: self.data.profiles_page(index_id, key, start, end))
        return Response(200, _with_tail(data, page.tail))


def _with_tail(data: bytes, tail: dict[str, t.Any]) -> bytes:
    """``{"data":<data>,<tail>}``: the page body around an encoded ``data`` array."""
    if not tail:
        return b'{"data":' + data + b"}"
    return b'{"data":' + data + b"," + json.dumps(tail, separators=(",", ":")).encode()[1:]


def _pattern(parts: list[str]) -> tuple[str, ...] | None:
    """The route a path matches ("*" matches one non-empty segment)."""
    for pattern in ROUTES:
        if len(pattern) == len(parts) and all(
                p in {"*", s} and s for p, s in zip(pattern, parts, strict=True)):
            return pattern
    return None


def _times(request: Request, *names: str) -> tuple[float | None, ...]:
    """ISO-8601 query parameters (absent: None); a bad value is a 400."""
    values = []
    for name in names:
        raw = request.arg(name)
        value = parse_time(raw)
        if raw is not None and value is None:
            raise HTTPError(400, f"Invalid {name} {raw!r}: use ISO-8601.")
        values.append(value)
    return tuple(values)


def build(args: argparse.Namespace) -> AmperityAPI:
    """The emulator for ``tap-emulator amperity`` and its options."""
    return AmperityAPI(seed=args.seed, scale=args.scale, token_ttl=args.token_ttl,
                       rate_limit=parse_rate(args.rate_limit or DEFAULT_RATE_LIMIT),
                       short_pages=not args.no_short_pages,
                       version_error_status=args.api_version_error_status)

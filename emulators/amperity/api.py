"""The Amperity API and Profile API as documented, served under ``/api``.

Sources: the research note ``shared/research/amperity.md`` (sections cited per handler) and the
vendor's OpenAPI files ``control-plane-2024-04-01``, ``control-plane-unstable`` and
``openapi-profile-v2`` (operationIds cited). Behaviour no document backs is marked GUESS.
"""

from __future__ import annotations

import random
import time
import typing as t
import uuid

from emulators.amperity import records
from emulators.amperity.data import Timeline, iso, parse_time
from emulators.framework.http import HTTPError, Request, Response
from emulators.framework.limits import parse_rate
from emulators.framework.paging import decode_token, encode_token, page_size_for

if t.TYPE_CHECKING:
    import argparse

BASE_PATH = "/api"
DEFAULT_RATE_LIMIT = "10/1"  # Amperity API: 10 requests/second [research 2.5]

CONTROL_VERSIONS = {"2024-04-01"}
UNSTABLE_VERSIONS = {"2024-04-01", "unstable"}  # OAS-unstable enum
PROFILE_VERSIONS = {"2025-07-31"}
CONTROL_DEFAULT_LIMIT, PROFILE_DEFAULT_LIMIT = 100, 25  # GUESS (control); OAS-profile (25)
MAX_LIMIT = 1000  # GUESS: audit-events doc says "up to 1000 per response"; others undocumented
INGEST_MAX_WINDOW_SECONDS = 7 * 86400  # GUESS: wider windows are refused with 400
TENANT = "acme"
START_DATE_DAYS = 30


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
        self._tokens: dict[str, float] = {}  # OAuth token -> expiry (epoch seconds)
        self.data = records.Dataset(seed=seed, scale=scale, started=self.started)

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
        """Route a request (paths with or without a trailing slash, research 4)."""
        path = request.path.rstrip("/") or "/"
        if request.method == "POST" and path == "/api/v0/oauth2/token":
            return self._token(request)
        parts = path.split("/")[2:]  # after "/api"
        profile = bool(parts) and parts[0] == "indexes"
        self._authorize(request, profile=profile, unstable=parts == ["campaign-drafts"])
        route = (request.method, *parts)
        handler = {
            ("GET", "audit-events"): self._audit_events,
            ("GET", "campaigns"): self._campaigns,
            ("GET", "campaign-drafts"): self._campaign_drafts,
            ("GET", "segments"): self._segments,
            ("GET", "ingest", "jobs"): self._ingest_jobs,
            ("GET", "workflow", "runs"): self._workflow_runs,
            ("GET", "indexes"): self._indexes,
        }.get(route)
        if handler:
            return handler(request)
        if route[:3] == ("GET", "ingest", "jobs") and len(parts) == 3:
            return Response.json(200, self.data.ingest_job(parts[2]))
        if route[:3] == ("GET", "workflow", "runs") and len(parts) == 3:
            verbose = request.arg("view") == "verbose"
            return Response.json(200, self.data.workflow(parts[2], verbose=verbose))
        if route[:2] == ("GET", "indexes") and len(parts) == 2:
            return Response.json(200, self.data.index(parts[1]))
        if route[:2] == ("GET", "indexes") and len(parts) == 3 and parts[2] == "profiles":
            return self._profiles(request, parts[1])
        if route[:2] == ("GET", "indexes") and len(parts) == 4 and parts[2] == "profiles":
            return Response.json(200, self.data.profile(parts[1], parts[3]))
        raise HTTPError(404, "The requested entity does not exist.")

    def _token(self, request: Request) -> Response:
        """POST /api/v0/oauth2/token, form-encoded client credentials [research 3.2b]."""
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            raise HTTPError(400, "grant_type must be client_credentials")  # GUESS: body
        credentials = (form.get("client_id"), form.get("client_secret"))
        if credentials != (self.client_id, self.client_secret):
            raise HTTPError(401, "Invalid client credentials.")  # GUESS: status and body
        if _tenant(request) != TENANT:
            raise HTTPError(401, f"Invalid tenant {_tenant(request)!r} for these credentials.")
        token = f"amp-oauth-{random.getrandbits(128):032x}"
        self._tokens[token] = time.time() + self.token_ttl
        return Response.json(200, {"access_token": token, "expires_in": self.token_ttl,
                                   "token_type": "Bearer"})

    def _authorize(self, request: Request, *, profile: bool, unstable: bool) -> None:
        """Bearer token, tenant header and api-version [research 2.1, 2.2, 3.3]."""
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else ""
        if not token:
            raise HTTPError(401, "Missing bearer token.")
        if token != self.static_token:
            expiry = self._tokens.get(token)
            if expiry is None:
                raise HTTPError(401, "Invalid access token.")
            if expiry <= time.time():
                raise HTTPError(401, "The access token has expired.")
        tenant = _tenant(request)
        if tenant != TENANT:
            # GUESS: the docs name no status for a token used with another tenant.
            raise HTTPError(401, f"Invalid tenant {tenant!r}: the token belongs to another tenant.")
        # The header wins over the api_version query parameter (SWAGGER-2024 info).
        version = request.headers.get("api-version") or request.arg("api_version")
        allowed = PROFILE_VERSIONS if profile else CONTROL_VERSIONS
        if unstable:
            allowed = {"unstable"}  # /campaign-drafts exists only in the unstable API
        if not version:
            raise HTTPError(self.version_error_status, "Missing api-version header.")
        if version not in allowed:
            raise HTTPError(self.version_error_status,
                            f"Unsupported api-version {version!r}; supported: "
                            f"{', '.join(sorted(allowed))}.")

    # List endpoints ----------------------------------------------------------------------

    def _limit(self, request: Request, default: int) -> int:
        raw = request.arg("limit")
        if raw is None:
            return default
        try:
            limit = int(raw)
        except ValueError:
            raise HTTPError(400, f"Invalid limit {raw!r}: must be an integer.") from None
        if limit < 1:
            raise HTTPError(400, "limit must be at least 1.")
        return min(limit, MAX_LIMIT)  # GUESS: larger values are clamped, not refused

    def _page(self, request: Request, *, kind: str, lo: int, hi: int, default_limit: int,
              render: t.Callable[[int], dict], filters: dict[str, t.Any] | None = None) -> Response:
        """One cursor page over indices [lo, hi), newest first (GUESS: order undocumented).

        The token carries the range fixed at the first page and the original filters, so
        paging works whether or not the client resends them [research 2.3 UNKNOWN].
        """
        limit = self._limit(request, default_limit)
        token = request.arg("next_token")
        state = {"k": kind, "lo": lo, "hi": hi, "o": 0, "p": 0, "f": filters or {}}
        if token:
            decoded = decode_token(token)
            if decoded is None or decoded.get("k") != kind:
                raise HTTPError(400, "Invalid next_token.")  # GUESS: message
            state = decoded
        lo, hi, offset, page = state["lo"], state["hi"], state["o"], state["p"]
        take = page_size_for(page, limit, short_pages=self.short_pages)
        top = hi - offset
        indices = range(top - 1, max(top - take, lo) - 1, -1)
        body: dict[str, t.Any] = {"data": [render(i) for i in indices]}
        offset += len(indices)
        if offset < hi - lo:
            body["next_token"] = encode_token({**state, "o": offset, "p": page + 1})
        if request.arg("with_total") == "true":
            body["total"] = hi - lo
        return Response.json(200, body)

    def _window(self, request: Request, timeline: Timeline, frm: str, to: str) -> tuple[int, int]:
        start, end = request.arg(frm), request.arg(to)
        for name, raw in ((frm, start), (to, end)):
            if raw is not None and parse_time(raw) is None:
                raise HTTPError(400, f"Invalid {name} {raw!r}: use ISO-8601.")
        lo = timeline.first_at_or_after(parse_time(start))
        hi = timeline.first_at_or_after(parse_time(end)) if end else len(timeline)
        return lo, max(hi, lo)

    def _audit_events(self, request: Request) -> Response:
        """list-events: happened_from inclusive, happened_to exclusive [research 4.1]."""
        timeline = self.data.audit
        lo, hi = self._window(request, timeline, "happened_from", "happened_to")
        return self._page(request, kind="ae", lo=lo, hi=hi, default_limit=CONTROL_DEFAULT_LIMIT,
                          render=self.data.audit_event)

    def _campaigns(self, request: Request) -> Response:
        """list-campaign [research 4.2] (destination_data_template_id: accepted, GUESS no-op)."""
        return self._page(request, kind="cc", lo=0, hi=len(self.data.campaigns_t),
                          default_limit=CONTROL_DEFAULT_LIMIT, render=self.data.campaign)

    def _campaign_drafts(self, request: Request) -> Response:
        """list-campaign-draft, unstable API only [research 4.3]."""
        return self._page(request, kind="cd", lo=0, hi=len(self.data.drafts_t),
                          default_limit=CONTROL_DEFAULT_LIMIT, render=self.data.campaign_draft)

    def _segments(self, request: Request) -> Response:
        """list-segment [research 4.4]."""
        return self._page(request, kind="sg", lo=0, hi=len(self.data.segments_t),
                          default_limit=CONTROL_DEFAULT_LIMIT, render=self.data.segment)

    def _workflow_runs(self, request: Request) -> Response:
        """list-workflows: created_* and ended_* windows, state, type [research 4.6]."""
        timeline = self.data.workflows
        lo, hi = self._window(request, timeline, "created_from", "created_to")
        ended_from = parse_time(request.arg("ended_from"))
        ended_to = parse_time(request.arg("ended_to"))
        state, wtype = request.arg("state"), request.arg("type")
        if ended_from is None and ended_to is None and state is None and wtype is None:
            return self._page(request, kind="wf", lo=lo, hi=hi,
                              default_limit=CONTROL_DEFAULT_LIMIT, render=self.data.workflow_at)
        # Filtered listing: a single full page of matches (small in practice). GUESS.
        matches = []
        for i in range(hi - 1, lo - 1, -1):
            run = self.data.workflow_at(i)
            ended = parse_time(run.get("ended_at"))
            if (ended_from is not None or ended_to is not None) and ended is None:
                continue  # runs without ended_at are excluded (SWAGGER-2024)
            if ended_from is not None and ended is not None and ended < ended_from:
                continue
            if ended_to is not None and ended is not None and ended >= ended_to:
                continue
            if state is not None and run["state"] != state:
                continue
            if wtype is not None and run["type"] != wtype:
                continue
            matches.append(run)
        return Response.json(200, {"data": matches})

    def _ingest_jobs(self, request: Request) -> Response:
        """list-ingest-jobs: created_from/created_to required, no paging [research 4.5]."""
        start, end = request.arg("created_from"), request.arg("created_to")
        if not start or not end:
            raise HTTPError(400, "created_from and created_to are required.")
        lo, hi = parse_time(start), parse_time(end)
        if lo is None or hi is None:
            raise HTTPError(400, "created_from and created_to must be ISO-8601 timestamps.")
        if hi - lo > INGEST_MAX_WINDOW_SECONDS:
            raise HTTPError(400, "created_from and created_to must be at most 7 days apart.")
        body: dict[str, t.Any] = {"data": self.data.ingest_jobs_between(lo, hi)}
        if request.arg("with_total") == "true":
            body["total"] = len(body["data"])
        return Response.json(200, body)

    def _indexes(self, request: Request) -> Response:
        """list-indexes [OAS-profile]."""
        return self._page(request, kind="ix", lo=0, hi=len(records.INDEXES),
                          default_limit=PROFILE_DEFAULT_LIMIT, render=self.data.index_at)

    def _profiles(self, request: Request, index_id: str) -> Response:
        """list-profiles with filter[attr]=value (exact, AND) [OAS-profile, research 5]."""
        key = self.data.index_key(index_id)
        filters = {k[7:-1]: v[0] for k, v in request.query.items()
                   if k.startswith("filter[") and k.endswith("]")}
        if filters:
            return self._filtered_profiles(request, index_id, key, filters)
        limit = self._limit(request, PROFILE_DEFAULT_LIMIT)
        total = self.data.profile_count(index_id)
        token = request.arg("next_token")
        state = {"k": f"pr:{index_id}", "o": 0, "p": 0}
        if token:
            decoded = decode_token(token)
            if decoded is None or decoded.get("k") != state["k"]:
                raise HTTPError(400, "Invalid next_token.")
            state = decoded
        offset, page = state["o"], state["p"]
        take = page_size_for(page, limit, short_pages=self.short_pages)
        end = min(offset + take, total)
        body = self.data.profiles_page(index_id, key, offset, end)
        if end < total:
            token_text = encode_token({**state, "o": end, "p": page + 1})
            body = body[:-1] + b',"next_token":"' + token_text.encode() + b'"}'
        if request.arg("with_total") == "true":
            body = body[:-1] + b',"total":' + str(total).encode() + b"}"
        return Response(200, body)

    def _filtered_profiles(self, request: Request, index_id: str, key: int,
                           filters: dict[str, str]) -> Response:
        allowed = records.INDEXES[key]["filter_fields"]
        unknown = sorted(set(filters) - set(allowed))
        if unknown:  # GUESS: 400 for a field that is not a filter field
            raise HTTPError(400, f"Not filter fields of this index: {', '.join(unknown)}.")
        total = self.data.profile_count(index_id)
        matches = [p for p in (self.data.profile_at(index_id, key, i) for i in range(total))
                   if all(p["attributes"].get(k) == v for k, v in filters.items())]
        limit = self._limit(request, PROFILE_DEFAULT_LIMIT)
        return Response.json(200, {"data": matches[:limit]})  # GUESS: one page of matches


def _tenant(request: Request) -> str | None:
    """``Amperity-Tenant`` (specs: ``amperity-tenant``) or the older ``X-Amperity-Tenant``."""
    return request.headers.get("amperity-tenant") or request.headers.get("x-amperity-tenant")


def build(args: argparse.Namespace) -> AmperityAPI:
    """The emulator for ``tap-emulator amperity`` and its options."""
    return AmperityAPI(seed=args.seed, scale=args.scale, token_ttl=args.token_ttl,
                       rate_limit=parse_rate(args.rate_limit or DEFAULT_RATE_LIMIT),
                       short_pages=not args.no_short_pages,
                       version_error_status=args.api_version_error_status)

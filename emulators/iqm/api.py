"""The IQM REST API as documented, served at the root (paths carry ``/api/v3/...``).

Sources: the research note ``shared/research/iqm.md`` (sections cited) and IQM's per-service
OpenAPI files ``mcp-cmp``, ``mcp-creative``, ``mcp-audience``, ``mcp-conversion``,
``mcp-reports``, ``mcp-master``, ``mcp-user`` (operationIds cited); the legacy v2 campaign
lists follow ``openapi-org``. Behaviour no document backs is marked GUESS.
"""

from __future__ import annotations

import time
import typing as t

from emulators.framework.cache import BodyCache
from emulators.framework.http import HTTPError, Request, Response
from emulators.framework.limits import parse_rate
from emulators.iqm import catalog
from emulators.iqm.auth import Authenticator
from emulators.iqm.data import Dataset
from emulators.iqm.errors import SERVER_ERROR, IQMError, envelope, json_body, query_int
from emulators.iqm.lists import (
    AUDIENCE_FIELDS,
    CAMPAIGN_FIELDS,
    CREATIVE_FIELDS,
    IO_FIELDS,
    ODD_ORDER,
    Lists,
    Page,
)
from emulators.iqm.reports import Reports

if t.TYPE_CHECKING:
    import argparse

BASE_PATH = ""
DEFAULT_RATE_LIMIT = "20/60"  # "20 requests per minute" [research 1.2]
TOKEN_PATH = "/api/v3/ua/oauth/token"  # noqa: S105 (a path)
EXECUTE_FIELDS = {"id": "int32", "reportName": "str", "startDate": "int64", "endDate": "int64",
                  "dimensions": "str", "customerIds": ("list", "int32", False),
                  "columns": ("list", "str", False), "timezoneId": "int32",
                  "requestType": "int32", "reportAggregated": "str", "owId": "int32",
                  "timezoneName": "str", "resultType": "str", "fileType": "int32",
                  "filters": "obj", "internalRequest": "bool", "pageNo": "int32",
                  "noOfEntries": "int32", "sortBy": "str", "searchField": "str"}
REPORT_LIST_FIELDS = {"pageNo": "int32", "noOfEntries": "int32", "sortBy": "str",
                      "searchField": "str", "customerIds": "str", "owId": "int32",
                      "uowId": "int32", "sortCriteriaMap": "strmap", "order": ODD_ORDER}
#: path -> (methods, the spec's 403 text). mcp-cmp writes "Forbidden!", the others
#: "Forbidden !" (research 10); GUESS: master and the v2 lists (no 403 documented).
ROUTES: dict[str, tuple[str, str]] = {
    TOKEN_PATH: (("POST",), ""),
    "/api/v3/ua/user/ow-id": (("GET",), ""),
    "/api/v3/master/timezones": (("GET",), "Forbidden!"),
    "/api/v3/cmp/basic/list": (("POST",), "Forbidden!"),
    "/api/v3/cmp/io/basic/list": (("POST",), "Forbidden!"),
    "/api/v3/crt/creatives/list": (("POST",), "Forbidden !"),
    "/api/v3/audience/list": (("POST",), "Forbidden !"),
    "/api/v3/conversion/list": (("GET",), "Forbidden !"),
    "/api/v3/ra/reports/list": (("GET", "POST"), "Forbidden !"),
    "/api/v3/ra/report/dimension-metrics/detail": (("GET",), "Forbidden !"),
    "/api/v3/ra/report/execute": (("POST",), "Forbidden !"),
    "/api/v2/cmp/campaigns/list": (("GET",), "Forbidden!"),
    "/api/v2/cmp/campaigns/data": (("GET",), "Forbidden!"),
}


#: Paths whose 200 answers are cached (errors are raised, so never cached).
CACHED_PATHS = frozenset({
    "/api/v3/ra/report/execute", "/api/v3/cmp/basic/list", "/api/v3/cmp/io/basic/list",
    "/api/v3/crt/creatives/list", "/api/v3/audience/list", "/api/v3/conversion/list",
    "/api/v3/ra/reports/list"})


def _json(status: int, payload: t.Any) -> Response:
    return Response.json(status, payload)


def _ok(data: t.Any) -> Response:
    return _json(200, {"success": True, "data": data})


def _listed(key: str, page: Page) -> Response:
    return _ok({key: page.rows, "totalRecords": page.total, "filteredRecords": page.filtered})


class IQMAPI:
    """All state of one emulated IQM account."""

    name = "iqm"

    def __init__(self, *, seed: int, scale: int, token_ttl: int, rate_limit: tuple[int, float],
                 token_response: str) -> None:
        """Generate nothing up front: records come from (seed, index) on demand."""
        self.started = time.time()
        self._rate_limit = rate_limit
        self.data = Dataset(seed=seed, scale=scale, started=self.started)
        self.lists = Lists(self.data)
        self.reports = Reports(self.data)
        self.auth = Authenticator(seed=seed, token_ttl=token_ttl, token_response=token_response)
        #: Encoded list and report pages by (path, workspace, data version, request).
        self.pages = BodyCache()

    # Framework hooks ---------------------------------------------------------------------

    def rate_limits(self) -> dict[str, tuple[int, float]]:
        """One window for the account [research 1.2]."""
        return {"minute": self._rate_limit}

    def rate_group(self, path: str) -> str | None:
        """GUESS: every request counts, the token endpoint too (the docs name no exception)."""
        return "minute"

    def rate_limited(self, request: Request, retry_after_seconds: float) -> Response:
        """429 with no ``Retry-After`` (none is documented); GUESS: the body."""
        return self.error(request, 429, "Too many requests")

    def first_line(self, base_url: str) -> dict[str, t.Any]:
        """A complete tap config and every accepted credential set."""
        main, other = self.auth.users.values()
        limit, seconds = self._rate_limit
        client = {"client_id": self.auth.client_id, "client_secret": self.auth.client_secret}
        return {
            "tap_config": {"api_url": base_url, **client, "username": main.username,
                           "password": main.password, "start_date": self._start_date(),
                           "request_timeout_seconds": 5,
                           "max_requests_per_minute": max(int(limit * 60 / seconds), 1)},
            "auth": {
                "client": client,
                "password": {"username": main.username, "password": main.password,
                             "ow_id": main.ow_id},
                "other_workspace": {"username": other.username, "password": other.password,
                                    "ow_id": other.ow_id},
                "token_response": self.auth.token_response,
                "token_ttl": self.auth.token_ttl,
            },
        }

    def _start_date(self) -> str:
        day = self.data.start_day * 86400
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day))

    def counts(self) -> dict[str, int]:
        """Records per tap stream.

        ``campaign_daily_report``: (UTC day, campaign) pairs with impressions from
        start_date's day through today (UTC).
        """
        counts = {stream: self.data.total(stream) for stream in self.data.base}
        counts["campaign_daily_report"] = self.reports.delivering_days(
            self.data.start_day, int(time.time() // 86400))
        return counts

    def mutate(self, count: int) -> dict[str, t.Any]:
        """Rename ``count`` records and add ``count`` per stream (added ones never deliver)."""
        report = self.data.mutate(count, time.time())
        self.pages.clear()
        return {**report, "counts": self.counts()}

    def error(self, request: Request, status: int, message: str) -> Response:
        """The framework's errors (faults, bugs) in the path's envelope."""
        if status == 500:
            message = SERVER_ERROR
        if request.path.startswith("/api/v2/"):  # GUESS: v2 errors in the v2 envelope
            return _json(status, {"statusCode": status, "responseObject": {
                "errorMsg": message, "errorCode": status}})
        return _json(status, envelope(message))

    # Requests ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Route one request."""
        try:
            return self._route(request)
        except IQMError as exc:
            if request.path.startswith("/api/v2/") and "success" in exc.body:
                return self.error(request, exc.status, exc.message)
            return _json(exc.status, exc.body)

    def _route(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        route = ROUTES.get(path)
        if route is None:
            raise IQMError(404, "Not found")  # GUESS: body
        methods, forbidden = route
        if request.method not in methods:  # GUESS: body
            raise HTTPError(405, "Method not allowed", headers=[("Allow", ", ".join(methods))])
        if path == TOKEN_PATH:
            return _json(200, self.auth.token(request))
        user = self.auth.user(request)
        if path == "/api/v3/ua/user/ow-id":  # needs no X-IAA-OW-ID [MCP-user]
            return _ok(user.ow_id)
        ow_id = self.auth.workspace(request, user, forbidden)
        if path == "/api/v3/master/timezones":
            rows = [{"name": n, "id": i, "label": label}
                    for i, (n, label) in catalog.TIMEZONES.items()]
            return _ok({"data": rows, "totalRecords": len(rows), "filteredRecords": len(rows)})
        if path == "/api/v3/ra/report/dimension-metrics/detail":
            return _ok(catalog.dimension_metrics())
        if path in CACHED_PATHS:
            # A list page or report page depends only on the data, the workspace and the
            # request: its body is encoded once until /mutate changes the data.
            key = (path, request.method, ow_id, self.data.version, request.body,
                   tuple(sorted((k, tuple(v)) for k, v in request.query.items())))
            return Response(200, self.pages.get_or_build(
                key, lambda: self._answer(request, path, ow_id).body))
        return self._answer(request, path, ow_id)

    def _answer(self, request: Request, path: str, ow_id: int) -> Response:
        """A report page or a list page (every other path is a legacy v2 one)."""
        if path == "/api/v3/ra/report/execute":
            body = json_body(request, EXECUTE_FIELDS, nullable=frozenset({"customerIds"}))
            if ow_id != self.data_owner():
                body = {**body, "customerIds": [-1]}  # GUESS: another workspace has no data
            return _ok(self.reports.execute(body))
        return self._list(request, path, ow_id)

    def data_owner(self) -> int:
        """The workspace holding the generated objects."""
        return next(iter(self.auth.users.values())).ow_id

    def _list(self, request: Request, path: str, ow_id: int) -> Response:
        lists = self.lists
        if path == "/api/v3/cmp/basic/list":
            return _listed("data", lists.campaigns(json_body(request, CAMPAIGN_FIELDS), ow_id))
        if path == "/api/v3/cmp/io/basic/list":
            page = lists.insertion_orders(json_body(request, IO_FIELDS), ow_id)
            return _listed("ioBasicDetailsList", page)
        if path == "/api/v3/crt/creatives/list":
            body = json_body(request, CREATIVE_FIELDS, nullable=frozenset({"creativeGroupId"}),
                             required=False)  # the only one whose body is optional
            return _listed("filteredList", lists.creatives(body, ow_id))
        if path == "/api/v3/audience/list":
            return _listed("audienceList", lists.audiences(json_body(request, AUDIENCE_FIELDS),
                                                           ow_id))
        if path == "/api/v3/conversion/list":
            query = {"limit": query_int(request, "limit", 20),
                     "pageNo": query_int(request, "pageNo", 1),
                     "sortBy": request.arg("sortBy", "-created"),
                     **{k: request.arg(k, "") or "" for k in (
                         "searchField", "conversionIds", "typeIds", "statusIds")}}
            return _listed("data", lists.conversions(query, ow_id))
        if path == "/api/v3/ra/reports/list" and request.method == "POST":
            body = json_body(request, REPORT_LIST_FIELDS)  # fetchReportList
            query = {"limit": body.get("noOfEntries", 20), "pageNo": body.get("pageNo", 1),
                     "sortBy": body.get("sortBy") or "-modifyDate",
                     "searchField": body.get("searchField") or ""}
            return _listed("data", lists.saved_reports(query, ow_id))
        if path == "/api/v3/ra/reports/list":
            query = {"limit": query_int(request, "limit", 20),
                     "pageNo": query_int(request, "pageNo", 1),
                     "sortBy": request.arg("sortBy", "-modifyDate"),
                     "searchField": request.arg("searchField", "") or ""}
            return _listed("data", lists.saved_reports(query, ow_id))
        return self._legacy(request, path, ow_id)

    def _legacy(self, request: Request, path: str, ow_id: int) -> Response:
        """The v2 campaign lists: DataTables-style with string ids, and ``responseObject``."""
        legacy = path.endswith("/list")
        size = query_int(request, "no_of_entries" if legacy else "limit", 50 if legacy else 10)
        page = max(query_int(request, "pgno" if legacy else "pageNo", 1), 1)
        size = max(min(size, 1000), 1)  # GUESS: clamped, not refused
        total = self.data.total("campaigns") if ow_id == self.data_owner() else 0
        chosen = range(total)[(page - 1) * size:page * size]
        if legacy:
            return _json(200, {"statusCode": 200, "recordsTotal": total, "pageNumber": page,
                               "pageSize": size, "draw": 0, "recordsFiltered": total,
                               "data": [self.data.legacy_campaign(i) for i in chosen]})
        rows = []
        for i in chosen:
            row = self.data.campaign(i)
            rows.append({"id": row["campaignId"], "name": row["name"],
                         "creativeTypeId": row["creativeTypeId"], "campaignType": "CPM",
                         "status": row["status"], "advertiserId": ow_id,
                         "created": row["createdAt"], "modifiedDate": row["modifiedAt"]})
        return _json(200, {"statusCode": 200, "responseObject": {
            "totalRecords": total, "data": rows, "filteredRecords": total}})


def build(args: argparse.Namespace) -> IQMAPI:
    """The emulator for ``tap-emulator iqm`` and its options."""
    return IQMAPI(seed=args.seed, scale=args.scale, token_ttl=args.token_ttl,
                  rate_limit=parse_rate(args.rate_limit or DEFAULT_RATE_LIMIT),
                  token_response=getattr(args, "token_response", None) or "mixed")

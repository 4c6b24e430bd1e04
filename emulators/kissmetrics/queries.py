"""Query API v2: run a saved report, poll its status, page its results [research 3].

``POST /v2/products/{pid}/reports/{rid}/run`` -> 202 + ``Location`` of the status ->
``GET /v2/queries/{qid}/status`` 200 ``{completed: false, progress}`` for ``--query-polls``
polls -> 201 + ``Location`` of the results -> ``GET /v2/queries/{qid}/results?limit&offset``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import typing as t
import uuid
from collections import Counter
from dataclasses import dataclass, field

import msgspec

from emulators.framework.cache import BodyCache
from emulators.framework.http import HTTPError, Request, Response
from emulators.framework.rand import mix
from emulators.kissmetrics.model import RUNNABLE, Dataset
from emulators.kissmetrics.people import MAX_WINDOW_DAYS, People

RESULT_PAGES_BUDGET_BYTES = 64 << 20
RESULTS_DEFAULT_LIMIT = 50  # the docs' example and ISSUE#145's self link
NOT_RUNNABLE = "Error initializing report: Only people search reports supported at this time."
NO_CACHE = [("Cache-Control", "no-cache")]  # on the 202 [KMS:update]
REVALIDATE = [("Cache-Control", "max-age=0, private, must-revalidate")]
_ENCODER = msgspec.json.Encoder()
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?"
                  r"\s*(Z|[+-]\d\d:?\d\d)?$")


def meta_error(status: int, message: str) -> dict[str, t.Any]:
    """The only v2 error shape seen: ``{meta: {status, message}}`` [research 5]."""
    return {"meta": {"status": status, "message": message}}


def link_header(links: list[dict[str, t.Any]]) -> tuple[str, str]:
    """``Link: <href>; rel="x"; templated="false",...`` [ISSUE#145]."""
    parts = [f'<{x["href"]}>; rel="{x["rel"]}"; templated="{str(x["templated"]).lower()}"'
             for x in links]
    return ("Link", ",".join(parts))


def _link(href: str, rel: str, name: str) -> dict[str, t.Any]:
    return {"name": name, "rel": rel, "href": href, "templated": False}


def parse_time(value: t.Any, zone: dt.tzinfo) -> float | None:
    """ISO-8601 with ``Z``, ``+HH:MM`` or ``+HHMM`` (KISSR's form) -> epoch seconds.

    GUESS: integer Unix seconds are accepted too (the doc prose says so, the example is
    ISO); a time without an offset is read in the product's time zone.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _ISO.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute),
                             int(second or 0))
    except ValueError:
        return None
    if offset is None:
        return moment.replace(tzinfo=zone).timestamp()
    if offset == "Z":
        return moment.replace(tzinfo=dt.timezone.utc).timestamp()
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.replace(tzinfo=dt.timezone(sign * delta)).timestamp()


def utc_text(epoch: float) -> str:
    """A window bound as the /stats key writes it."""
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Query:
    """One started query."""

    qid: str
    report: int
    product: int
    v3: bool
    start: float
    end: float
    problem: str | None
    polls: int = 0
    rows: list[t.Any] | None = field(default=None, repr=False)

    def completed(self, polls_needed: int) -> bool:
        """Done once it has been polled ``polls_needed`` times (never for a problem)."""
        return self.problem is None and self.polls > polls_needed


class Queries:
    """Every query started on this emulator, and the counters /stats shows."""

    def __init__(self, data: Dataset, people: People, *, polls: int, limit_cap: int,
                 now: t.Callable[[], float]) -> None:
        """``polls``: 200 answers before the 201; ``limit_cap``: the largest results page."""
        self.data, self.people = data, people
        self.polls, self.limit_cap, self.now = polls, limit_cap, now
        self.queries: dict[str, Query] = {}
        self.runs: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        #: Encoded result pages (a tap reads each once; a second reader gets them again).
        self.pages = BodyCache(RESULT_PAGES_BUDGET_BYTES)

    def stats(self) -> dict[str, t.Any]:
        """``query_runs``: run requests the server acted on, per "report_id start end"."""
        return {"query_runs": dict(self.runs), "queries_started": len(self.queries),
                **{f"query_{k}": v for k, v in self.counters.items()}}

    # Run -----------------------------------------------------------------------------------

    def run(self, request: Request, product_id: str, report_id: str) -> Response:
        """Start a query; 202 with ``Location`` of its status [KMS:update]."""
        report = self.data.index_of("reports", report_id)
        product = self.data.index_of("products", product_id)
        if report is None or product is None or report % self.data.products != product:
            # GUESS: text (the v1 404 said "Invalid report_guid provided: report not found.")
            raise HTTPError(404, "Invalid report id provided: report not found.")
        if self.data.report_type(report) not in RUNNABLE:
            raise HTTPError(400, NOT_RUNNABLE)  # ISSUE#150
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            raise HTTPError(400, "The request body must be JSON.") from None  # GUESS
        if not isinstance(body, dict):
            raise HTTPError(400, "start_date and end_date are required.")  # GUESS
        zone = self.people.tz(product)
        start = parse_time(body.get("start_date"), zone)
        end = parse_time(body.get("end_date"), zone)
        if start is None or end is None:
            raise HTTPError(400, "start_date and end_date are required: ISO-8601 with an "
                                 "offset, e.g. 2015-06-02T20:00:00-04:00.")  # GUESS
        if end < start or end - start > MAX_WINDOW_DAYS * 86400:
            raise HTTPError(400, f"end_date must follow start_date, at most {MAX_WINDOW_DAYS} "
                                 "days later.")  # GUESS
        qid = str(uuid.UUID(int=mix(self.data.seed, 601, len(self.queries)) << 64
                            | mix(self.data.seed, 602, len(self.queries)), version=4))
        v3 = self.data.report_type(report) == "people_search_v3"
        self.queries[qid] = Query(qid, report, product, v3, start, end,
                                  self.data.problem_reports.get(report))
        self.runs[f"{report_id} {utc_text(start)} {utc_text(end)}"] += 1
        status_url = f"{request.url_root}/v2/queries/{qid}/status"
        return Response.json(202, {"meta": {"status": 202}, "data": {"message": "success"},
                                   "links": [_link(status_url, "query-status", "Status")]},
                             [("Location", status_url), *NO_CACHE])

    # Status --------------------------------------------------------------------------------

    def _query(self, qid: str) -> Query:
        query = self.queries.get(qid)
        if query is None:
            raise HTTPError(404, "Query not found.")  # GUESS: text; queries never expire
        return query

    def status(self, request: Request, qid: str) -> Response:
        """200 while running (progress 0 -> 1), then 201 + ``Location`` of the results."""
        query = self._query(qid)
        query.polls += 1
        self.counters["status_polls"] += 1
        base = f"{request.url_root}/v2/queries/{qid}"
        links = [_link(f"{base}/status", "self", "Self")]
        done_polls = self.polls
        if query.problem == "failing" and query.polls > done_polls:
            return self._failed(query, base)
        if query.completed(done_polls):
            links.append(_link(f"{base}/results", "query-results", "Results"))
            return Response.json(201, {"meta": {"status": 201},
                                       "data": {"completed": True, "progress": 1.0},
                                       "links": links},
                                 [("Location", f"{base}/results"), link_header(links),
                                  *REVALIDATE])
        progress = (query.polls - 1) / done_polls if done_polls else 0.0
        if query.problem == "stuck":  # GUESS: creeps towards 0.9, never completes
            progress = 0.9 * (1 - 0.5 ** (query.polls - 1))
        return Response.json(200, {"meta": {"status": 200},
                                   "data": {"completed": False, "progress": round(progress, 6)},
                                   "links": links}, [link_header(links), *REVALIDATE])

    def _failed(self, query: Query, base: str) -> Response:
        """GUESS (v2 failure undocumented): 500, ``meta.message`` and v1's ``error`` key.

        Answered on every poll from the one that would have completed the query.
        """
        message = "Query failed: the report could not be computed."
        links = [_link(f"{base}/status", "self", "Self")]
        return Response.json(500, {"meta": {"status": 500, "message": message},
                                   "data": {"completed": False, "progress": 0.5,
                                            "error": message}, "links": links})

    # Results -------------------------------------------------------------------------------

    def _rows(self, query: Query) -> list[t.Any]:
        if query.rows is None:
            now = self.now()
            days = (self.people.v3_days(query.product, now) if query.v3 else
                    self.people.window_days(query.product, query.start, query.end, now))
            query.rows = self.people.rows(query.report, query.product, days, now, v3=query.v3)
        return query.rows

    def _ready(self, qid: str, base: str) -> Query:
        query = self._query(qid)
        if query.problem == "failing" and query.polls > self.polls:
            raise HTTPError(500, "Query failed: the report could not be computed.")
        if not query.completed(self.polls):
            raise HTTPError(409, "Query has not completed yet.")  # GUESS: status and text
        return query

    def results(self, request: Request, qid: str) -> Response:
        """A page of rows; ``limit`` above the cap is cut to it (GUESS: silently)."""
        base = f"{request.url_root}/v2/queries/{qid}"
        query = self._ready(qid, base)
        self.counters["results_pages"] += 1
        limit = min(_int(request, "limit", RESULTS_DEFAULT_LIMIT), self.limit_cap)
        offset = _int(request, "offset", 0)
        rows = self._rows(query)
        links = [_link(f"{base}/results?limit={limit}&offset={offset}", "self", "Self"),
                 _link(f"{base}/export", "export", "Export")]
        # A completed query's rows never change: each page is encoded once.
        body = self.pages.get_or_build((qid, base, limit, offset), lambda: _ENCODER.encode(
            {"meta": {"status": 200}, "data": rows[offset:offset + limit],
             "pagination": {"limit": limit, "offset": offset, "total": len(rows)},
             "links": links}))
        return Response(200, body, [link_header(links), *REVALIDATE])

    def export(self, request: Request, qid: str) -> Response:
        """GUESS (undocumented): the whole result as CSV with a header row."""
        query = self._ready(qid, "")
        kinds = self.people.columns(query.report)
        lines = [",".join(["KMID", "Person", *kinds])] if not query.v3 else \
            [",".join(["Person", *kinds])]
        for row in self._rows(query):
            values = [row["identity"], *row["columns"]] if query.v3 else row
            lines.append(",".join("" if v is None else str(v) for v in values))
        return Response.text(200, "\n".join(lines) + "\n", content_type="text/csv; charset=utf-8")


def _int(request: Request, name: str, default: int) -> int:
    raw = request.arg(name)
    if raw in {None, ""}:
        return default
    try:
        value = int(raw)  # type: ignore[arg-type]
    except ValueError:
        raise HTTPError(400, f"{name} must be an integer.") from None  # GUESS
    if value < (1 if name == "limit" else 0):
        raise HTTPError(400, f"{name} must be at least {1 if name == 'limit' else 0}.")
    return value

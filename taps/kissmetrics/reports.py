"""``report_results``: people-search reports run per local-day window via Query API v2.

Each window: POST run (once) -> 202 ``Location`` of the status -> poll while 200
``{completed: false, progress}`` -> 201 ``Location`` of the results -> pages of
``limit``/``offset`` until ``pagination.total``. Several windows' queries run on the server
at once (``max_concurrent_queries``); records and bookmarks follow window order.
"""

from __future__ import annotations

import datetime as dt
import time
import typing as t
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from taps.kissmetrics.client import KissmetricsStream
from taps.kissmetrics.columns import RowReader
from taps.kissmetrics.streams import Products, Reports
from taps.shared.body import decoded_body, dig
from taps.shared.days import DayWindow, WindowBookmarks, day_windows, load_zone, today_in
from taps.shared.errors import ConfigurationError
from taps.shared.jobs import AsyncJobRunner, JobStatus
from taps.shared.paging import OffsetPaginator
from taps.shared.settings import parse_timestamp
from taps.shared.timestamps import format_utc

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from zoneinfo import ZoneInfo

    from singer_sdk.helpers.types import Context

RUNNABLE = ("people_search_v2", "people_search_v3")
#: Unnamed columns declared in the schema (more still pass: additionalProperties).
DECLARED_UNNAMED_COLUMNS = 20
DEFAULT_FIRST_RUN_DAYS = 30


class QueryFailedError(FatalAPIError):
    """The server says the query itself failed (not a transient error): never retried."""


@dataclass(frozen=True)
class Plan:
    """One report to run: its ids, type, name and product time zone."""

    report_id: str
    product_id: str
    report_type: str
    name: str
    zone: ZoneInfo

    @property
    def v3(self) -> bool:
        """people_search_v3 reports ignore the posted window (ISSUE#150)."""
        return self.report_type == "people_search_v3"


@dataclass
class Query:
    """One window's query on the server, as far as it got."""

    window: DayWindow
    started: float
    status_url: str | None = None
    results_url: str | None = None
    error: FatalAPIError | None = None
    polls: int = 0


def report_plans(stream: KissmetricsStream) -> list[Plan]:
    """The reports ``report_results`` runs: ``report_ids``, else every people search.

    Reads ``/core/reports`` and ``/core/products`` (for the time zones) whatever the
    catalog selects. Unknown ids fail; reports that cannot run are skipped with a warning.
    """
    tap = stream._tap
    reports = {r["id"]: r for r in Reports(tap=tap).get_records(None)}
    zones = {p["id"]: p.get("timezone") for p in Products(tap=tap).get_records(None)}
    configured = stream.config.get("report_ids")  # None: all people searches; []: none
    wanted = list(configured or [])
    unknown = [rid for rid in wanted if rid not in reports]
    if unknown:
        msg = (f"report_ids lists {', '.join(unknown)}, which /core/reports does not list for "
               "this token: check the ids (the reports stream shows them)")
        raise ConfigurationError(msg)
    plans = []
    for rid in wanted if configured is not None else list(reports):
        report = reports[rid]
        rtype = str(report.get("report_type") or "")
        name = f"{report.get('name')!r} ({rid})"
        if rtype not in RUNNABLE:
            stream.logger.warning("report_results: skipping report %s: its type %s cannot be "
                                  "run (the API runs only people_search_v2/v3 reports)",
                                  name, rtype or "(none)")
            continue
        zone_name = zones.get(report.get("product_id")) or "UTC"
        try:
            zone = load_zone(zone_name, setting=f"timezone of product {report.get('product_id')}")
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        plans.append(Plan(rid, str(report.get("product_id")), rtype, name, zone))
    return plans


def group_days(days: list[DayWindow], size: int) -> list[DayWindow]:
    """Consecutive local days in windows of ``size`` days (the last may be shorter)."""
    return [DayWindow(days[k].day, days[k].start, days[min(k + size, len(days)) - 1].end)
            for k in range(0, len(days), size)]


class ReportResults(WindowBookmarks, KissmetricsStream):
    """Rows of people-search reports, one query per report and local-day window.

    Partitioned by report; the bookmark is the start of the window after the last completed
    one (UTC), so an empty window advances it and a crash re-runs at most the windows in
    flight. people_search_v3 reports run once per sync (today's window) and are marked
    ``date_range_ignored``; their rows have no KMID, so ``person_key`` is
    ``identity:<identity>`` for them and the KMID otherwise.
    """

    name = "report_results"
    url_setting = "query_api_url"
    primary_keys = ("report_id", "window_start", "person_key")
    replication_key = "window_start"
    is_sorted = True
    state_partitioning_keys = ("report_id",)

    @cached_property
    def plans(self) -> dict[str, Plan]:
        """The reports to run, by id (read from the Core API once)."""
        return {p.report_id: p for p in report_plans(self)}

    @property
    @override
    def partitions(self) -> list[dict] | None:
        return [{"report_id": rid} for rid in self.plans]

    @property
    @override
    def schema(self) -> dict:
        schema = dict(super().schema)
        columns = dict.fromkeys(n for names in (self.config.get("report_columns") or {})
                                .values() for n in names)
        columns.update(dict.fromkeys(f"column_{k}" for k in range(
            1, DECLARED_UNNAMED_COLUMNS + 1)))
        extra = {n: {"type": ["string", "integer", "number", "boolean", "null"],
                     "description": "A report column (named by report_columns, else "
                                    "column_<n> in report order)."} for n in columns
                 if n not in schema["properties"]}
        return {**schema, "properties": {**schema["properties"], **extra}}

    @override
    def windows(self, context: Context | None) -> list[DayWindow]:
        plan = self.plans[str((context or {}).get("report_id"))]
        today = today_in(plan.zone)
        if plan.v3:
            return day_windows(today, today, plan.zone)
        bookmark = self.window_bookmark(context)
        if bookmark:
            first = parse_timestamp(bookmark).astimezone(plan.zone).date()
        elif self.config.get("start_date"):  # its calendar date, as a local day
            first = dt.date.fromisoformat(str(self.config["start_date"])[:10])
        else:
            first = today - dt.timedelta(days=DEFAULT_FIRST_RUN_DAYS)
        days = day_windows(first, today, plan.zone)
        return group_days(days, int(self.config.get("window_days", 1)))

    @override
    def bookmark_after(self, window: DayWindow, now: dt.datetime) -> str:
        return format_utc(window.end if window.end <= now else window.start)

    @override
    def get_records(self, context: Context | None) -> Iterator[dict]:
        if not context:  # no runnable report: the SDK syncs one empty context
            return
        plan = self.plans[str(context["report_id"])]
        if plan.v3:
            self.logger.warning("report_results: report %s is people_search_v3: the API ignores "
                                "the window and uses the report's saved date range, so it runs "
                                "once per sync; its records carry date_range_ignored=true",
                                plan.name)
        stop: list[str] = []

        def jobs() -> Iterator[_WindowJob]:
            for window in self.windows(context):
                if stop:
                    return
                yield _WindowJob(self, plan, window, stop)

        cfg = self.config
        runner = AsyncJobRunner(
            poll_interval_seconds=float(cfg.get("query_poll_interval_seconds", 2)),
            max_poll_interval_seconds=float(cfg.get("max_query_poll_interval_seconds", 30)),
            timeout_seconds=float("inf"), timeout_setting="query_timeout_seconds")
        for _, query in runner.run_many(jobs(), max_concurrent=int(
                cfg.get("max_concurrent_queries", 3))):
            if query.error is not None:
                raise query.error
            yield from self._results(plan, query)
            if not plan.v3:
                self.advance_bookmark(self.bookmark_after(query.window, dt.datetime.now(
                    dt.timezone.utc)), context)

    def _results(self, plan: Plan, query: Query) -> Iterator[dict]:
        where = window_name(plan, query.window)
        reader = RowReader(
            names=(self.config.get("report_columns") or {}).get(plan.report_id),
            date_columns=(self.config.get("report_date_columns") or {}).get(plan.report_id, []),
            zone=plan.zone, where=where)
        base = str(query.results_url).split("?", 1)[0]
        paginator = OffsetPaginator(records_path=("data",))
        limit = int(self.config.get("results_page_size", 1000))
        fixed = {"report_id": plan.report_id, "product_id": plan.product_id,
                 "window_start": format_utc(query.window.start),
                 "window_end": format_utc(query.window.end), "report_type": plan.report_type,
                 "date_range_ignored": plan.v3}
        while not paginator.finished:
            url = f"{base}?limit={limit}&offset={paginator.current_value}"
            try:
                response, body = self.send_json("GET", url)
            except ConfigurationError:
                raise
            except FatalAPIError as exc:
                raise FatalAPIError(f"{where}: reading its results failed: {exc}") from None
            rows = body if isinstance(body, list) else dig(body, ("data",))
            for row in rows if isinstance(rows, list) else []:
                fields = reader.fields(row, body)
                if fields is None:
                    continue
                key = (f"identity:{fields['identity']}" if fields["kmid"] is None else
                       str(fields["kmid"]))
                yield {**fixed, "person_key": key, **fields}
            paginator.advance(response)

    @override
    def validate_status(self, response: requests.Response) -> t.Any:
        # GUESS (v2 failure undocumented): a failed query answers 5xx with data.error or
        # "Query failed" in meta.message; that is final, unlike a transient 5xx.
        if response.status_code >= 500:
            try:
                body = decoded_body(response)
            except Exception:
                body = None
            message = str(dig(body, ("meta", "message")) or "")
            if dig(body, ("data", "error")) or message.lower().startswith("query failed"):
                error = dig(body, ("data", "error")) or message
                msg = f"the query failed on the server (HTTP {response.status_code}): {error}"
                raise QueryFailedError(msg)
        return super().validate_status(response)


def window_name(plan: Plan, window: DayWindow) -> str:
    """``report 'X' (id), window 2026-01-05 (2026-01-05T08:00:00.000Z..)`` for messages."""
    return (f"report_results: report {plan.name}, window {window.day} "
            f"[{format_utc(window.start)}, {format_utc(window.end)})")


def link_href(body: t.Any, rel: str) -> str | None:
    """The href of the body link with ``rel``."""
    links = body.get("links") if isinstance(body, dict) else None
    for item in links if isinstance(links, list) else []:
        if isinstance(item, dict) and item.get("rel") == rel:
            return item.get("href")
    return None


class _WindowJob:
    """One window's query: submit once, then poll (a ``taps.shared.jobs.Job``)."""

    def __init__(self, stream: ReportResults, plan: Plan, window: DayWindow,
                 stop: list[str]) -> None:
        self.stream, self.plan, self.window, self.stop = stream, plan, window, stop
        self.name = window_name(plan, window)

    def _fail(self, query: Query, exc: FatalAPIError) -> Query:
        """Remember the failure (raised in window order) and submit no further windows."""
        kind = ConfigurationError if isinstance(exc, ConfigurationError) else FatalAPIError
        query.error = kind(f"{self.name}: {exc}")
        self.stop.append(self.name)
        return query

    def submit(self) -> Query:
        """POST the run once; the 202's ``Location`` (or Status link) is the status URL."""
        stream, plan, window = self.stream, self.plan, self.window
        query = Query(window, time.monotonic())
        url = (f"{stream.config['query_api_url'].rstrip('/')}/products/{plan.product_id}"
               f"/reports/{plan.report_id}/run")
        last = window.end - dt.timedelta(seconds=1)  # the end is inclusive [KMS:update]
        body = {"start_date": window.start.astimezone(plan.zone).isoformat(),
                "end_date": last.astimezone(plan.zone).isoformat()}
        where = f"POST {urlsplit(url).path}"
        try:
            response, payload = stream.submit_once("POST", url, body=body)
        except RetriableAPIError as exc:  # a 2xx whose body was cut: the headers still count
            response, payload = exc.response, None
            if response is None or response.status_code != 202:
                return self._fail(query, _started(where, str(exc)))
        except FatalAPIError as exc:  # incl. an answer cut off mid-body: it may have started
            return self._fail(query, exc)
        status_url = response.headers.get("Location") or link_href(payload, "query-status")
        if not status_url:
            return self._fail(query, _started(
                where, f"HTTP {response.status_code} without a Location of the query status"))
        query.status_url = status_url
        return query

    def poll(self, query: Query) -> JobStatus:
        """One status request; failures and the deadline end the job (raised in order)."""
        if query.error is not None or query.results_url:
            return JobStatus(done=True)
        query.polls += 1
        try:
            response, body = self.stream.send_json("GET", str(query.status_url))
        except FatalAPIError as exc:
            self._fail(query, exc)
            return JobStatus(done=True)
        data = body.get("data") if isinstance(body, dict) else None
        data = data if isinstance(data, dict) else {}
        progress = _fraction(data.get("progress"))
        if response.status_code == 201 or data.get("completed") is True:
            results = response.headers.get("Location") or link_href(body, "query-results")
            if not results:
                self._fail(query, FatalAPIError(
                    f"the query completed (HTTP {response.status_code}) without a Location or "
                    "Results link of its results"))
                return JobStatus(done=True)
            query.results_url = results
            return JobStatus(done=True, progress=1.0)
        if data.get("error"):
            self._fail(query, QueryFailedError(f"the query failed: {data['error']}"))
            return JobStatus(done=True)
        limit = float(self.stream.config.get("query_timeout_seconds", 1800))
        if time.monotonic() - query.started > limit:
            done = "" if progress is None else f" ({progress:.0%} done)"
            self._fail(query, FatalAPIError(
                f"the query did not finish within {limit:.0f} s{done}; raise "
                "query_timeout_seconds or lower window_days"))
            return JobStatus(done=True)
        return JobStatus(done=False, progress=progress)


def _started(where: str, reason: str) -> FatalAPIError:
    """A run request the server answered unreadably: its query may be running."""
    return FatalAPIError(f"{where} failed ({reason}) after it reached the server; it is not "
                         "sent again because that could start the query twice. Rerun the sync.")


def _fraction(value: t.Any) -> float | None:
    """``progress`` (0..1) as a float, None when absent or not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None

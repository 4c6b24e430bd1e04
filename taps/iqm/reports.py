"""IQM performance reports: ``POST /api/v3/ra/report/execute``, one stream per report.

Each report is read in windows of local days of its time zone (at most 3 months, or 1 year
when the only dimension is the campaign), ``startDate`` at local midnight and ``endDate``
at 23:59:59, in pages of up to 1000 rows sorted on the first dimension's id. The bookmark
moves after each window, empty ones included; ``report_lookback_days`` before it are read
again each run (data lands about an hour late; restatement beyond that is an inference).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import typing as t
from dataclasses import dataclass

from singer_sdk.exceptions import FatalAPIError
from typing_extensions import override

from taps.iqm import metadata as md
from taps.iqm.client import IQMStream
from taps.shared.body import decoded_body, dig
from taps.shared.days import DayWindow, WindowBookmarks, load_zone, local_midnight, today_in
from taps.shared.errors import ConfigurationError
from taps.shared.paging import GuardedPaginator
from taps.shared.settings import parse_timestamp

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context, Record

    from taps.shared.tap import ResilientTap

EXECUTE_PATH = "/api/v3/ra/report/execute"
TIMEZONES_PATH = "/api/v3/master/timezones"
METADATA_PATH = "/api/v3/ra/report/dimension-metrics/detail"
MAX_ROWS = 1000
DEFAULT_FIRST_RUN_DAYS = 30
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ReportSpec:
    """One report from the ``reports`` setting (or the default one)."""

    name: str
    dimensions: tuple[str, ...]
    columns: tuple[str, ...]
    request_type: int
    timezone: str

    @classmethod
    def from_setting(cls, item: t.Mapping[str, t.Any], default_zone: str) -> ReportSpec:
        """Read and check one entry; a problem is a ``ConfigurationError`` naming it."""
        name = str(item.get("name") or "")
        where = f"reports entry {name or '(unnamed)'}"
        if not NAME.match(name):
            msg = f"{where}: name must be snake_case (a-z, 0-9, _), it becomes the stream name"
            raise ConfigurationError(msg)
        dims = tuple(str(d) for d in item.get("dimensions") or ())
        cols = tuple(str(c) for c in item.get("columns") or ())
        if not dims or not cols:
            msg = f"{where}: needs at least one dimension and one column"
            raise ConfigurationError(msg)
        request_type = int(item.get("request_type") or 1)
        if request_type not in md.REQUEST_TYPES:
            msg = (f"{where}: request_type {request_type} is not supported; use 1 (daily), "
                   "3 (weekly) or 4 (monthly) (2, aggregated, has no date to bookmark)")
            raise ConfigurationError(msg)
        return cls(name, dims, cols, request_type, str(item.get("timezone") or default_zone))

    @property
    def key_fields(self) -> tuple[str, ...]:
        """Dimension id fields (documented dimensions; others are keyed by their own key)."""
        fields: list[str] = []
        for dim in self.dimensions:
            for name in md.DIMENSIONS.get(dim, ((dim,), {}))[0]:
                if name not in fields:
                    fields.append(name)
        return tuple(fields)

    @property
    def months(self) -> int:
        """Longest window: 12 months when the only dimension is the campaign, else 3."""
        return 12 if set(self.dimensions) <= {"campaign", "campaignId"} else 3

    def schema(self) -> dict[str, t.Any]:
        """The stream schema, typed from the shipped metadata."""
        props: dict[str, t.Any] = {
            "date": {**md.json_type(md.STR, "Local day (daily) or first day of the week or "
                                            f"month in {self.timezone}, YYYY-MM-DD."),
                     "format": "date"},
        }
        if self.request_type != 1:
            props["dateRange"] = md.json_type(md.STR, "IQM's MM/DD/YYYY - MM/DD/YYYY range.")
        for dim in self.dimensions:
            for field, kind in md.DIMENSIONS.get(dim, ((dim,), {dim: md.ANY}))[1].items():
                props[field] = md.json_type(kind, f"Dimension {dim}: {field}.")
        for column in self.columns:
            kind = md.METRICS.get(column) or md.DIMENSION_FIELDS.get(column) or md.ANY
            props.setdefault(column, md.json_type(kind, f"Column {column}."))
        for key in self.key_fields:
            props.setdefault(key, md.json_type(md.ANY, f"Dimension id {key}."))
        return {"type": "object", "properties": props}


def default_report(zone: str) -> ReportSpec:
    """``campaign_daily_report``: the campaign dimension, daily, the documented metrics."""
    return ReportSpec("campaign_daily_report", ("campaign",), md.DEFAULT_COLUMNS, 1, zone)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def report_windows(spec: ReportSpec, config: t.Mapping[str, t.Any], bookmark: str | None,
                   now: dt.datetime | None = None) -> list[DayWindow]:
    """Windows from the bookmark minus the look-back (or start_date) through today.

    Each ``DayWindow`` spans local days ``start``..``day`` (its last day, the bookmark's
    anchor). Weekly and monthly reports start on a Sunday or the 1st.
    """
    try:
        zone = load_zone(spec.timezone, setting=f"timezone of report {spec.name}")
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    today = today_in(zone, now)
    earliest = (parse_timestamp(config["start_date"]).astimezone(zone).date()
                if config.get("start_date") else None)
    if bookmark:
        marked = dt.date.fromisoformat(bookmark[:10])
        first = marked - dt.timedelta(days=int(config.get("report_lookback_days", 3)))
        if earliest is not None:
            first = max(first, min(earliest, marked))
    else:
        first = earliest or today - dt.timedelta(days=DEFAULT_FIRST_RUN_DAYS)
    first = min(first, today)
    if spec.request_type == 3:
        first -= dt.timedelta(days=(first.weekday() + 1) % 7)
    elif spec.request_type == 4:
        first = first.replace(day=1)
    windows = []
    while first <= today:
        if spec.request_type == 3:
            last = first + dt.timedelta(weeks=52 if spec.months == 12 else 12, days=-1)
        else:
            last = _add_months(first, spec.months) - dt.timedelta(days=1)
        last = min(last, today)
        windows.append(DayWindow(last, local_midnight(first, zone),
                                 local_midnight(last + dt.timedelta(days=1), zone)))
        first = last + dt.timedelta(days=1)
    return windows


class ReportPaginator(GuardedPaginator[int]):
    """Pages 1, 2, ... until an empty or short page, or ``pageNo * noOfEntries >= total``."""

    def __init__(self, size: int) -> None:
        """Start at page 1."""
        super().__init__(1)
        self.size = size

    @override
    def has_more(self, response: requests.Response) -> bool:
        body = decoded_body(response)
        rows = dig(body, ("data", "data"))
        total = dig(body, ("data", "totalRecords"))
        if not isinstance(rows, list) or len(rows) < self.size:
            return False
        return not (isinstance(total, int) and self.current_value * self.size >= total)

    @override
    def get_next(self, response: requests.Response) -> int | None:
        return self.current_value + 1


class ReportLookups:
    """Time zone ids and the live report keys: each fetched once per run, on first need."""

    def __init__(self) -> None:
        """Nothing fetched yet."""
        self._zones: dict[str, int] | None = None
        self._keys: tuple[set[str], set[str]] | None = None
        self._checked: set[str] = set()

    def zone_id(self, stream: ReportStream, name: str) -> int:
        """The ``timezoneId`` of ``name`` (``GET /api/v3/master/timezones``)."""
        if self._zones is None:
            _, body = stream.send_json("GET", stream.url_base + TIMEZONES_PATH)
            rows = dig(body, ("data", "data")) or []
            self._zones = {}
            for row in rows if isinstance(rows, list) else ():
                for label in (row.get("name"), row.get("label")):
                    if isinstance(label, str) and isinstance(row.get("id"), int):
                        self._zones.setdefault(label, row["id"])
        if name not in self._zones:
            names = ", ".join(sorted(self._zones)[:40])
            msg = (f"report {stream.name}: time zone {name!r} is not in IQM's list "
                   f"({TIMEZONES_PATH}); use one of: {names}")
            raise ConfigurationError(msg)
        return self._zones[name]

    def check(self, stream: ReportStream, spec: ReportSpec) -> None:
        """Fail with the valid keys when a column or dimension is unknown to the account."""
        if spec.name in self._checked:
            return
        if self._keys is None:
            try:
                _, body = stream.send_json("GET", stream.url_base + METADATA_PATH)
            except ConfigurationError:
                raise
            except FatalAPIError as exc:
                stream.logger.warning("Report metadata unavailable (%s): keys not checked", exc)
                self._keys = (set(), set())
            else:
                self._keys = md.live_keys(body)
        metrics, dimensions = self._keys
        self._checked.add(spec.name)
        if not metrics and not dimensions:
            return
        bad_dims = [d for d in spec.dimensions if d not in dimensions
                    and not (d == "device_type" and "deviceType" in dimensions)]
        if bad_dims:
            msg = (f"report {spec.name}: unknown dimension {', '.join(bad_dims)}; valid "
                   f"dimension keys: {', '.join(sorted(dimensions))}")
            raise ConfigurationError(msg)
        valid = metrics | set(md.DIMENSION_FIELDS)
        bad_cols = [c for c in spec.columns if c not in valid]
        if bad_cols:
            msg = (f"report {spec.name}: unknown column {', '.join(bad_cols)}; valid column "
                   f"keys: {', '.join(sorted(metrics))} (or a dimension's field)")
            raise ConfigurationError(msg)


class ReportStream(WindowBookmarks, IQMStream):
    """One configured report, incremental on ``date``; one record per date and dimension ids."""

    path = EXECUTE_PATH
    http_method = "POST"
    replication_key = "date"
    is_sorted = False

    def __init__(self, tap: ResilientTap, spec: ReportSpec, lookups: ReportLookups) -> None:
        """A stream named after the report, its schema from the shipped metadata."""
        self.spec, self.lookups = spec, lookups
        super().__init__(tap, name=spec.name, schema=spec.schema())
        self.primary_keys = ("date", *spec.key_fields)

    @property
    @override
    def schema(self) -> dict:
        return self._schema or {}

    @override
    def windows(self, context: Context | None) -> list[DayWindow]:
        return report_windows(self.spec, self.config, self.window_bookmark(context))

    @override
    def get_records(self, context: Context | None) -> t.Iterator[dict]:
        self.lookups.check(self, self.spec)
        self._zone_id = self.lookups.zone_id(self, self.spec.timezone)
        yield from super().get_records(context)

    @override
    def begin_window(self, window: DayWindow) -> None:
        self._seen: set[tuple] = set()

    @override
    def get_new_paginator(self) -> ReportPaginator:
        return ReportPaginator(min(int(self.config.get("page_size") or MAX_ROWS), MAX_ROWS))

    @override
    def prepare_request_payload(self, context: Context | None,
                                next_page_token: t.Any) -> dict | None:
        window = self.current_window
        if window is None:
            msg = f"{self.name} is read one window at a time"
            raise RuntimeError(msg)
        spec = self.spec
        body: dict[str, t.Any] = {
            "dimensions": json.dumps([{"filter": d} for d in spec.dimensions],
                                     separators=(",", ":")),
            "columns": list(spec.columns),
            "timezoneId": self._zone_id, "timezoneName": spec.timezone,
            "requestType": spec.request_type,
            "reportAggregated": "0",  # what every example sends (the spec contradicts itself)
            "startDate": int(window.start.timestamp()) * 1000,
            "endDate": (int(window.end.timestamp()) - 1) * 1000,  # local 23:59:59
            "sortBy": f"+{spec.key_fields[0]}",
            "pageNo": next_page_token or 1,
            "noOfEntries": min(int(self.config.get("page_size") or MAX_ROWS), MAX_ROWS),
        }
        if self.config.get("customer_ids"):
            body["customerIds"] = [int(c) for c in self.config["customer_ids"]]
        return body

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row.pop("totalRecords", None)
        if self.spec.request_type != 1 and row.get("dateRange") and not row.get("date"):
            first = str(row["dateRange"]).split("-", 1)[0].strip()
            try:
                row["date"] = dt.datetime.strptime(first, "%m/%d/%Y").date().isoformat()
            except ValueError:
                row["date"] = None
        row = super().post_process(row, context) or row
        key = tuple(row.get(k) for k in self.primary_keys)
        if key in self._seen:
            return None  # moved across a page boundary: already emitted
        self._seen.add(key)
        return row

"""``line_item_daily_stats``: delivery per local day and line item from ``GET /api/v1/stats``."""

from __future__ import annotations

import datetime as dt
import typing as t

from singer_sdk.pagination import SinglePagePaginator
from typing_extensions import override

from taps.adnuntius.client import AdnuntiusStream
from taps.shared.body import decode_list_lazily, decoded_item
from taps.shared.days import DayWindow, WindowBookmarks, check_half_hours, day_windows, load_zone
from taps.shared.days import today_in as local_today
from taps.shared.errors import ConfigurationError
from taps.shared.settings import parse_timestamp
from taps.shared.timestamps import format_utc

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import requests
    from singer_sdk.helpers.types import Context

#: Days read on a first run without start_date.
DEFAULT_FIRST_RUN_DAYS = 30
METRICS = ("impressions", "rendered", "visibles", "viewables", "clicks", "uniqueUsers", "ctr",
           "visibility", "viewability", "impressionsPerUniqueUser", "averageAuctionRank",
           "cost", "eCpm")
#: The best-documented shape (2021 docs): orders, each with its line items' chunks.
QUERY = {"all": "lineItem", "groupBy": "ORDER", "aggregateTo": "LINE_ITEM",
         "includeAll": "false"}


def stats_windows(config: t.Mapping[str, t.Any], bookmark: str | None,
                  now: dt.datetime | None = None) -> list[DayWindow]:
    """The local days to read: from the bookmark minus the look-back (or start_date) to today.

    Raises ``ConfigurationError`` naming ``report_timezone`` for an unusable zone.
    """
    try:
        zone = load_zone(str(config.get("report_timezone") or "UTC"))
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    today = local_today(zone, now)
    earliest = (parse_timestamp(config["start_date"]).astimezone(zone).date()
                if config.get("start_date") else None)
    if bookmark:
        first = dt.date.fromisoformat(bookmark[:10]) - dt.timedelta(
            days=int(config.get("stats_lookback_days", 3)))
        if earliest is not None:
            first = max(first, min(earliest, dt.date.fromisoformat(bookmark[:10])))
    else:
        first = earliest or today - dt.timedelta(days=DEFAULT_FIRST_RUN_DAYS)
    windows = day_windows(min(first, today), today, zone)
    try:
        check_half_hours(windows, zone)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    return windows


def _ref_id(ref: t.Any) -> str | None:
    return ref.get("id") if isinstance(ref, dict) else None


class LineItemDailyStats(WindowBookmarks, AdnuntiusStream):
    """One record per (local day, line item): delivery counts, ratios, cost and eCPM.

    Each day of ``report_timezone`` is one request from its local midnight to the next (sent
    as UTC). The nested shape (``groupBy=ORDER&aggregateTo=LINE_ITEM``) is walked through
    ``chunks[].chunks[].lineItem``; a flat ``chunks[].lineItem`` answer is read as well. The
    bookmark moves after every day, empty ones included; ``stats_lookback_days`` before it
    are read again (late events).
    """

    name = "line_item_daily_stats"
    path = "/v1/stats"
    primary_keys = ("date", "line_item_id")
    replication_key = "date"
    is_sorted = True
    records_path = ("chunks",)

    @override
    def windows(self, context: Context | None) -> list[DayWindow]:
        return stats_windows(self.config, self.window_bookmark(context))

    @override
    def get_new_paginator(self) -> SinglePagePaginator:
        return SinglePagePaginator()

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        window = self.current_window
        if window is None:
            msg = "line_item_daily_stats is read one window at a time"
            raise RuntimeError(msg)
        params = super().get_url_params(context, next_page_token)
        params.update(QUERY)
        params.update(startDate=format_utc(window.start), endDate=format_utc(window.end))
        if self.config.get("currency"):
            params["currency"] = str(self.config["currency"])
        return params

    @override
    def validate_response(self, response: requests.Response) -> None:
        # A day is one answer (12 MB of JSON at 60,000 line items, five times that decoded):
        # its chunks are decoded one at a time as records are taken, never all at once.
        if 200 <= response.status_code < 300:
            decode_list_lazily(response, self.records_path[0])
        super().validate_response(response)

    @override
    def parse_response(self, response: requests.Response) -> Iterator[dict]:
        window = self.current_window
        assert window is not None  # set by WindowBookmarks.get_records
        seen: set[str] = set()
        day, start, end = window.day.isoformat(), format_utc(window.start), format_utc(window.end)
        zone = str(self.config.get("report_timezone") or "UTC")
        for line_item, order, metrics in _line_item_chunks(super().parse_response(response)):
            identifier = _ref_id(line_item)
            if not identifier or identifier in seen:
                continue
            seen.add(identifier)
            record: dict[str, t.Any] = {
                "date": day, "line_item_id": identifier,
                "lineItem": line_item, "order_id": _ref_id(order), "order": order,
                "window_start": start, "window_end": end, "report_timezone": zone,
            }
            record.update({k: metrics[k] for k in METRICS if k in metrics})
            yield record


def _line_item_chunks(
    chunks: Iterable[t.Any], order: dict | None = None
) -> Iterator[tuple[dict, dict | None, dict]]:
    """(line item ref, order ref, metrics) from nested or flat chunks (decoded as read)."""
    for item in chunks:
        chunk = decoded_item(item)
        if not isinstance(chunk, dict):
            continue
        if isinstance(chunk.get("lineItem"), dict):
            yield chunk["lineItem"], order or chunk.get("order"), chunk
        elif isinstance(chunk.get("chunks"), list):
            parent = chunk.get("order") if isinstance(chunk.get("order"), dict) else order
            yield from _line_item_chunks(chunk["chunks"], parent)

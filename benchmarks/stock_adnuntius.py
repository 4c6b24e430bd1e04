"""A minimal stock singer-sdk tap reading Adnuntius line items and daily stats: the baseline.

Written the way the SDK's cookiecutter template writes a REST tap: JSONPath records, the
SDK's ``BasePageNumberPaginator`` (more pages while a page is full), default writer, default
type conformance against the same JSON Schemas as tap-adnuntius, the SDK's default backoff
(no ``Retry-After``) and no rate budget. ``line_item_daily_stats`` is one partition per UTC
day from ``start_date`` through today, read with the same query as tap-adnuntius.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t
from pathlib import Path

from singer_sdk import RESTStream, Tap
from singer_sdk import typing as th
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.pagination import BasePageNumberPaginator

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "adnuntius"


class FullPagePaginator(BasePageNumberPaginator):
    """Pages 0, 1, ... while the last page was full."""

    def __init__(self, page_size: int) -> None:
        super().__init__(0)
        self.page_size = page_size

    def has_more(self, response: t.Any) -> bool:
        return len(response.json().get("results", [])) >= self.page_size


class StockStream(RESTStream):
    """Stock base stream."""

    @property
    def url_base(self) -> str:
        return self.config["api_url"]

    @property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["api_key"])

    def get_url_params(self, context: t.Any, next_page_token: t.Any) -> dict:
        return {"context": self.config["network"]}


class LineItems(StockStream):
    """Line items, every object state."""

    name = "line_items"
    path = "/v1/lineitems"
    primary_keys = ("id",)
    records_jsonpath = "$.results[*]"
    schema = json.loads((SCHEMAS / "line_items.json").read_text())

    def get_new_paginator(self) -> FullPagePaginator:
        return FullPagePaginator(self.config["page_size"])

    def get_url_params(self, context: t.Any, next_page_token: t.Any) -> dict:
        return {**super().get_url_params(context, next_page_token),
                "includeActive": "true", "includeInactive": "true", "includeHidden": "true",
                "page": next_page_token or 0, "pageSize": self.config["page_size"]}


class LineItemDailyStats(StockStream):
    """Stats per UTC day and line item (one request per day)."""

    name = "line_item_daily_stats"
    path = "/v1/stats"
    primary_keys = ("date", "line_item_id")
    records_jsonpath = "$.chunks[*].chunks[*]"
    schema = json.loads((SCHEMAS / "line_item_daily_stats.json").read_text())

    @property
    def partitions(self) -> list[dict]:
        first = dt.date.fromisoformat(self.config["start_date"][:10])
        today = dt.datetime.now(dt.timezone.utc).date()
        return [{"date": str(first + dt.timedelta(days=n))}
                for n in range((today - first).days + 1)]

    def get_url_params(self, context: t.Any, next_page_token: t.Any) -> dict:
        day = dt.date.fromisoformat(context["date"])
        return {**super().get_url_params(context, next_page_token),
                "all": "lineItem", "groupBy": "ORDER", "aggregateTo": "LINE_ITEM",
                "includeAll": "false", "startDate": f"{day}T00:00:00Z",
                "endDate": f"{day + dt.timedelta(days=1)}T00:00:00Z"}

    def post_process(self, row: dict, context: t.Any = None) -> dict:
        row["date"] = context["date"]
        row["line_item_id"] = row["lineItem"]["id"]
        return row


class TapStockAdnuntius(Tap):
    """Stock tap."""

    name = "tap-stock-adnuntius"
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType), th.Property("network", th.StringType),
        th.Property("api_key", th.StringType), th.Property("start_date", th.StringType),
        th.Property("page_size", th.IntegerType, default=100),
    ).to_dict()

    def discover_streams(self) -> list:
        return [LineItems(self), LineItemDailyStats(self)]


if __name__ == "__main__":
    TapStockAdnuntius.cli()

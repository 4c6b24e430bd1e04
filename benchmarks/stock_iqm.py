"""A stock singer-sdk tap reading IQM's daily campaign report: the benchmark's baseline.

Written the way the SDK's cookiecutter template writes a REST tap: one partition per UTC
day from ``start_date`` through today, a POST body per page (the same body tap-iqm sends for
``campaign_daily_report``), JSONPath records, the SDK's page-number paginator, default
writer and type conformance against the same schema, no rate budget. The token, workspace
id and time-zone id are looked up by the benchmark and passed in the config.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

from singer_sdk import RESTStream, Tap
from singer_sdk import typing as th
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.pagination import BasePageNumberPaginator

from taps.iqm.reports import default_report

COLUMNS = ["impressions", "clicks", "CTR", "spent", "mediaSpent", "dataCost", "eCPM", "eCPC",
           "VCR", "reach", "winRate"]
PAGE = 1000


class FullPagePaginator(BasePageNumberPaginator):
    """Pages 1, 2, ... while the last page was full."""

    def has_more(self, response: t.Any) -> bool:
        return len(response.json()["data"]["data"]) >= PAGE


class CampaignDailyReport(RESTStream):
    """The campaign dimension, daily, one partition per day."""

    name = "campaign_daily_report"
    path = "/api/v3/ra/report/execute"
    rest_method = "POST"
    records_jsonpath = "$.data.data[*]"
    primary_keys = ("date", "campaignId")
    schema = default_report("UTC").schema()

    @property
    def url_base(self) -> str:
        return self.config["api_url"]

    @property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["token"])

    @property
    def http_headers(self) -> dict:
        return {"X-IAA-OW-ID": str(self.config["ow_id"])}

    @property
    def partitions(self) -> list[dict]:
        first = dt.date.fromisoformat(self.config["start_date"][:10])
        days = (dt.datetime.now(dt.timezone.utc).date() - first).days
        return [{"day": (first + dt.timedelta(days=n)).isoformat()} for n in range(days + 1)]

    def get_new_paginator(self) -> FullPagePaginator:
        return FullPagePaginator(1)

    def prepare_request_payload(self, context: t.Any, next_page_token: t.Any) -> dict:
        start = dt.datetime.fromisoformat(context["day"]).replace(tzinfo=dt.timezone.utc)
        return {"dimensions": json.dumps([{"filter": "campaign"}], separators=(",", ":")),
                "columns": COLUMNS, "timezoneId": self.config["timezone_id"],
                "timezoneName": "UTC", "requestType": 1, "reportAggregated": "0",
                "startDate": int(start.timestamp()) * 1000,
                "endDate": (int(start.timestamp()) + 86399) * 1000,
                "sortBy": "+campaignId", "pageNo": next_page_token or 1, "noOfEntries": PAGE}

    def post_process(self, row: dict, context: t.Any = None) -> dict:
        row["date"] = context["day"]
        return row


class TapStockIQM(Tap):
    """Stock tap."""

    name = "tap-stock-iqm"
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType), th.Property("token", th.StringType),
        th.Property("ow_id", th.IntegerType), th.Property("timezone_id", th.IntegerType),
        th.Property("start_date", th.StringType),
    ).to_dict()

    def discover_streams(self) -> list:
        return [CampaignDailyReport(self)]


if __name__ == "__main__":
    TapStockIQM.cli()

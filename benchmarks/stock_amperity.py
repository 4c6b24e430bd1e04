"""A stock singer-sdk tap reading Amperity's control-plane lists: the benchmark's baseline.

Written the way the SDK's cookiecutter template writes a REST tap, with this project's
schema files (so both taps conform the same fields): JSONPath records and cursor, default
writer, default (recursive) type conformance, no rate budget. ``campaigns`` (full table)
and ``audit_events`` (incremental on ``happened_at``). Run it against an emulator started
with ``--no-short-pages`` (the stock empty-page rule would stop early otherwise).
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from singer_sdk import RESTStream, Tap
from singer_sdk import typing as th
from singer_sdk.authenticators import BearerTokenAuthenticator

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "amperity"


class StockStream(RESTStream):
    """Stock base stream."""

    records_jsonpath = "$.data[*]"
    next_page_token_jsonpath = "$.next_token"  # noqa: S105 - a JSONPath, not a secret

    def __init__(self, tap: Tap) -> None:
        """Load the stream's schema file."""
        schema = json.loads((SCHEMAS / f"{self.name}.json").read_text())
        super().__init__(tap, schema=schema)

    @property
    def url_base(self) -> str:
        return self.config["api_url"]

    @property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["access_token"])

    @property
    def http_headers(self) -> dict:
        return {"Amperity-Tenant": self.config["tenant"], "api-version": "2024-04-01"}

    def get_url_params(self, context: t.Any, next_page_token: t.Any) -> dict:
        params: dict[str, t.Any] = {"limit": self.config["page_size"]}
        start = self.get_starting_timestamp(context) if self.replication_key else None
        if start is not None:  # as tap-amperity sends it
            params["happened_from"] = start.isoformat().replace("+00:00", "Z")
        if next_page_token:
            params["next_token"] = next_page_token
        return params


class Campaigns(StockStream):
    """Campaigns, full table."""

    name = "campaigns"
    path = "/campaigns"
    primary_keys = ("id",)


class AuditEvents(StockStream):
    """Audit events, incremental."""

    name = "audit_events"
    path = "/audit-events"
    primary_keys = ("event_id",)
    replication_key = "happened_at"


class TapStockAmperityLists(Tap):
    """Stock tap."""

    name = "tap-stock-amperity-lists"
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType), th.Property("tenant", th.StringType),
        th.Property("access_token", th.StringType),
        th.Property("page_size", th.IntegerType, default=100),
        th.Property("start_date", th.DateTimeType),
    ).to_dict()

    def discover_streams(self) -> list:
        return [Campaigns(self), AuditEvents(self)]


if __name__ == "__main__":
    TapStockAmperityLists.cli()

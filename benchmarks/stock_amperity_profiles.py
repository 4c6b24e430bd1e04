"""A minimal stock singer-sdk tap reading Amperity profiles: the benchmark's baseline.

Written the way the SDK's cookiecutter template writes a REST tap: JSONPath records and
cursor, default writer, default type conformance, no rate budget. Run it against an emulator
started with ``--no-short-pages`` (the stock empty-page rule would stop early otherwise).
"""

from __future__ import annotations

import typing as t

from singer_sdk import RESTStream, Tap
from singer_sdk import typing as th
from singer_sdk.authenticators import BearerTokenAuthenticator


class StockStream(RESTStream):
    """Stock base stream."""

    records_jsonpath = "$.data[*]"
    next_page_token_jsonpath = "$.next_token"  # noqa: S105 - a JSONPath, not a secret

    @property
    def url_base(self) -> str:
        return self.config["api_url"]

    @property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["access_token"])

    @property
    def http_headers(self) -> dict:
        return {"Amperity-Tenant": self.config["tenant"], "api-version": "2025-07-31"}

    def get_url_params(self, context: t.Any, next_page_token: t.Any) -> dict:
        params: dict[str, t.Any] = {"limit": self.config["profile_page_size"]}
        if next_page_token:
            params["next_token"] = next_page_token
        return params


class Indexes(StockStream):
    """Profile indexes."""

    name = "profile_indexes"
    path = "/indexes"
    primary_keys = ("id",)
    schema = th.PropertiesList(th.Property("id", th.StringType),
                               th.Property("name", th.StringType)).to_dict()

    def get_child_context(self, record: dict, context: t.Any) -> dict:
        return {"index_id": record["id"]}


class Profiles(StockStream):
    """Profiles of each index."""

    name = "profiles"
    path = "/indexes/{index_id}/profiles"
    primary_keys = ("index_id", "id")
    parent_stream_type = Indexes
    state_partitioning_keys: t.ClassVar[list[str]] = []
    schema = th.PropertiesList(
        th.Property("index_id", th.StringType),
        th.Property("id", th.StringType),
        th.Property("attributes", th.ObjectType(additional_properties=th.StringType)),
    ).to_dict()


class TapStockAmperity(Tap):
    """Stock tap."""

    name = "tap-stock-amperity"
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType), th.Property("tenant", th.StringType),
        th.Property("access_token", th.StringType),
        th.Property("profile_page_size", th.IntegerType, default=1000),
    ).to_dict()

    def discover_streams(self) -> list:
        return [Indexes(self), Profiles(self)]


if __name__ == "__main__":
    TapStockAmperity.cli()

"""The Kissmetrics base stream: Core API lists over ``limit``/``offset`` and readable errors."""

from __future__ import annotations

import importlib.resources
import typing as t

from singer_sdk import SchemaDirectory, StreamSchema
from typing_extensions import override

from taps.shared.errors import ConfigurationError, describe_response, sentence
from taps.shared.paging import OffsetPaginator
from taps.shared.stream import ResilientStream

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

SCHEMAS = SchemaDirectory(importlib.resources.files("taps.schemas") / "kissmetrics")
URL_SETTINGS = ("core_api_url", "query_api_url")
CREDENTIAL_ADVICE = ("check api_token: a Personal Token from Kissmetrics Account settings > "
                    "Manage API Tokens")


class KissmetricsStream(ResilientStream):
    """A Core API list: ``{data, pagination, links}`` pages, or a bare array (one page)."""

    schema = StreamSchema(SCHEMAS)
    records_path = ("data",)
    url_setting = "core_api_url"
    trusted_url_settings = URL_SETTINGS
    primary_keys = ("id",)

    @property
    @override
    def http_headers(self) -> dict:
        headers = dict(super().http_headers)
        headers["Accept"] = "application/json"
        return headers

    @override
    def get_new_paginator(self) -> OffsetPaginator:
        return OffsetPaginator(records_path=self.records_path)

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        return {"limit": int(self.config.get("page_size", 100)),
                "offset": int(next_page_token or 0)}

    @override
    def client_error(self, response: requests.Response) -> Exception:
        message = describe_response(response)
        if response.status_code == 401:
            return ConfigurationError(sentence(message, f"Kissmetrics rejected the token: "
                                                        f"{CREDENTIAL_ADVICE}"))
        if response.status_code == 403:
            return ConfigurationError(sentence(
                message, "The token's user may not read this resource: ask an account admin "
                "for access, or deselect the stream"))
        return super().client_error(response)

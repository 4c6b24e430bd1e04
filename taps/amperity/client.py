"""The Amperity base stream: headers, api-version, cursor pagination and error hints."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import typing as t

from singer_sdk import SchemaDirectory, StreamSchema
from singer_sdk.exceptions import FatalAPIError
from typing_extensions import override

from taps.shared.errors import ConfigurationError, describe_response, sentence
from taps.shared.paging import BodyCursorPaginator
from taps.shared.stream import ResilientStream

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

SCHEMAS = SchemaDirectory(importlib.resources.files("taps.schemas") / "amperity")

CONTROL_PLANE_VERSION = "2024-04-01"
PROFILE_API_VERSION = "2025-07-31"
UNSTABLE_VERSION = "unstable"


def iso_utc(value: dt.datetime) -> str:
    """``2026-04-01T00:00:00.000Z``: the ISO-8601 UTC form Amperity's filters document."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


class AmperityStream(ResilientStream):
    """Amperity API (control plane) stream: ``limit``/``next_token`` cursor pages of ``data``."""

    schema = StreamSchema(SCHEMAS)
    #: Setting that holds this stream's api-version header value.
    api_version_setting: t.ClassVar[str] = "api_version"
    #: Setting that holds this stream's page size.
    page_size_setting: t.ClassVar[str] = "page_size"
    records_path = ("data",)

    @property
    def api_version(self) -> str:
        """The api-version header this stream sends."""
        return str(self.config[self.api_version_setting])

    @property
    @override
    def http_headers(self) -> dict:
        headers = dict(super().http_headers)
        headers["Amperity-Tenant"] = str(self.config.get("tenant", ""))
        headers["api-version"] = self.api_version
        return headers

    @override
    def get_new_paginator(self) -> BodyCursorPaginator:
        return BodyCursorPaginator(("next_token",))

    def filters(self, context: Context | None) -> dict[str, t.Any]:
        """Query filters; sent with every page, the first and the ones after."""
        return {}

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"limit": int(self.config[self.page_size_setting])}
        params.update(self.filters(context))
        if next_page_token:
            params["next_token"] = next_page_token
        return params

    @override
    def check_body(self, body: t.Any, response: requests.Response) -> None:
        # Amperity's error envelope {status, message, request_id} has no data: one that
        # arrives with a 2xx is an error all the same, and retrying will not change it.
        if isinstance(body, dict) and "data" not in body and body.get("message"):
            msg = (f"{describe_response(response)} (an error envelope with HTTP "
                   f"{response.status_code}: not retried)")
            raise FatalAPIError(msg)

    @override
    def client_error(self, response: requests.Response) -> Exception:
        message = describe_response(response)
        lowered = message.lower()
        status = response.status_code
        if status in {400, 401} and "version" in lowered:
            return ConfigurationError(sentence(
                message, f"Amperity rejected api-version {self.api_version!r}: "
                f"check the {self.api_version_setting} setting"))
        if status in {400, 401, 403} and "tenant" in lowered:
            return ConfigurationError(sentence(
                message, "Check the tenant setting (Settings > Security > API keys > "
                "Copy tenant ID); a sandbox has its own tenant ID and API keys"))
        if status == 401:
            mode = "client_id/client_secret" if self.authenticator.can_refresh else "access_token"
            return ConfigurationError(sentence(
                message, f"Amperity rejected the credentials: check {mode} (tokens expire; "
                "generate a new one under Settings > Security > API keys)"))
        if status == 403:
            return ConfigurationError(sentence(
                message, "The API key lacks a policy for this endpoint: grant it in "
                "Settings > Security > API keys, or deselect the stream"))
        return super().client_error(response)


class ProfileApiStream(AmperityStream):
    """Profile API stream: its own api-version, page size and rate budget."""

    api_version_setting = "profile_api_version"
    page_size_setting = "profile_page_size"
    budget_name = "profile"

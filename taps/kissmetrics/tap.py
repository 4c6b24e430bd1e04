"""tap-kissmetrics: Core API metadata, people-search results and the S3 Data Export."""

from __future__ import annotations

import ipaddress
import typing as t
from urllib.parse import urlsplit

import requests
from singer_sdk import typing as th
from typing_extensions import override

from taps.kissmetrics.client import CREDENTIAL_ADVICE, URL_SETTINGS
from taps.kissmetrics.export import RawEvents
from taps.kissmetrics.reports import ReportResults
from taps.kissmetrics.streams import CORE_STREAMS
from taps.shared.auth import StaticBearerAuth
from taps.shared.errors import ConfigurationError, cannot_connect
from taps.shared.tap import ResilientTap, TapRuntime, common_properties, run_cli

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream

#: GUESS: the 2015 API documents no rate limit; 5 requests/second.
DEFAULT_REQUESTS_PER_MINUTE = 300
CORE_API_URL = "https://api.kissmetrics.com/core"
QUERY_API_URL = "https://query.kissmetrics.com/v2"
STRINGS = th.ArrayType(th.StringType)


def is_loopback(url: str) -> bool:
    """True for localhost and loopback addresses (where plain http is fine)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TapKissmetrics(ResilientTap):
    """Singer tap for Kissmetrics.

    Extracts `accounts`, `products`, `reports`, `events`, `properties` and `metrics` from
    the Core API; `report_results`, the rows of people-search reports run per local day of
    the product's time zone through the asynchronous Query API v2 (run, poll, page the
    results; several queries on the server at once); and `raw_events`, every event, set and
    alias line of the Data Export S3 bucket (when `export_bucket` is set). Authenticates with
    a Personal API Token (Account settings > Manage API Tokens) sent as a bearer token, and
    reads the bucket with the AWS credential chain or `aws_access_key_id` /
    `aws_secret_access_key`.
    """

    # --about (JSON, text and Markdown) prints __doc__ verbatim: one paragraph, no indentation.
    __doc__ = " ".join((__doc__ or "").split())

    name = "tap-kissmetrics"
    url_settings = URL_SETTINGS
    budget_settings: t.ClassVar[dict[str, tuple[str, int]]] = {
        "api": ("max_requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE),
    }

    config_jsonschema = th.PropertiesList(
        th.Property("api_token", th.StringType, secret=True,
                    description="Personal API Token (Account settings > Manage API Tokens)."),
        th.Property("core_api_url", th.StringType, default=CORE_API_URL,
                    description="Base URL of the Core API (https; http only for loopback)."),
        th.Property("query_api_url", th.StringType, default=QUERY_API_URL,
                    description="Base URL of the Query API v2 (https; http only for loopback)."),
        th.Property("page_size", th.IntegerType(minimum=1), default=100,
                    description="Objects per Core API list page (limit; the maximum is "
                                "undocumented, a smaller server cap is followed)."),
        th.Property("report_ids", STRINGS,
                    description="Reports whose results to extract (default: every "
                                "people_search_v2 and people_search_v3 report)."),
        th.Property("report_columns", th.ObjectType(additional_properties=STRINGS),
                    description="Column names per report id, in report order (the API sends "
                                "none; default column_1..N)."),
        th.Property("report_date_columns", th.ObjectType(additional_properties=STRINGS),
                    description="Per report id, the columns holding product-local dates "
                                "(YYYY-MM-DD HH:MM:SS), converted to UTC ISO-8601."),
        th.Property("window_days", th.IntegerType(minimum=1, maximum=366), default=1,
                    description="Local days of the product's time zone per report query."),
        th.Property("max_concurrent_queries", th.IntegerType(minimum=1), default=3,
                    description="Report queries kept running on the server at once."),
        th.Property("query_poll_interval_seconds", th.NumberType(minimum=0), default=2,
                    description="First wait between status polls; grows by 1.5x."),
        th.Property("max_query_poll_interval_seconds", th.NumberType(minimum=0), default=30,
                    description="Longest wait between status polls."),
        th.Property("query_timeout_seconds", th.IntegerType(minimum=1), default=1800,
                    description="A query not completed after this long fails its window."),
        th.Property("results_page_size", th.IntegerType(minimum=1), default=1000,
                    description="Result rows per page (limit; a smaller server cap is "
                                "followed)."),
        th.Property("export_bucket", th.StringType,
                    description="S3 bucket of the Data Export; enables raw_events."),
        th.Property("export_region", th.StringType, default="us-east-1",
                    description="AWS region of the bucket (the export uses US Standard)."),
        th.Property("export_endpoint_url", th.StringType,
                    description="S3 endpoint for S3-compatible stores or tests (default AWS)."),
        th.Property("aws_access_key_id", th.StringType,
                    description="AWS access key id (default: the AWS credential chain)."),
        th.Property("aws_secret_access_key", th.StringType, secret=True,
                    description="AWS secret access key for aws_access_key_id."),
        *common_properties(requests_per_minute=DEFAULT_REQUESTS_PER_MINUTE, api_url=None),
        additional_properties=False,
    ).to_dict()

    @override
    def discover_streams(self) -> list[Stream]:
        streams: list[Stream] = [cls(tap=self) for cls in CORE_STREAMS]
        streams.append(ReportResults(tap=self))
        if self.config.get("export_bucket"):
            streams.append(RawEvents(tap=self))
        return streams

    @override
    def make_authenticator(self, runtime: TapRuntime) -> t.Any:
        return StaticBearerAuth(str(self.config.get("api_token", "")))

    @override
    def preflight(self) -> None:
        super().preflight()
        for setting in URL_SETTINGS:
            url = str(self.config[setting])
            if url.startswith("http://") and not is_loopback(url):
                msg = (f"{setting} is {url}: use https:// (Kissmetrics answers plain HTTP with "
                       "a 301 that turns the report run POST into a GET)")
                raise ConfigurationError(msg)
        if not self.config.get("api_token"):
            msg = ("Missing setting api_token (TAP_KISSMETRICS_API_TOKEN): a Personal Token "
                   "from Account settings > Manage API Tokens.")
            raise ConfigurationError(msg)
        selected = {name for name, stream in self.streams.items() if stream.selected}
        needs = {"core_api_url": bool(selected - {"raw_events"}),
                 "query_api_url": "report_results" in selected}
        for setting, needed in needs.items():
            if needed:
                self._check_reachable(setting)

    def _check_reachable(self, setting: str) -> None:
        """One GET of the base URL: unreachable, or a rejected token, is one clear line."""
        url = str(self.config[setting]).rstrip("/")
        try:
            response = requests.get(
                url, timeout=float(self.config.get("request_timeout_seconds", 300)),
                headers={"Accept": "application/json"}, allow_redirects=False,
                auth=self.runtime.authenticator)
        except requests.exceptions.ConnectionError as exc:
            if cannot_connect(exc):
                msg = (f"Cannot reach {url} ({type(exc).__name__}). Check the {setting} "
                       "setting and that the host is reachable.")
                raise ConfigurationError(msg) from None
            return  # a dropped connection: the streams retry
        except requests.RequestException:
            return
        if response.status_code == 401:
            msg = f"Kissmetrics rejected the token (HTTP 401 from {url}): {CREDENTIAL_ADVICE}."
            raise ConfigurationError(msg)


def main() -> None:
    """Console script ``tap-kissmetrics``."""
    run_cli(TapKissmetrics)


if __name__ == "__main__":
    main()
